"""pandas summaries of graded submissions: score tables, exercise statistics, check item analysis."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from nnlab.results import ExerciseResult, Outcome, SubmissionResult

ANONYMOUS = "submission"
"""The label of a result without a student id (a single `nnlab submit`)."""

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
"""Outcome values in the order reports show their counts."""

RESERVED_COLUMNS = ("student", "total")

PASS_RATE_COLUMNS = (
    "exercise", "test_id", "check", "visibility", "points", "pass_rate", *OUTCOMES, "count",
    "failing", "discrimination",
)

FAILING_OUTCOMES = ("failed", "error", "timeout")
"""Outcomes that mean the student's code is wrong; `skipped` (not decided) is not one of them."""

GROUP_SHARE = 0.27
"""Item analysis compares the top and bottom 27% of students, the classic upper-lower split."""

MIN_RUNS_FOR_DISCRIMINATION = 10
"""Below this many runs a check's top and bottom groups are too small to compare."""


def student_label(result: SubmissionResult) -> str:
    """The name a report shows for a result: its student id, or 'submission' when it has none."""
    return result.student if result.student is not None else ANONYMOUS


def exercise_ids_in(results: Sequence[SubmissionResult]) -> list[str]:
    """Every exercise id present in the results, in first-seen order."""
    return list(dict.fromkeys(e.id for r in results for e in r.exercises))


def column_ids(exercise_ids: Sequence[str]) -> list[str]:
    """Exercise ids as table columns: duplicates dropped, order kept, reserved names refused."""
    ids = list(dict.fromkeys(exercise_ids))
    clashes = [i for i in ids if i in RESERVED_COLUMNS]
    if clashes:
        # A column named 'total' or 'student' would silently shadow the spec's own columns.
        raise ValueError(f"exercise ids clash with score table columns: {', '.join(clashes)}")
    return ids


