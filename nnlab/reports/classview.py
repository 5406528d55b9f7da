"""What the class report shows, computed once: score cells, item analysis, charts and what needs a look."""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
from markupsafe import Markup

from nnlab.results import ExerciseResult, Outcome, SubmissionResult
from nnlab.reports import charts, summaries

STRUGGLING_BELOW = 0.5
"""A student under this share of the maximum total is listed as struggling."""
SHOWN_FIRST = 10
"""How many students, exercises or checks the 'needs a look' lists show before folding the rest."""
SUSPECT_DISCRIMINATION = -0.1
"""A check whose discrimination is below this (strong students fail it more) is flagged."""
TIMEOUT_SHARE_FLAG = 0.1
"""A check whose runs time out this often is flagged: a time limit too tight, or a slow grading machine."""


@dataclass(frozen=True)
class ExtraSection:
    """A section another part of nnlab adds to the class report (for example code similarity).

    Pass it to write_class_report(..., extra_sections=[...]). `body` is either pre-rendered
    `markupsafe.Markup`, inserted as is, or a Jinja2 template string rendered with `context`
    under the report's autoescaping environment (so student ids in `context` stay literal).
    """

    title: str
    """The section heading, also its entry in the report's table of contents."""
    body: Markup | str
    """Markup to insert verbatim, or a template source (a plain str) to render with `context`."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """Variables for a template `body`; ignored for Markup."""
    anchor: str = ""
    """The section's HTML id (default: derived from the title)."""
    folded: bool = False
    """Start folded in a <details> element."""


@dataclass(frozen=True)
class LatePenalty:
    """A student's late penalty, which the reports show apart from what the checks gave: the
    exercise cells, statistics and charts of quality read the checks; the total is the grade."""

    days: int
    """Started days late."""
    factor: float
    """What the penalty leaves of the score, 0..1 (0.8 for 20% off)."""

    @property
    def penalty(self) -> float:
        """The share taken, 0..1."""
        return round(1.0 - self.factor, 6)


class Describable(Protocol):
    """Anything that says in one line what went wrong (an adjustment that matched nothing)."""

    def describe(self) -> str: ...


@dataclass
class Timings:
    """Seconds spent per rendering step, for the benchmark (accumulated across calls)."""

    steps: dict[str, float] = field(default_factory=dict)
    """Step name to seconds."""

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - start


def heat_class(fraction: float) -> str:
    """CSS class tinting a score cell by its share of the exercise's points."""
    if fraction >= 1.0:
        return "h5"
    if fraction <= 0.0:
        return "h0"
    return f"h{min(int(fraction * 4) + 1, 4)}"


def adjusted_title(ex: ExerciseResult) -> str:
    """A score cell's tooltip for an adjusted exercise: the checks' score, the adjusted one, and
    each adjustment's change, reason and author, so the number can be traced from the table."""
    changes = "; ".join(f"{a.change:+g}{f' on {a.check}' if a.check else ''}: {a.reason} ({a.author})"
                        for a in ex.adjustments)
    return f"adjusted from {ex.original_score:g} to {ex.score:g} by the instructor. {changes}"


def _cell(ex: ExerciseResult | None, score: float) -> dict[str, Any]:
    """One score-table cell: its text, sort key, tint, tooltip and adjustment marker."""
    if ex is None:
        return {"text": None, "sort": -2, "cls": "ng", "title": "not graded", "adjusted": ""}
    adjusted = adjusted_title(ex) if ex.adjustments else ""
    if not ex.submitted and not ex.adjustments:
        # Sorts below a handed-in zero: "did nothing" and "tried and failed" are different talks.
        return {"text": None, "sort": -1, "cls": "ns", "title": "not submitted", "adjusted": ""}
    fraction = score / ex.max_score if ex.max_score else 0.0
    title = ex.note if ex.submitted else "not submitted"
    return {"text": score, "sort": score, "cls": heat_class(fraction), "title": title, "adjusted": adjusted}


def adjustment_rows(results: Sequence[SubmissionResult], hrefs: Sequence[str | None]) -> list[dict[str, Any]]:
    """Every adjustment in the class, in class order: who, which exercise, what it changed and why."""
    rows = []
    for result, href in zip(results, hrefs):
        for ex in result.exercises:
            for a in ex.adjustments:
                rows.append({"label": summaries.student_label(result), "href": href, "exercise": ex.id,
                             "check": a.check, "kind": a.kind, "points": a.points, "change": a.change,
                             "original": ex.original_score, "score": ex.score,
                             "max_score": ex.max_score, "reason": a.reason, "author": a.author,
                             "date": a.date})
    return rows


