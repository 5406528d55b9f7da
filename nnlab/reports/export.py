"""Machine-readable exports of a graded class: results.json and scores.csv."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from nnlab.results import SubmissionResult
from nnlab.reports.summaries import score_table


def write_results_json(results: Sequence[SubmissionResult], path: Path) -> None:
    """Writes a JSON list with one `SubmissionResult.to_json()` object per student."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps([r.to_json() for r in results], indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def write_scores_csv(results: Sequence[SubmissionResult], exercise_ids: Sequence[str], path: Path) -> None:
    """Writes scores.csv: `student`, one score column per exercise id in order, then `total`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # An explicit "\n" keeps the file byte-identical across platforms (pandas defaults to os.linesep).
    score_table(results, exercise_ids).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
