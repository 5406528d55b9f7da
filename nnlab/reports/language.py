"""A report's words in one language: its own lines, check titles, failure phrasing, exercise titles."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from nnlab.errors import NnlabError
from nnlab.i18n import (DEFAULT_LANGUAGE, MESSAGES, check_titles, confinement_text,
                        translate_failure)
from nnlab.results import CheckResult, ExerciseResult
from nnlab.wire.confinement import Confinement


@dataclass(frozen=True)
class ReportLanguage:
    """What a template calls to write in `lang`. In English every lookup is the recorded text
    itself, so an English report costs no more than before (the hot path of a class report)."""

    lang: str = DEFAULT_LANGUAGE
    _check_titles: dict[str, Mapping[str, str]] = field(default_factory=dict, compare=False, repr=False)
    _exercise_titles: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Per exercise id, looked up once per report: its check titles and its title in `lang`."""

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh" else self.lang

    def text(self, key: str, **values: Any) -> Markup:
        """Line `key` as HTML: its words and every value escaped; a Markup value (a <code>
        span the template built) kept as it is."""
        table = MESSAGES[key]
        return Markup(escape(table.get(self.lang, table[DEFAULT_LANGUAGE]))).format(**values)

    def plural(self, key: str, count: int, **values: Any) -> Markup:
        """Line `key`.one or `key`.other, as `count` asks (nnlab.i18n.plural_message)."""
        return self.text(f"{key}.{'one' if count == 1 else 'other'}", count=count, **values)

    def outcome(self, value: str) -> str:
        """An outcome badge: 'failed' in English, as recorded."""
        return value if self.lang == DEFAULT_LANGUAGE else str(self.text(f"report.outcome.{value}"))

    def visibility(self, value: str) -> str:
        return value if self.lang == DEFAULT_LANGUAGE else str(self.text(f"report.visibility.{value}"))

    def check_title(self, exercise_id: str, check: CheckResult) -> str:
        """The check's title in this language (titles.<lang>.toml), else its recorded name."""
        if self.lang == DEFAULT_LANGUAGE:
            return check.name
        titles = self._check_titles.get(exercise_id)
        if titles is None:
            titles = self._check_titles[exercise_id] = check_titles(exercise_id, self.lang)
        return titles.get(check.test_id, check.name)

    def exercise_title(self, exercise: ExerciseResult) -> str:
        """The exercise's title in this language where its exercise.toml gives one (an exercise
        this installation does not know keeps the recorded title)."""
        if self.lang == DEFAULT_LANGUAGE:
            return exercise.title
        if exercise.id not in self._exercise_titles:
            from nnlab.grader.exercise import get_exercise

            try:
                title = get_exercise(exercise.id).title_in(self.lang) or exercise.title
            except NnlabError:
                title = exercise.title
            self._exercise_titles[exercise.id] = title
        return self._exercise_titles[exercise.id]

    def failure(self, text: str) -> str:
        """A check's message with the common failure phrasing in this language (values as written)."""
        return translate_failure(text, self.lang)

    def confinement(self, confinement: Confinement) -> str:
        return confinement_text(confinement.level, confinement.applied, confinement.missing, self.lang)
