"""HTML score reports rendered from Jinja2 templates: autoescaped, self-contained, offline."""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

import nnlab
from nnlab.i18n import message
from nnlab.results import ExerciseResult, Outcome, SubmissionResult, format_seconds
from nnlab.reports import canvas, export, summaries
from nnlab.reports.classview import Describable, ExtraSection, LatePenalty, Timings, class_context
from nnlab.reports.language import ReportLanguage

TEMPLATES_DIR = Path(__file__).parent / "templates"

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_MAX_NAME_LENGTH = 100
"""File names are cut here: student ids can be long and file systems stop at 255 bytes."""


# ---------------------------------------------------------------- formatting filters


def format_number(value: float | None, digits: int = 2) -> str:
    """A score for people: '7' rather than '7.0', at most `digits` decimals, '—' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_percent(fraction: float | None) -> str:
    """A 0..1 fraction as a whole percentage, halves rounded up: 2/3 -> '67%', 0.545 -> '55%'.

    The one rounding of the reports (headline, tables, chart labels): 0.545 * 100 is
    54.50000000000001 and a mean of percentages 54.49999999999999, so the value is first
    rounded to 9 digits, where such float noise disappears."""
    if fraction is None or math.isnan(fraction):
        return "—"
    return f"{math.floor(round(fraction * 100, 9) + 0.5):.0f}%"


def score_class(score: float, max_score: float) -> str:
    """CSS class colouring a score: full marks, nothing, or in between."""
    if max_score > 0 and score >= max_score:
        return "score-full"
    if score <= 0:
        return "score-zero"
    return "score-partial"


def fraction(score: float, max_score: float) -> float:
    """score / max_score clamped to 0..1, for progress bars (0 when there is nothing to score)."""
    if not max_score or math.isnan(max_score):
        return 0.0
    return min(max(score / max_score, 0.0), 1.0)


def code_spans(text: str) -> Markup:
    """Markdown-style `code` in a check name shown as code, everything else escaped."""
    text = str(text)
    if "`" not in text:  # the common case, and the hot path of a 300-student report
        return escape(text)
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as written
        return Markup(escape(text))
    return Markup("").join(Markup("<code>{}</code>").format(p) if i % 2 else escape(p)
                           for i, p in enumerate(parts))


def code(text: object) -> Markup:
    """`text` as inline code, escaped: a value put into a translated line (report.reproduce)."""
    return Markup("<code>{}</code>").format(text)


def breakable(identifier: str) -> Markup:
    """An exercise id that may wrap after its underscores in a narrow column header."""
    return Markup("_<wbr>").join(escape(part) for part in str(identifier).split("_"))


_WORD = re.compile(r'\{\{ w\["([\w.]+)"\] \}\}')
"""A report line without values in a template: `{{ w["report.fix_first"] }}`."""


class _WordsLoader(jinja2.FileSystemLoader):
    """The report templates with each `{{ w["key"] }}` written in as the escaped line of one
    language: the words cost nothing at render time, as when they were written in English."""

    def __init__(self, lang: str) -> None:
        super().__init__(TEMPLATES_DIR)
        self.words = ReportLanguage(lang).words

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        return _WORD.sub(lambda m: str(self.words[m.group(1)]), source), filename, uptodate


@functools.cache
def environment(lang: str = "en") -> jinja2.Environment:
    """The Jinja2 environment of the reports in `lang`; autoescape is on so every value is
    HTML-escaped. `tr` and `w` (the report's words) are English unless a render passes its own."""
    env = jinja2.Environment(
        loader=_WordsLoader(lang),
        autoescape=True,
        # StrictUndefined turns a template typo into an error instead of a silently empty cell.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=format_number, percent=format_percent, seconds=format_seconds,
                       ticks=code_spans, breakable=breakable)
    env.globals.update(score_class=score_class, fraction=fraction, code=code, nnlab_version=nnlab.__version__,
                       tr=ReportLanguage(), w=ReportLanguage().words)
    return env


# ---------------------------------------------------------------- file names


def safe_name(label: str) -> str:
    """A file-name stem from a student id: keeps [A-Za-z0-9._-], replaces everything else by '_'."""
    name = _UNSAFE_CHARS.sub("_", label)[:_MAX_NAME_LENGTH]
    # A leading dot would make a hidden file that a file browser does not show.
    if name.startswith("."):
        name = "_" + name[1:]
    return name or "_"


def unique_safe_names(labels: Sequence[str]) -> list[str]:
    """safe_name for each label, with '-2', '-3', ... added where two would collide.

    Collisions are compared case-insensitively, since macOS and Windows file systems are.
    """
    taken: set[str] = set()
    names: list[str] = []
    for label in labels:
        base = safe_name(label)
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name.lower())
        names.append(name)
    return names


