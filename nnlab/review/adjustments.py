"""Instructor score adjustments (adjustments.csv), applied after grading and kept beside the original."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nnlab.errors import UsageError
from nnlab.results import Adjustment, AdjustmentDecision, ExerciseResult, Kind, SubmissionResult

POINTS_COLUMNS = tuple(kind.value for kind in Kind)
"""One points column per kind (delta, override): a row fills exactly one, and that is its kind."""
COLUMNS = ("student", "exercise", "check", *POINTS_COLUMNS, "reason", "author", "date")
REQUIRED = ("student", "exercise", "reason", "author")
"""Columns every file needs, and every row must fill: a grade changed by hand must say why and
who decided it, or nobody can defend it later."""


@dataclass(frozen=True, kw_only=True)
class AdjustmentRow(AdjustmentDecision):
    """One line of an adjustments file, parsed and checked: the decision (kind, points, check,
    reason, author), whose score it changes and where it was written."""

    source: str
    """The file it came from, for messages."""
    line: int
    """Its line in that file (1-based, the header is line 1)."""
    student: str
    """The student id, as in CLASS_DIR/<student>/ and in results."""
    exercise: str
    """The exercise id."""
    date: str = ""
    """When (ISO 8601), or empty."""

    @property
    def where(self) -> str:
        return f"{self.source} line {self.line}"


@dataclass(frozen=True)
class Unmatched:
    """An adjustment that names something the results do not have: reported, never dropped."""

    row: AdjustmentRow
    why: str
    """What did not match: the student, the exercise or the check."""

    def describe(self) -> str:
        """One line for a terminal or a log: where the row is, what is wrong, that it was not applied."""
        return f"{self.row.where}: {self.why}; not applied"


def parse_points(text: str, label: str) -> float:
    """A finite number of points typed by an instructor; `label` names where it came from."""
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{label} {text!r} is not a number of points") from None
    if not math.isfinite(value):
        raise UsageError(f"{label} {text!r} is not a finite number of points")
    return value


def given_kinds(values: Mapping[str, object]) -> list[Kind]:
    """The kinds whose points a CSV row or a request gives, not None (a valid one gives exactly
    one): in every format, an adjustment's kind is which of its points fields is given."""
    return [kind for kind in Kind if values.get(kind.value) is not None]


def _date(text: str, where: str) -> str:
    if text:
        try:
            dt.datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(f"{where}: date {text!r} is not an ISO 8601 date "
                             "(e.g. 2026-12-14 or 2026-12-14T09:30)") from None
    return text


def _check_header(header: Sequence[str] | None, source: str) -> None:
    if not header:
        raise UsageError(f"{source}: empty (expected a header: {', '.join(COLUMNS)})")
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        raise UsageError(f"{source} line 1: unknown column(s) {', '.join(map(repr, unknown))} "
                         f"(expected {', '.join(COLUMNS)})")
    if len(set(header)) != len(header):
        raise UsageError(f"{source} line 1: a column appears twice")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UsageError(f"{source} line 1: missing column(s) {', '.join(missing)}")
    if not set(POINTS_COLUMNS) & set(header):
        raise UsageError(f"{source} line 1: needs a delta or an override column (points)")


def _row(values: dict[str | None, object], source: str, line: int) -> AdjustmentRow:
    where = f"{source} line {line}"
    if values.get(None):
        raise UsageError(f"{where}: more fields than the header has columns")
    cell = {c: str(values.get(c) or "").strip() for c in COLUMNS}
    empty = [c for c in REQUIRED if not cell[c]]
    if empty:
        raise UsageError(f"{where}: {', '.join(empty)} must not be empty")
    given = given_kinds({column: text for column, text in cell.items() if text})
    if len(given) > 1:
        raise UsageError(f"{where}: give a delta or an override, not both")
    if not given:
        raise UsageError(f"{where}: give a delta or an override (points)")
    [kind] = given
    return AdjustmentRow(source=source, line=line, student=cell["student"], exercise=cell["exercise"],
                         check=cell["check"], kind=kind,
                         points=parse_points(cell[kind.value], f"{where}: {kind.value}"),
                         reason=cell["reason"], author=cell["author"], date=_date(cell["date"], where))


def parse_adjustments(text: str, source: str = "adjustments.csv") -> list[AdjustmentRow]:
    """Every row of an adjustments file, in order; a malformed one is a UsageError naming its
    line. Columns: student, exercise, check (optional), delta or override, reason, author, date."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    _check_header(header, source)
    reader.fieldnames = header
    rows = []
    for values in reader:
        if not any(str(v or "").strip() for v in values.values()):
            continue  # a blank line between groups of rows
        rows.append(_row(values, source, reader.line_num))
    return rows


def read_adjustments(path: Path) -> list[AdjustmentRow]:
    """Parses an adjustments file (UTF-8, with or without the byte-order mark spreadsheets add)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise UsageError(f"{path}: cannot read adjustments ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (save the adjustments as CSV UTF-8)") from None
    return parse_adjustments(text, str(path))