def score_table(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> pd.DataFrame:
    """One row per result: `student`, one score column per exercise id (0 when absent), `total`.

    `total` is the submission's own total, so it stays truthful even if `exercise_ids`
    names only some of the exercises that were graded.
    """
    ids = column_ids(exercise_ids)
    rows = []
    for r in results:
        scores = {e.id: e.score for e in r.exercises}
        rows.append({"student": student_label(r), **{i: scores.get(i, 0.0) for i in ids}, "total": r.score})
    table = pd.DataFrame(rows, columns=["student", *ids, "total"])
    # Keep numeric columns float even for an empty class, so CSV and stats behave alike.
    return table.astype({c: float for c in [*ids, "total"]})


def _first_exercise_field(results: Sequence[SubmissionResult], exercise_id: str, field: str) -> Any:
    """The given attribute of the first graded copy of an exercise, or None if nobody has it."""
    for r in results:
        for e in r.exercises:
            if e.id == exercise_id:
                return getattr(e, field)
    return None


def exercise_stats(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> pd.DataFrame:
    """Per exercise: `exercise`, `title`, `max_score`, the class `mean`, `median`, `max` score
    (students without the exercise count as 0, as in the score table), then `submitted` and
    `not_submitted` (students), `mean_submitted` (the mean over those who handed a file in)
    `full` (students with full marks) and `unrunnable` (files handed in but refused as a whole:
    syntax error, empty file, banned API).
    """
    table = score_table(results, exercise_ids)
    ids = list(table.columns[1:-1])
    scores = table[ids]
    max_scores = [_first_exercise_field(results, i, "max_score") for i in ids]
    titles = [_first_exercise_field(results, i, "title") for i in ids]
    handed_in = submitted_table(results, ids)
    refused = pd.DataFrame([[e.submitted and bool(e.note) for e in _by_id(r, ids)] for r in results],
                           columns=ids, dtype=bool)
    maxima = pd.Series([float("nan") if m is None else float(m) for m in max_scores], index=ids)
    return pd.DataFrame(
        {
            "exercise": ids,
            "title": [t if t is not None else i for t, i in zip(titles, ids)],
            "max_score": maxima.to_numpy(),
            "mean": scores.mean().to_numpy(dtype=float),
            "median": scores.median().to_numpy(dtype=float),
            "max": scores.max().to_numpy(dtype=float),
            "submitted": handed_in.sum().to_numpy(dtype=int),
            "not_submitted": (~handed_in).sum().to_numpy(dtype=int),
            "mean_submitted": scores.where(handed_in).mean().to_numpy(dtype=float),
            "full": (scores.ge(maxima) & handed_in).sum().to_numpy(dtype=int),
            "unrunnable": refused.sum().to_numpy(dtype=int),
        }
    )


def _by_id(result: SubmissionResult, ids: Sequence[str]) -> list[ExerciseResult]:
    """The result's exercises in the order of `ids`; an absent one as an empty, unsubmitted record."""
    graded = {e.id: e for e in result.exercises}
    return [graded.get(i) or ExerciseResult(i, i, (), 0.0, submitted=False) for i in ids]


def submitted_table(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> pd.DataFrame:
    """One boolean row per result, one column per exercise id: True when a file was handed in.

    An exercise absent from a result (never graded for that student) counts as not submitted.
    """
    ids = column_ids(exercise_ids)
    rows = [[e.submitted for e in _by_id(r, ids)] for r in results]
    return pd.DataFrame(rows, columns=ids, dtype=bool)


def check_records(results: Sequence[SubmissionResult]) -> pd.DataFrame:
    """Long form: one row per check run, with student, exercise, test id, name, outcome, points,
    whether the exercise was `submitted`, whether its file `ran` (handed in, and not refused as a
    whole for a syntax error, an empty file or a banned API), and `student_index` (position in
    `results`, a unique key)."""
    rows = [
        (i, student_label(r), e.id, c.test_id, c.name, c.visibility.value, c.outcome.value,
         c.score, c.max_score, e.submitted, e.submitted and not e.note)
        for i, r in enumerate(results)
        for e in r.exercises
        for c in e.checks
    ]
    columns = ["student_index", "student", "exercise", "test_id", "check", "visibility", "outcome",
               "score", "points", "submitted", "ran"]
    # Tuples, not dicts: a 300 x 24 class has some 70,000 rows and this is the hot loop.
    return pd.DataFrame.from_records(rows, columns=columns)


def check_pass_rates(results: Sequence[SubmissionResult]) -> pd.DataFrame:
    """Per check (exercise, test id), in first-seen order: name, visibility, points,
    `pass_rate` (passed / runs, 0..1), one count column per outcome, `count` (runs),
    `failing` (runs that failed, raised or timed out) and `discrimination`.

    Only files that ran count as runs: a missing file, or one refused as a whole (syntax
    error, empty, banned API), says nothing about a single check; the exercise's note,
    score and statistics already say why. `discrimination` is the upper-lower index:
    the pass rate among the top 27% of the check's runs (ranked by the student's total
    score) minus the pass rate among the bottom 27%, from -1 to 1. Near 0 the check does
    not tell strong from weak students; below 0 strong students fail it more, which is
    worth a look. It is NaN under MIN_RUNS_FOR_DISCRIMINATION runs.
    """
    records = check_records(results)
    records = records[records["ran"]]
    if records.empty:
        return pd.DataFrame(columns=list(PASS_RATE_COLUMNS))
    keys = ["exercise", "test_id"]
    # The name and points shown are those of the first run: they come from one exercise definition.
    first = records.drop_duplicates(keys)[[*keys, "check", "visibility", "points"]]
    counts = (
        pd.crosstab([records["exercise"], records["test_id"]], records["outcome"])
        .reindex(columns=list(OUTCOMES), fill_value=0)
        .reset_index()
    )
    counts.columns.name = None
    table = first.merge(counts, on=keys, how="left")  # a left merge keeps first-seen order
    table["count"] = table[list(OUTCOMES)].sum(axis=1)
    table["pass_rate"] = table["passed"] / table["count"]
    table["failing"] = table[list(FAILING_OUTCOMES)].sum(axis=1)
    table = table.merge(_discrimination(records, results), on=keys, how="left")
    return table[list(PASS_RATE_COLUMNS)].reset_index(drop=True)


def _discrimination(records: pd.DataFrame, results: Sequence[SubmissionResult]) -> pd.DataFrame:
    """The upper-lower 27% index per (exercise, test id); see check_pass_rates."""
    totals = [r.score / r.max_score if r.max_score else 0.0 for r in results]
    runs = pd.DataFrame({
        "exercise": records["exercise"].to_numpy(),
        "test_id": records["test_id"].to_numpy(),
        "passed": (records["outcome"] == "passed").to_numpy(dtype=float),
        "total": [totals[i] for i in records["student_index"]],
    })
    grouped = runs.groupby(["exercise", "test_id"], sort=False)
    # Ties on the total are broken by class order: deterministic, and rare at 0.5-point steps.
    rank = grouped["total"].rank(method="first")
    size = grouped["total"].transform("size")
    group = (size * GROUP_SHARE).round().clip(lower=1)
    runs["upper"] = runs["passed"].where(rank > size - group)
    runs["lower"] = runs["passed"].where(rank <= group)
    table = runs.groupby(["exercise", "test_id"], sort=False).agg(
        upper=("upper", "mean"), lower=("lower", "mean"), runs=("passed", "size")).reset_index()
    table["discrimination"] = (table["upper"] - table["lower"]).where(
        table["runs"] >= MIN_RUNS_FOR_DISCRIMINATION)
    return table[["exercise", "test_id", "discrimination"]]


def ranked_checks(pass_rates: pd.DataFrame) -> pd.DataFrame:
    """check_pass_rates ordered by how many students fail each check, most first
    (then lowest pass rate, then exercise order)."""
    order = pass_rates.assign(_position=range(len(pass_rates)))
    order = order.sort_values(["failing", "pass_rate", "_position"], ascending=[False, True, True],
                              kind="stable")
    return order.drop(columns="_position").reset_index(drop=True)