# ---------------------------------------------------------------- student report

FIX_FIRST_SHOWN = 10
"""The student report lists this many things to fix before folding the rest."""
_FAILING = (Outcome.FAILED, Outcome.ERROR, Outcome.TIMEOUT)


def report_heading(result: SubmissionResult, lang: str = "en") -> str:
    """'Score report: <student id>' when the student is known, else 'Score report' (in `lang`)."""
    if result.student is None:
        return message("report.heading", lang)
    return message("report.heading_of", lang, student=result.student)  # escaped by the template


def fix_first(exercises: Sequence[ExerciseResult],
              words: ReportLanguage | None = None) -> list[dict[str, Any]]:
    """What cost the student points, most points first: one item for a file that could not run
    at all, else one per failed, crashed or timed-out check. Not-submitted work is listed apart.
    `words` gives the checks' titles and failure phrasing in the report's language."""
    words = words if words is not None else ReportLanguage()
    items = []
    for position, ex in enumerate(exercises):
        if not ex.submitted:
            continue
        # A check the instructor gave points back on costs only what is still missing.
        given_back: dict[str, float] = {}
        for adjustment in ex.adjustments:
            if adjustment.check:
                given_back[adjustment.check] = given_back.get(adjustment.check, 0.0) + adjustment.change
        if ex.note:
            lost = ex.max_score - ex.score
            outcome = ex.checks[0].outcome.value if ex.checks else Outcome.ERROR.value
            if lost > 0:
                items.append({"exercise": ex.id, "what": words.failure(ex.note), "points": lost, "outcome": outcome,
                              "label": words.outcome(outcome), "first_line": "", "order": (position, -1)})
            continue
        for index, c in enumerate(ex.checks):
            lost = round(c.max_score - c.score - given_back.get(c.test_id, 0.0), 6)
            if c.outcome in _FAILING and lost > 0:
                message = words.failure(c.message).strip()
                first_line = message.splitlines()[0] if message else ""
                items.append({"exercise": ex.id, "what": words.check_title(ex.id, c), "points": lost,
                              "outcome": c.outcome.value, "label": words.outcome(c.outcome.value),
                              "first_line": first_line[:200],
                              "order": (position, index)})
    return sorted(items, key=lambda item: (-item["points"], item["order"]))


def _sections(exercises: Sequence[ExerciseResult], words: ReportLanguage) -> list[dict[str, Any]]:
    """Each handed-in (or adjusted) exercise, titled in the page's language, with its checks
    (ShownCheck) split into not passed (shown) and passed (folded).

    Split here rather than with template filters: it is the hot path of a 300-student report.
    """
    sections = []
    for ex in exercises:
        if not ex.submitted and not ex.adjustments:
            continue
        shown = [words.shown(ex.id, c) for c in ex.checks]
        passed = [s for s in shown if s.check.outcome is Outcome.PASSED]
        sections.append({"ex": ex, "title": words.exercise_title(ex), "passed": passed,
                         "open": [s for s in shown if s.check.outcome is not Outcome.PASSED],
                         "passed_points": sum(s.check.score for s in passed)})
    return sections


def render_student_report(result: SubmissionResult, *, class_href: str | None = None,
                          late: LatePenalty | None = None, lang: str = "en") -> str:
    """The HTML report of one submission; `class_href` adds a link back to the class report.
    With `late`, `result` is what the checks gave and the page shows the penalty apart.
    `lang`: the language of the page's words, check titles and common failure phrasing."""
    words = ReportLanguage(lang)
    return environment(lang).get_template("student.html.j2").render(
        r=result,
        tr=words,
        w=words.words,
        late=late if late is not None and late.days else None,
        heading=report_heading(result, lang),
        label=summaries.student_label(result),
        confinement=words.confinement(result.confinement),
        class_href=class_href,
        fix_first=fix_first(result.exercises, words),
        shown_first=FIX_FIRST_SHOWN,
        sections=_sections(result.exercises, words),
        # An exercise not handed in but given points by the instructor is listed with the others.
        not_submitted=[e for e in result.exercises if not e.submitted and not e.adjustments],
        adjusted_count=sum(1 for e in result.exercises if e.adjustments),
    )