def score_rows(results: Sequence[SubmissionResult], ids: Sequence[str], table: pd.DataFrame,
               hrefs: Sequence[str | None],
               late: Mapping[str, LatePenalty] | None = None) -> list[dict[str, Any]]:
    """One row per student for the class score table: per-exercise cells (what the checks gave,
    adjusted) and the total (the grade: after the late penalty, if any; `checked` before it)."""
    late = late or {}
    rows = []
    for result, href, scores in zip(results, hrefs, table.itertuples(index=False)):
        graded = {e.id: e for e in result.exercises}
        cells = [_cell(graded.get(i), value) for i, value in zip(ids, scores[1:-1])]
        penalty = late.get(scores[0])
        checked = float(scores[-1])
        total = round(checked * penalty.factor, 6) if penalty else checked
        rows.append({
            "label": scores[0], "href": href, "cells": cells, "total": total, "checked": checked,
            "late": penalty if penalty and penalty.days else None,
            "max_score": result.max_score,
            "fraction": total / result.max_score if result.max_score else 0.0,
            "missing": sum(1 for c in cells if c["cls"] in ("ns", "ng")),
            "handed_in": any(e.submitted for e in result.exercises),
        })
    return rows


def _exercise_rows(stats: pd.DataFrame) -> list[dict[str, Any]]:
    """Exercise statistics as template rows, with the shares the report shows as percentages."""
    rows = cast("list[dict[str, Any]]", stats.to_dict("records"))  # the columns are named by str
    for row in rows:
        top = row["max_score"]
        row["mean_fraction"] = row["mean_submitted"] / top if top and not math.isnan(top) else float("nan")
        handed_in = row["submitted"]
        row["full_fraction"] = row["full"] / handed_in if handed_in else float("nan")
    return rows


def _counted(count: int, noun: str) -> str:
    """'1 run', '3 runs'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_GRADER_FAULT = "internal grader error"
_INFRASTRUCTURE = ("infrastructure error", "grading failed")


def _grader_faults(results: Sequence[SubmissionResult]) -> list[dict[str, str]]:
    """Scores the grader itself spoiled: checks that hit an internal grader error, and students
    whose grading failed outright (their zero says nothing about their work)."""
    faults: dict[str, int] = {}
    students = []
    for r in results:
        if any(e.note.startswith(_INFRASTRUCTURE) for e in r.exercises):
            students.append(summaries.student_label(r))
            continue
        for e in r.exercises:
            for c in e.checks:
                if c.outcome is Outcome.ERROR and _GRADER_FAULT in c.message:
                    key = f"{e.id}: {c.name}"
                    faults[key] = faults.get(key, 0) + 1
    flags = [{"kind": "check", "what": key,
              "why": f"{_counted(count, 'run')} hit an internal grader error, not the students' fault: "
                     f"fix the check, then grade again"}
             for key, count in faults.items()]
    if students:
        flags.append({"kind": "students", "what": _counted(len(students), "student"),
                      "why": f"{'was' if len(students) == 1 else 'were'} not graded (infrastructure "
                             f"error); grade again: "
                             + ", ".join(students[:20]) + (" …" if len(students) > 20 else "")})
    return flags


def _flags(results: Sequence[SubmissionResult], checks: list[dict[str, Any]],
           exercises: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Things that may mean a score is wrong rather than a student weak."""
    flags = _grader_faults(results)
    for c in checks:
        d = c["discrimination"]
        if not math.isnan(d) and d < SUSPECT_DISCRIMINATION:
            flags.append({"kind": "check", "what": f"{c['exercise']}: {c['check']}",
                          "why": f"strong students fail it more often than weak ones "
                                 f"(discrimination {d:+.2f}); is the check or its reference right?"})
    for c in checks:
        runs, timeouts = c["count"], c["timeout"]
        if runs and timeouts / runs >= TIMEOUT_SHARE_FLAG and timeouts >= 3:
            flags.append({"kind": "check", "what": f"{c['exercise']}: {c['check']}",
                          "why": f"{timeouts} of {runs} runs timed out; the time limit or the "
                                 f"grading machine may be at fault"})
    for ex in exercises:
        if ex["unrunnable"] and ex["unrunnable"] >= max(3, 0.25 * ex["submitted"]):
            flags.append({"kind": "exercise", "what": ex["exercise"],
                          "why": f"{ex['unrunnable']} of {ex['submitted']} files could not run at all "
                                 f"(syntax error, empty file or banned API)"})
    # A student who handed in nothing is not a grading problem (and may still be working while
    # the assignment is open): they are listed apart, under "Nothing handed in".
    return flags


def _struggling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Students under STRUGGLING_BELOW of the maximum, lowest total first."""
    low = [r for r in rows if r["max_score"] and r["fraction"] < STRUGGLING_BELOW]
    return sorted(low, key=lambda r: (r["fraction"], r["label"]))


def _chart_inputs(results: Sequence[SubmissionResult], ids: Sequence[str], table: pd.DataFrame,
                  exercises: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score fractions, handed-in flags, totals), students x exercises, for the charts."""
    maxima = np.nan_to_num(np.array([e["max_score"] for e in exercises], dtype=float))
    scores = table[list(ids)].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        fractions = np.where(maxima > 0, scores / np.where(maxima > 0, maxima, 1.0), 0.0)
    handed_in = summaries.submitted_table(results, ids).to_numpy(dtype=bool)
    return fractions, handed_in, table["total"].to_numpy(dtype=float)


