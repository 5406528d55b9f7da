"""Similarity results as files: similarity.csv, a side-by-side page per flagged pair, the section."""
from __future__ import annotations

import csv
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from nnlab.review.similarity import (FLAG_AT, REFERENCE, Document, ExerciseComparison, compare_class,
                                     matched_regions)

TEMPLATES_DIR = Path(__file__).parent / "templates"
CSV_FLOOR = 0.1
"""Pairs under this similarity are left out of similarity.csv (a class of 300 has 44,850 pairs per
exercise); the distribution on the page still counts every pair."""
MAX_PAGES = 50
"""Side-by-side pages per exercise at most; further flagged pairs are still listed in the csv."""
PAGES_FOLDER = "similarity"
CSV_COLUMNS = ("exercise", "student_a", "student_b", "similarity", "flagged")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_BINS = 10


@dataclass(frozen=True)
class PairRow:
    """One line of similarity.csv, and of the flagged tables."""

    exercise: str
    """The exercise id."""
    student_a: str
    """A student (the first in sort order of a pair)."""
    student_b: str
    """Another student, or REFERENCE."""
    similarity: float
    """0..1, rounded to three decimals."""
    flagged: bool
    """At or above the flag threshold."""
    page: str = ""
    """The side-by-side page, relative to the output folder; empty when none was written."""


@dataclass(frozen=True)
class Distribution:
    """What is normal for one exercise: every pair's similarity, summarized."""

    exercise: str
    """The exercise id."""
    files: int
    """Students who handed in a file for it."""
    pairs: int
    """Pairs of those students: every one is in the histogram."""
    median: float
    """The median pair's similarity: what is normal for this exercise."""
    p95: float
    """95% of pairs are at or under this."""
    highest: float
    """The most similar pair's score."""
    bins: tuple[int, ...]
    """Pairs per tenth of the 0..1 range."""
    bar_heights: tuple[float, ...]
    """Each bin's bar height in 0..1, on a log scale so a handful of outliers stays visible next
    to thousands of ordinary pairs."""
    flagged: int
    """Student pairs at or above the threshold."""
    reference_flagged: int
    """Students at or above the threshold against the reference solution."""
    pages_left_out: int
    """Flagged pairs beyond MAX_PAGES, listed only in the csv."""


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["counted"] = counted
    return env


def counted(count: int, noun: str) -> str:
    """'1 pair', '2 pairs': a count with its noun, singular or plural."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name)[:60] or "_"


def page_name(exercise: str, student_a: str, student_b: str) -> str:
    """A pair page's path under the output folder: readable, and distinct even when two student
    ids differ only in characters a file name cannot hold."""
    digest = hashlib.blake2s(f"{exercise}\0{student_a}\0{student_b}".encode(), digest_size=4).hexdigest()
    return f"{PAGES_FOLDER}/{_safe(exercise)}/{_safe(student_a)}__{_safe(student_b)}_{digest}.html"


def _rows(comparison: ExerciseComparison, threshold: float) -> list[PairRow]:
    """The exercise's pairs at CSV_FLOOR and above, and its matches with the reference."""
    owners = [d.owner for d in comparison.documents]
    rows = []
    first, second = np.nonzero(np.triu(comparison.matrix >= CSV_FLOOR, k=1))
    for i, j in zip(first.tolist(), second.tolist()):
        a, b = sorted((owners[i], owners[j]))
        score = round(float(comparison.matrix[i, j]), 3)
        rows.append(PairRow(comparison.exercise, a, b, score, score >= threshold))
    for owner, score in zip(owners, comparison.to_reference.tolist()):
        if score >= CSV_FLOOR:
            rows.append(PairRow(comparison.exercise, owner, REFERENCE, round(score, 3), score >= threshold))
    return rows


def _distribution(comparison: ExerciseComparison, rows: list[PairRow], left_out: int) -> Distribution:
    scores = comparison.pair_similarities()
    bins = np.histogram(scores, bins=_BINS, range=(0.0, 1.0))[0] if len(scores) else np.zeros(_BINS, int)
    top = float(np.log1p(bins.max())) or 1.0
    return Distribution(
        exercise=comparison.exercise, files=len(comparison.documents), pairs=len(scores),
        median=float(np.median(scores)) if len(scores) else 0.0,
        p95=float(np.percentile(scores, 95)) if len(scores) else 0.0,
        highest=float(scores.max()) if len(scores) else 0.0,
        bins=tuple(int(b) for b in bins), bar_heights=tuple(float(np.log1p(b)) / top for b in bins),
        flagged=sum(r.flagged and r.student_b != REFERENCE for r in rows),
        reference_flagged=sum(r.flagged and r.student_b == REFERENCE for r in rows),
        pages_left_out=left_out)


def _code_lines(document: Document, regions: list[tuple[int, int]]) -> list[tuple[int, str, int]]:
    """Each source line with its number and the region (0-based, -1 for none) it belongs to."""
    owner_of: dict[int, int] = {}
    for index, (first, last) in enumerate(regions):
        for line in range(first, last + 1):
            owner_of.setdefault(line, index)
    text = document.stream.text.split("\n")
    return [(n, line.rstrip("\r"), owner_of.get(n, -1)) for n, line in enumerate(text, start=1)]