def write_student_report(result: SubmissionResult, path: Path, *, class_href: str | None = None,
                         late: LatePenalty | None = None, lang: str = "en") -> None:
    """Writes render_student_report(result) to `path` (UTF-8), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_student_report(result, class_href=class_href, late=late, lang=lang),
                    encoding="utf-8")


# ---------------------------------------------------------------- class report


def _counted(values: Sequence[str]) -> list[dict[str, Any]]:
    """Distinct values with how many students had each, in first-seen order."""
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return [{"value": v, "count": n} for v, n in counts.items()]


def _environment_info(results: Sequence[SubmissionResult]) -> dict[str, Any]:
    """How the class was graded: confinement, seeds, devices, versions, grading times."""
    times = sorted(r.graded_at for r in results if r.graded_at)
    return {
        "confinements": _counted([r.confinement.describe() for r in results]),
        "weak_confinement": any(r.confinement.level != "full" for r in results),
        "seeds": _counted([str(r.seed) for r in results]),
        "seed_by_student": [
            {"label": summaries.student_label(r), "seed": r.seed} for r in results
        ],
        "devices": _counted([r.device or "—" for r in results]),
        "versions": _counted([r.nnlab_version or "—" for r in results]),
        "first_graded": times[0] if times else "",
        "last_graded": times[-1] if times else "",
    }


def render_extra_section(section: ExtraSection) -> Markup:
    """An extra section's HTML: Markup as given, or its template string rendered with autoescape."""
    if isinstance(section.body, Markup):
        return section.body
    return Markup(environment().from_string(section.body).render(**section.context))


def render_class_report(
    results: Sequence[SubmissionResult],
    exercise_ids: Sequence[str],
    student_hrefs: Sequence[str | None] | None = None,
    *,
    extra_sections: Sequence[ExtraSection] = (),
    timings: Timings | None = None,
    unmatched_adjustments: Sequence[Describable] = (),
    late: Mapping[str, LatePenalty] | None = None,
) -> str:
    """The HTML class report (index.html); `student_hrefs[i]` links student i to their report.

    `extra_sections` are appended after the built-in sections (see ExtraSection); `timings`,
    when given, collects the seconds each step took; `unmatched_adjustments` (each with a
    `describe()` line) are listed under "Needs a look". `late` maps a student to their late
    penalty: `results` are then what the checks gave (adjusted), and the penalty is applied to
    the totals only, shown apart.
    """
    timings = timings if timings is not None else Timings()
    hrefs = list(student_hrefs) if student_hrefs is not None else [None] * len(results)
    context = class_context(results, exercise_ids, hrefs, timings, render_extra_section, extra_sections,
                            unmatched_adjustments, late)
    with timings.step("class page"):
        return environment().get_template("class.html.j2").render(env=_environment_info(results),
                                                                  **context)


def write_class_report(
    results: Sequence[SubmissionResult],
    exercise_ids: Sequence[str],
    out_dir: Path,
    *,
    extra_sections: Sequence[ExtraSection] = (),
    timings: Timings | None = None,
    unmatched_adjustments: Sequence[Describable] = (),
    late: Mapping[str, LatePenalty] | None = None,
) -> None:
    """Writes out_dir/index.html, out_dir/students/<safe_name>.html per student,
    out_dir/scores.csv, out_dir/canvas.csv and out_dir/results.json.

    `extra_sections` adds sections to index.html (for example code similarity): each is an
    ExtraSection whose body is pre-rendered Markup or a template string rendered with
    autoescape. `timings` collects the seconds per step (the benchmark reads it).
    `unmatched_adjustments` are instructor adjustments that matched nothing (for example
    `apply_adjustments`' second return value): index.html lists them under "Needs a look".
    `late` maps a student to their late penalty (see render_class_report): the pages show it
    apart from the checks, and scores.csv, canvas.csv and results.json hold the grade, after it.
    """
    timings = timings if timings is not None else Timings()
    late = late or {}
    out_dir = Path(out_dir)
    students_dir = out_dir / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    labels = [summaries.student_label(r) for r in results]
    names = unique_safe_names(labels)
    with timings.step("student pages"):
        for result, name, label in zip(results, names, labels):
            write_student_report(result, students_dir / f"{name}.html", class_href="../index.html",
                                 late=late.get(label))
    hrefs = [f"students/{name}.html" for name in names]
    html = render_class_report(results, exercise_ids, hrefs, extra_sections=extra_sections, timings=timings,
                               unmatched_adjustments=unmatched_adjustments, late=late)
    (out_dir / "index.html").write_text(html, encoding="utf-8")
    graded = [_after_penalty(r, late.get(label)) for r, label in zip(results, labels)]
    with timings.step("csv exports"):
        export.write_scores_csv(graded, exercise_ids, out_dir / "scores.csv")
        canvas.write_canvas_csv(graded, exercise_ids, out_dir / "canvas.csv")
    with timings.step("results.json"):
        export.write_results_json(graded, out_dir / "results.json")


def _after_penalty(result: SubmissionResult, late: LatePenalty | None) -> SubmissionResult:
    """The grade that is exported: the course's one penalty arithmetic, when a penalty applies."""
    if late is None or late.factor >= 1.0:
        return result
    from nnlab.course.policy import penalized

    return penalized(result, late.factor)
