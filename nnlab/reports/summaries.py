"""pandas summaries of graded submissions: score tables, exercise statistics, check pass rates."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from nnlab.results import Outcome, SubmissionResult

ANONYMOUS = "submission"
"""The label of a result without a student id (a single `nnlab submit`)."""

OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
"""Outcome values in the order reports show their counts."""

RESERVED_COLUMNS = ("student", "total")

PASS_RATE_COLUMNS = (
    "exercise", "test_id", "check", "visibility", "points", "pass_rate", *OUTCOMES, "count",
)


def student_label(result: SubmissionResult) -> str:
    """The name a report shows for a result: its student id, or 'submission' when it has none."""
    return result.student if result.student is not None else ANONYMOUS


def exercise_ids_in(results: Sequence[SubmissionResult]) -> list[str]:
    """Every exercise id present in the results, in first-seen order."""
    return list(dict.fromkeys(e.id for r in results for e in r.exercises))


def _column_ids(exercise_ids: Sequence[str]) -> list[str]:
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
    ids = _column_ids(exercise_ids)
    rows = []
    for r in results:
        scores = {e.id: e.score for e in r.exercises}
        rows.append({"student": student_label(r), **{i: scores.get(i, 0.0) for i in ids}, "total": r.score})
    table = pd.DataFrame(rows, columns=["student", *ids, "total"])
    # Keep numeric columns float even for an empty class, so CSV and stats behave alike.
    return table.astype({c: float for c in [*ids, "total"]})


def _first_exercise_field(results: Sequence[SubmissionResult], exercise_id: str, field: str) -> object:
    """The given attribute of the first graded copy of an exercise, or None if nobody has it."""
    for r in results:
        for e in r.exercises:
            if e.id == exercise_id:
                return getattr(e, field)
    return None


def exercise_stats(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> pd.DataFrame:
    """Per exercise: `exercise`, `title`, `max_score`, and the class `mean`, `median`, `max` score.

    Students without the exercise count as 0, as in the score table.
    """
    table = score_table(results, exercise_ids)
    ids = list(table.columns[1:-1])
    scores = table[ids]
    max_scores = [_first_exercise_field(results, i, "max_score") for i in ids]
    titles = [_first_exercise_field(results, i, "title") for i in ids]
    return pd.DataFrame(
        {
            "exercise": ids,
            "title": [t if t is not None else i for t, i in zip(titles, ids)],
            "max_score": [float("nan") if m is None else float(m) for m in max_scores],
            "mean": scores.mean().to_numpy(dtype=float),
            "median": scores.median().to_numpy(dtype=float),
            "max": scores.max().to_numpy(dtype=float),
        }
    )


def check_records(results: Sequence[SubmissionResult]) -> pd.DataFrame:
    """Long form: one row per check run, with student, exercise, test id, name, outcome and points."""
    rows = [
        {
            "student": student_label(r),
            "exercise": e.id,
            "test_id": c.test_id,
            "check": c.name,
            "visibility": c.visibility.value,
            "outcome": c.outcome.value,
            "score": c.score,
            "points": c.max_score,
        }
        for r in results
        for e in r.exercises
        for c in e.checks
    ]
    columns = ["student", "exercise", "test_id", "check", "visibility", "outcome", "score", "points"]
    return pd.DataFrame(rows, columns=columns)


def check_pass_rates(results: Sequence[SubmissionResult]) -> pd.DataFrame:
    """Per check (exercise, test id), in first-seen order: name, visibility, points,
    `pass_rate` (passed / runs, 0..1), one count column per outcome, and `count` (runs).

    A student whose exercise ran no checks (missing file, syntax error) does not count
    as a run; the exercise's note and score already say why.
    """
    records = check_records(results)
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
    return table[list(PASS_RATE_COLUMNS)].reset_index(drop=True)