def _charts(results: Sequence[SubmissionResult], ids: Sequence[str], table: pd.DataFrame,
            exercises: list[dict[str, Any]], rows: list[dict[str, Any]], centre: tuple[float, float],
            timings: Timings) -> tuple[np.ndarray, dict[str, Markup | None]]:
    """(handed-in flags, the three charts); `centre` is the (mean, median) the headline shows."""
    fractions, handed_in, totals = _chart_inputs(results, ids, table, exercises)
    chart: dict[str, Markup | None] = {"distribution": None, "exercises": None, "heat_map": None}
    if rows:
        with timings.step("chart: score distribution"):
            chart["distribution"] = charts.score_distribution([r["fraction"] for r in rows], *centre)
    if rows and ids:
        with timings.step("chart: per exercise"):
            chart["exercises"] = charts.exercise_distributions(ids, fractions, handed_in)
        with timings.step("chart: heat map"):
            chart["heat_map"] = charts.heat_map(ids, fractions, handed_in, totals)
    return handed_in, chart


def class_context(results: Sequence[SubmissionResult], exercise_ids: Sequence[str],
                  hrefs: Sequence[str | None], timings: Timings,
                  render_section: Callable[[ExtraSection], Markup],
                  extra_sections: Sequence[ExtraSection] = (),
                  unmatched_adjustments: Sequence[Describable] = (),
                  late: Mapping[str, LatePenalty] | None = None) -> dict[str, Any]:
    """Every value class.html.j2 reads. `results` are what the checks gave (adjusted); `late`
    (by student) applies only to the totals: the grade, its distribution, who is struggling."""
    with timings.step("summaries"):
        table = summaries.score_table(results, exercise_ids)
        ids = list(table.columns[1:-1])
        exercises = _exercise_rows(summaries.exercise_stats(results, ids))
        checks = cast("list[dict[str, Any]]",  # the columns are named by str
                      summaries.ranked_checks(summaries.check_pass_rates(results)).to_dict("records"))
        rows = score_rows(results, ids, table, hrefs, late)
    max_total = max((r.max_score for r in results), default=0.0)
    fractions_total = [r["fraction"] for r in rows]
    # One mean and one median, computed once: the headline and the chart show the same numbers.
    mean = float(np.mean(fractions_total)) if rows else float("nan")
    median = float(np.median(fractions_total)) if rows else float("nan")
    handed_in, chart = _charts(results, ids, table, exercises, rows, (mean, median), timings)
    with timings.step("extra sections"):
        extras = [{"title": s.title, "anchor": s.anchor or _anchor(s.title), "folded": s.folded,
                   "html": render_section(s)} for s in extra_sections]
    return {
        "n_students": len(results),
        "exercises": exercises,
        "rows": rows,
        "checks": checks,
        "any_not_graded": any(c["cls"] == "ng" for r in rows for c in r["cells"]),
        "any_not_submitted": any(c["cls"] == "ns" for r in rows for c in r["cells"]),
        "any_adjusted": any(c["adjusted"] for r in rows for c in r["cells"]),
        "any_late": any(r["late"] for r in rows),
        "adjustments": adjustment_rows(results, hrefs),
        "unmatched_adjustments": [u.describe() for u in unmatched_adjustments],
        "outcomes": summaries.OUTCOMES,
        "charts": chart,
        "extras": extras,
        "glance": {
            "max_total": max_total,
            "mean": mean,
            "median": median,
            "not_submitted": int((~handed_in).sum()) if rows and ids else 0,
            "files": len(rows) * len(ids),
        },
        "struggling": _struggling(rows),
        "nothing_handed_in": [r for r in rows if not r["handed_in"]],
        "struggling_below": STRUGGLING_BELOW,
        "hardest": sorted((e for e in exercises if not math.isnan(e["mean_fraction"])),
                          key=lambda e: e["mean_fraction"])[:5],
        "top_checks": [c for c in checks if c["failing"]][:SHOWN_FIRST],
        "flags": _flags(results, checks, exercises, rows),
        "shown_first": SHOWN_FIRST,
        "min_runs": summaries.MIN_RUNS_FOR_DISCRIMINATION,
    }


def _anchor(title: str) -> str:
    """An HTML id from a section title: 'Code similarity' -> 'section-code-similarity'."""
    slug = "".join(ch.lower() if ch.isalnum() else "-" for ch in title).strip("-")
    return "section-" + "-".join(part for part in slug.split("-") if part)