def _clamp(value: float, high: float) -> float:
    return min(max(value, 0.0), high)


class _Ledger:
    """One exercise's running scores while its adjustments are applied in file order."""

    def __init__(self, exercise: ExerciseResult) -> None:
        self.exercise = exercise
        self.total = exercise.original_score
        self.checks = {c.test_id: c.score for c in exercise.checks}
        self.maxima = {c.test_id: c.max_score for c in exercise.checks}
        self.applied: list[Adjustment] = []

    def apply(self, row: AdjustmentRow) -> None:
        """Override sets the points, delta adds them; the check stays in [0, its max] and the
        exercise in [0, its max], and what the adjustment really changed is recorded."""
        if row.check:
            now = self.checks[row.check]
            wanted = row.points if row.kind is Kind.OVERRIDE else now + row.points
            change = _clamp(wanted, self.maxima[row.check]) - now
        else:
            wanted = row.points if row.kind is Kind.OVERRIDE else self.total + row.points
            change = _clamp(wanted, self.exercise.max_score) - self.total
        change = _clamp(self.total + change, self.exercise.max_score) - self.total
        if row.check:
            self.checks[row.check] += change
        self.total += change
        self.applied.append(Adjustment(**row.decision(), change=round(change, 6), date=row.date))

    def result(self) -> ExerciseResult:
        return dataclasses.replace(self.exercise, adjustments=tuple(self.applied))


def _mismatch(result: SubmissionResult, row: AdjustmentRow) -> str:
    """Why a row does not apply to this student's result; empty when it does."""
    exercise = next((e for e in result.exercises if e.id == row.exercise), None)
    if exercise is None:
        graded = ", ".join(e.id for e in result.exercises)
        return f"exercise {row.exercise!r} is not in {row.student}'s results (graded: {graded})"
    if row.check and row.check not in {c.test_id for c in exercise.checks}:
        if not exercise.checks:
            why = exercise.note or "none ran"
            return f"check {row.check!r}: {row.exercise} has no checks for {row.student} ({why})"
        known = ", ".join(c.test_id for c in exercise.checks)
        return f"{row.exercise} has no check {row.check!r} (its checks: {known})"
    return ""


def _adjust(result: SubmissionResult, rows: Iterable[AdjustmentRow]
            ) -> tuple[SubmissionResult, list[Unmatched]]:
    """One student's result with their rows applied, starting from the graded checks."""
    ledgers = {e.id: _Ledger(e) for e in result.exercises}
    unmatched = []
    for row in rows:
        why = _mismatch(result, row)
        if why:
            unmatched.append(Unmatched(row, why))
        else:
            ledgers[row.exercise].apply(row)
    exercises = tuple(ledgers[e.id].result() for e in result.exercises)
    return dataclasses.replace(result, exercises=exercises), unmatched


def apply_adjustments(results: Sequence[SubmissionResult], rows: Sequence[AdjustmentRow]
                      ) -> tuple[list[SubmissionResult], list[Unmatched]]:
    """Applies instructor adjustments after grading, and returns the adjusted results (same order)
    and every row that matched nothing (unknown student, exercise or check), in file order.

    Each result starts again from its graded checks: adjustments already on it are replaced, so
    applying the same file to a fresh regrade, or twice, gives the same scores."""
    by_student: dict[str, list[AdjustmentRow]] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    known = {r.student for r in results}
    unmatched = [Unmatched(row, f"no student {row.student!r} in these results")
                 for row in rows if row.student not in known]
    adjusted = []
    for result in results:
        new, missed = _adjust(result, by_student.get(result.student or "", []))
        adjusted.append(new)
        unmatched.extend(missed)
    unmatched.sort(key=lambda u: u.row.line)
    return adjusted, unmatched


def adjust_result(result: SubmissionResult, rows: Sequence[AdjustmentRow]
                  ) -> tuple[SubmissionResult, list[Unmatched]]:
    """One student's result (the course server's case): rows naming other students are not
    this result's business and are not reported; its own rows that match nothing are."""
    return _adjust(result, [r for r in rows if r.student == result.student])


def apply_adjustments_file(results: Sequence[SubmissionResult], path: Path
                           ) -> tuple[list[SubmissionResult], list[Unmatched]]:
    """The one call `nnlab grade --adjustments FILE` needs: read, check, apply."""
    return apply_adjustments(results, read_adjustments(path))
