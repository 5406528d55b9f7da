"""HTML score reports rendered from Jinja2 templates: autoescaped, self-contained, no JavaScript."""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

import nnlab
from nnlab.results import SubmissionResult
from nnlab.reports import export, summaries

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
    """A 0..1 fraction as a whole percentage: 2/3 -> '67%'."""
    if fraction is None or math.isnan(fraction):
        return "—"
    return f"{fraction * 100:.0f}%"


def format_seconds(seconds: float) -> str:
    """A duration with a readable unit: '850 µs', '12.3 ms', '1.5 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


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


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment; autoescape is on so every value is HTML-escaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        # StrictUndefined turns a template typo into an error instead of a silently empty cell.
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=format_number, percent=format_percent, seconds=format_seconds)
    env.globals.update(score_class=score_class, fraction=fraction, nnlab_version=nnlab.__version__)
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


def render_student_report(result: SubmissionResult, *, class_href: str | None = None) -> str:
    """The HTML report of one submission; `class_href` adds a link back to the class report."""
    return environment().get_template("student.html.j2").render(
        r=result,
        label=summaries.student_label(result),
        confinement=result.confinement.describe(),
        class_href=class_href,
    )


def write_student_report(result: SubmissionResult, path: Path, *, class_href: str | None = None) -> None:
    """Writes render_student_report(result) to `path` (UTF-8), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_student_report(result, class_href=class_href), encoding="utf-8")


# ---------------------------------------------------------------- class report


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as plain dicts, the form templates iterate over."""
    return frame.to_dict("records")


def _score_rows(
    results: Sequence[SubmissionResult], exercise_ids: Sequence[str], hrefs: Sequence[str | None]
) -> list[dict[str, Any]]:
    """One row per student for the class score table, with per-exercise cells and the total."""
    table = summaries.score_table(results, exercise_ids)
    ids = list(table.columns[1:-1])
    rows = []
    for result, href, scores in zip(results, hrefs, _records(table)):
        graded = {e.id: e for e in result.exercises}
        cells = []
        for ex_id in ids:
            ex = graded.get(ex_id)
            cells.append({
                "graded": ex is not None,
                "score": scores[ex_id],
                "max_score": ex.max_score if ex is not None else 0.0,
                "note": ex.note if ex is not None else "not graded",
            })
        rows.append({
            "label": scores["student"],
            "href": href,
            "cells": cells,
            "total": scores["total"],
            "max_score": result.max_score,
        })
    return rows


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


def render_class_report(
    results: Sequence[SubmissionResult],
    exercise_ids: Sequence[str],
    student_hrefs: Sequence[str | None] | None = None,
) -> str:
    """The HTML class report (index.html); `student_hrefs[i]` links student i to their report."""
    hrefs = list(student_hrefs) if student_hrefs is not None else [None] * len(results)
    stats = summaries.exercise_stats(results, exercise_ids)
    rows = _score_rows(results, exercise_ids, hrefs)
    return environment().get_template("class.html.j2").render(
        n_students=len(results),
        exercises=_records(stats),
        rows=rows,
        any_not_graded=any(not cell["graded"] for row in rows for cell in row["cells"]),
        pass_rates=_records(summaries.check_pass_rates(results)),
        outcomes=summaries.OUTCOMES,
        env=_environment_info(results),
    )


def write_class_report(
    results: Sequence[SubmissionResult], exercise_ids: Sequence[str], out_dir: Path
) -> None:
    """Writes out_dir/index.html, out_dir/students/<safe_name>.html per student,
    out_dir/scores.csv and out_dir/results.json."""
    out_dir = Path(out_dir)
    students_dir = out_dir / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    names = unique_safe_names([summaries.student_label(r) for r in results])
    for result, name in zip(results, names):
        write_student_report(result, students_dir / f"{name}.html", class_href="../index.html")
    hrefs = [f"students/{name}.html" for name in names]
    html = render_class_report(results, exercise_ids, hrefs)
    (out_dir / "index.html").write_text(html, encoding="utf-8")
    export.write_scores_csv(results, exercise_ids, out_dir / "scores.csv")
    export.write_results_json(results, out_dir / "results.json")
