"""canvas.csv: the class's scores in the column layout Canvas's gradebook import reads."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from nnlab.results import SubmissionResult
from nnlab.reports.summaries import column_ids, student_label

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
"""Canvas's fixed leading columns; assignment columns follow."""
POINTS_POSSIBLE = "Points Possible"


def _points(value: float) -> str:
    """A score as Canvas reads it: '7', '7.5' (no '7.0', no exponent)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def canvas_rows(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> list[list[str]]:
    """The header, the Points Possible row, then one row per student.

    Each exercise is one assignment column named by its id (stable, so a second import
    updates the same Canvas assignment). Canvas matches a row to a student by ID, SIS User
    ID or SIS Login ID; nnlab knows only its student id, so it fills both SIS columns with it
    and leaves Canvas's internal ID and the section empty. An exercise not submitted scores
    0, as everywhere in nnlab; one that was not graded for the student at all is left blank,
    which Canvas imports as "no grade" rather than zero.
    """
    ids = column_ids(exercise_ids)
    maxima: dict[str, float] = {}
    for r in results:
        for e in r.exercises:
            maxima.setdefault(e.id, e.max_score)
    rows = [[*IDENTITY_COLUMNS, *ids],
            [POINTS_POSSIBLE, "", "", "", "", *(_points(maxima[i]) if i in maxima else "" for i in ids)]]
    for r in results:
        scores = {e.id: e.score for e in r.exercises}
        label = student_label(r)
        rows.append([label, "", label, label, "",
                     *(_points(scores[i]) if i in scores else "" for i in ids)])
    return rows


def canvas_text(results: Sequence[SubmissionResult], exercise_ids: Sequence[str]) -> str:
    """canvas_rows(...) as CSV text: the one writer of canvas.csv, for a file and the course server."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(canvas_rows(results, exercise_ids))
    return buffer.getvalue()


def write_canvas_csv(results: Sequence[SubmissionResult], exercise_ids: Sequence[str], path: Path) -> None:
    """Writes canvas_text(...) to `path` as UTF-8."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canvas_text(results, exercise_ids).encode("utf-8"))