def _pair_page(comparison: ExerciseComparison, row: PairRow, back_to: str) -> str:
    by_owner = {d.owner: d for d in comparison.documents}
    a = by_owner[row.student_a]
    b = comparison.reference if row.student_b == REFERENCE else by_owner[row.student_b]
    assert b is not None
    regions = sorted(matched_regions(comparison, a, b), key=lambda r: -r.weight)
    depth = "../" * page_name(row.exercise, row.student_a, row.student_b).count("/")
    return _environment().get_template("pair.html.j2").render(
        row=row, regions=regions, reference=REFERENCE, back=depth + back_to,
        a_lines=_code_lines(a, [r.a_lines for r in regions]),
        b_lines=_code_lines(b, [r.b_lines for r in regions]),
        a_name=a.path.name, b_name=b.path.name)


def _write_pages(comparison: ExerciseComparison, rows: list[PairRow], out_dir: Path,
                 back_to: str) -> tuple[list[PairRow], int]:
    """Writes the pages of the exercise's most similar flagged pairs (MAX_PAGES of each kind);
    returns the rows with their page names, and how many flagged pairs got no page."""
    placed: list[PairRow] = []
    left_out = 0
    written = {"pair": 0, "reference": 0}
    for row in sorted(rows, key=lambda r: -r.similarity):
        kind = "reference" if row.student_b == REFERENCE else "pair"
        if row.flagged and written[kind] < MAX_PAGES:
            name = page_name(row.exercise, row.student_a, row.student_b)
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_pair_page(comparison, row, back_to), encoding="utf-8")
            written[kind] += 1
            row = PairRow(row.exercise, row.student_a, row.student_b, row.similarity, True, name)
        elif row.flagged:
            left_out += 1
        placed.append(row)
    return placed, left_out


def write_csv(rows: Sequence[PairRow], path: Path) -> None:
    """similarity.csv: highest first; ties in exercise, then student order."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([row.exercise, row.student_a, row.student_b, f"{row.similarity:.3f}",
                             "yes" if row.flagged else ""])


def _write(comparisons: Sequence[ExerciseComparison], out_dir: Path, threshold: float,
           back_to: str, heading: bool = True) -> tuple[Markup, list[PairRow]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    order = {c.exercise: n for n, c in enumerate(comparisons)}
    every: list[PairRow] = []
    distributions = []
    for comparison in comparisons:
        rows, left_out = _write_pages(comparison, _rows(comparison, threshold), out_dir, back_to)
        every.extend(rows)
        distributions.append(_distribution(comparison, rows, left_out))
    every.sort(key=lambda r: (-r.similarity, order[r.exercise], r.student_a, r.student_b))
    write_csv(every, out_dir / "similarity.csv")
    flagged = [r for r in every if r.flagged]
    section = Markup(_environment().get_template("section.html.j2").render(
        distributions=distributions, threshold=threshold, csv_floor=CSV_FLOOR, max_pages=MAX_PAGES,
        heading=heading,
        pairs=[r for r in flagged if r.student_b != REFERENCE],
        references=[r for r in flagged if r.student_b == REFERENCE],
        has_reference=any(c.reference is not None for c in comparisons)))
    return section, flagged


def write_similarity(comparisons: Sequence[ExerciseComparison], out_dir: Path,
                     threshold: float = FLAG_AT, back_to: str = "index.html", heading: bool = True) -> Markup:
    """Writes OUT_DIR/similarity.csv and the pair pages under OUT_DIR/similarity/, and returns
    the report section (links relative to OUT_DIR; pages link back to `back_to`; `heading`
    False leaves out its own "Code similarity" title, for a report that adds one)."""
    return _write(comparisons, out_dir, threshold, back_to, heading)[0]


def similarity_section(class_dir: Path, exercise_ids: Sequence[str] | None, out_dir: Path,
                       threshold: float = FLAG_AT, workers: int | None = None,
                       heading: bool = True) -> Markup:
    """For `nnlab grade`: compares the class, writes OUT_DIR/similarity.csv and the pair pages
    under OUT_DIR/similarity/ (they link back to OUT_DIR/index.html), and returns the section
    to put in the class report (`heading=False` when the report gives it a title itself)."""
    return write_similarity(compare_class(class_dir, exercise_ids, workers), out_dir, threshold,
                            heading=heading)


def write_similarity_report(class_dir: Path, out_dir: Path, exercise_ids: Sequence[str] | None = None,
                            threshold: float = FLAG_AT, workers: int | None = None
                            ) -> tuple[Path, list[PairRow]]:
    """`nnlab similarity`: the csv, the pair pages and OUT_DIR/similarity.html (not index.html,
    so that it never replaces a class report written to the same folder). Returns the page and
    the flagged rows."""
    import nnlab

    comparisons = compare_class(class_dir, exercise_ids, workers)
    section, flagged = _write(comparisons, out_dir, threshold, back_to="similarity.html")
    page = out_dir / "similarity.html"
    page.write_text(_environment().get_template("index.html.j2").render(
        section=section, class_dir=str(class_dir), version=nnlab.__version__), encoding="utf-8")
    return page, flagged
