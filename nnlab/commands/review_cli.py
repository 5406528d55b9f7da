"""Click commands of instructor review: `nnlab similarity`."""
from __future__ import annotations

from pathlib import Path

import click


def _exercise_list(text: str | None) -> list[str] | None:
    from nnlab.errors import UsageError

    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids:
        raise UsageError("--exercises: give exercise ids separated by commas, e.g. my_linear,mlp")
    return ids


def run_similarity(class_dir: Path, out_dir: Path, exercises: str | None, threshold: float | None,
                   workers: int | None) -> None:
    """Compares the class, writes the csv, the pages and similarity.html, and says what it found."""
    from nnlab.errors import UsageError
    from nnlab.review import similarity
    from nnlab.review.pages import write_similarity_report

    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir}: exists and is not a folder")
    page, flagged = write_similarity_report(
        class_dir, out_dir, _exercise_list(exercises),
        similarity.FLAG_AT if threshold is None else threshold, workers=workers)
    pairs = sum(r.student_b != similarity.REFERENCE for r in flagged)
    references = len(flagged) - pairs
    click.echo(f"flagged: {pairs} pair(s) of students, {references} match(es) with the reference solution")
    click.echo(f"wrote {out_dir / 'similarity.csv'} and {page}")


def register(group: click.Group) -> None:
    """Adds the review commands to the `nnlab` group (imports nothing heavy)."""

    @group.command("similarity")
    @click.argument("class_dir", type=click.Path(path_type=Path))
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="Folder for similarity.csv, similarity.html and the pair pages.")
    @click.option("--exercises", default=None, metavar="ID,ID",
                  help="Compare these exercises (default: every exercise somebody handed in).")
    @click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
                  help="Flag pairs at or above this similarity (default 0.6).")
    @click.option("--workers", type=click.IntRange(1, 64), default=None,
                  help="Processes comparing exercises side by side (default: CPU count, at most 8).")
    def similarity_command(class_dir: Path, out_dir: Path, exercises: str | None,
                           threshold: float | None, workers: int | None) -> None:
        """Rank pairs of students by how alike their code is, per exercise; flag copies of
        each other and of the reference solution, with side-by-side pages."""
        run_similarity(class_dir, out_dir, exercises, threshold, workers)
