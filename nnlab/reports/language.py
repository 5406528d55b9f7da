"""A report's words in one language: its own lines, check titles, failure phrasing, exercise titles."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from nnlab.errors import NnlabError
from nnlab.i18n import (DEFAULT_LANGUAGE, MESSAGES, check_titles, confinement_text,
                        translate_failure)
from nnlab.results import CheckResult, ExerciseResult
from nnlab.wire.confinement import Confinement


@functools.cache
def _escaped(key: str, lang: str) -> Markup:
    """Line `key` in `lang` (English when that language lacks it), escaped for HTML."""
    table = MESSAGES[key]
    return Markup(escape(table.get(lang, table[DEFAULT_LANGUAGE])))


@functools.cache
def _report_words(lang: str) -> Mapping[str, Markup]:
    return {key: _escaped(key, lang) for key in MESSAGES if key.startswith("report.")}


@dataclass(frozen=True)
class ShownCheck:
    """A check as the page shows it, in the page's language: worked out before rendering, since
    a call from a template costs more than the lookup itself (300 pages of 250 checks each)."""

    check: CheckResult
    title: str
    visibility: str
    outcome: str
    message: str


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

    @property
    def words(self) -> Mapping[str, Markup]:
        """Every report line without values, escaped: what a template reads as w["key"] (a
        lookup, cheaper than a call on the hot path)."""
        return _report_words(self.lang)

    def text(self, key: str, **values: Any) -> Markup:
        """Line `key` as HTML: its words and every value escaped; a Markup value (a <code>
        span the template built) kept as it is."""
        template = _escaped(key, self.lang)
        if not values:
            return template
        # str.format on the escaped line, each text value escaped first: what Markup.format
        # does, at a fraction of its cost (a class report renders thousands of these).
        return Markup(str(template).format(**{name: escape(value) if isinstance(value, str) else value
                                              for name, value in values.items()}))

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

    def shown(self, exercise_id: str, check: CheckResult) -> ShownCheck:
        return ShownCheck(check, self.check_title(exercise_id, check), self.visibility(check.visibility.value),
                          self.outcome(check.outcome.value), self.failure(check.message))

    def failure(self, text: str) -> str:
        """A check's message with the common failure phrasing in this language (values as written)."""
        return translate_failure(text, self.lang)

    def confinement(self, confinement: Confinement) -> str:
        return confinement_text(confinement.level, confinement.applied, confinement.missing, self.lang)
