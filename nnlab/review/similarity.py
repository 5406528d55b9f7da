"""Code similarity across a class: winnowed k-gram fingerprints, weighted by how rare they are."""
from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlab.errors import UsageError
from nnlab.review.given import exercise_given_runs, given_mask, mostly_given
from nnlab.review.tokens import TokenStream, normalize, read_source, top_level_names

# Fingerprinting follows MOSS (Schleimer, Wilkerson and Aiken, "Winnowing", SIGMOD 2003), written
# here rather than taken from copydetect: copydetect tokenizes with pygments into a character string
# (we need Python's own tokenizer, and token positions for the side-by-side pages), it compares
# files two at a time with no notion of how common a fingerprint is across a class, and without its
# optional C extension its winnowing is a Python loop per hash. The algorithm is a few lines of numpy.

K = 12
"""Tokens per k-gram. Shorter grams match idioms every solution has (`V = V . V ( V )`); longer
ones miss copies whose statements were shuffled. Chosen with benchmarks/similarity.py."""
WINDOW = 6
"""Winnowing window: every run of K + WINDOW - 1 shared tokens is sure to share a fingerprint."""
MIN_EVIDENCE = 4.0
"""Weighted fingerprints a file must have before its share of them means anything: a file with
two distinctive fingerprints could be half copied by chance."""
FLOOR_SHARE = 0.5
"""...and of the class's median file: a file much shorter than its classmates' holds too little
of its own for a share of it to mean copying."""
FLAG_AT = 0.6
"""Pairs at or above this similarity are flagged and get a side-by-side page."""
REFERENCE = "(reference)"
"""The `student_b` of a match with the reference solution."""

_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


@dataclass(frozen=True, eq=False)
class Document:
    """One file of one exercise, fingerprinted."""

    owner: str
    """The student id, or REFERENCE."""
    path: Path
    """The file that was read (`ID.py` or `ID.ipynb`)."""
    stream: TokenStream
    hashes: np.ndarray
    """The winnowed fingerprints (uint64) that count: none of the stub's k-grams."""
    starts: np.ndarray
    """The token index where each fingerprint's k-gram starts (parallel to `hashes`)."""

    @property
    def unique(self) -> np.ndarray:
        return np.unique(self.hashes)


@dataclass(frozen=True, eq=False)
class ExerciseComparison:
    """Every pair of one exercise's files, scored."""

    exercise: str
    """The exercise id."""
    documents: tuple[Document, ...]
    """The students' files, in student order."""
    reference: Document | None
    """The reference solution, when this installation has it."""
    matrix: np.ndarray
    """Similarity of document i to document j, 0..1, symmetric, zero on the diagonal."""
    to_reference: np.ndarray
    """Similarity of each document to the reference solution (zeros without one)."""
    vocabulary: np.ndarray
    """Sorted fingerprints seen in the class."""
    weights: np.ndarray
    """How much each fingerprint of `vocabulary` counts, 0..1 (see `weight_of`)."""

    def weight_of(self, hashes: np.ndarray) -> np.ndarray:
        """How much each fingerprint counts: 1 for one only a pair shares, falling to 0 for
        one the whole class shares; 1 for one no student has (only the reference)."""
        if len(self.vocabulary) == 0:
            return np.ones(len(hashes))
        at = np.clip(np.searchsorted(self.vocabulary, hashes), 0, len(self.vocabulary) - 1)
        known = self.vocabulary[at] == hashes
        return np.where(known, self.weights[at], 1.0)

    def pair_similarities(self) -> np.ndarray:
        """Every student pair's similarity, once each (the distribution of what is normal)."""
        upper = np.triu_indices(len(self.documents), k=1)
        return self.matrix[upper]


@lru_cache(maxsize=4096)
def _token_id(text: str) -> int:
    # crc32 rather than hash(): Python salts string hashes per process, and fingerprints must be
    # the same in every run so that similarity.csv can be reproduced.
    return zlib.crc32(text.encode("utf-8")) + 1


def kgram_hashes(tokens: Sequence[str], k: int | None = None) -> np.ndarray:
    """A mixed polynomial hash of every k tokens in a row (uint64; wrapping is intended)."""
    k = K if k is None else k
    count = len(tokens) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    ids = np.fromiter((_token_id(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    hashed = np.zeros(count, dtype=np.uint64)
    for offset in range(k):
        hashed = hashed * _BASE + ids[offset:offset + count]
    # Scramble the bits so that the minimum of a window is a fair draw, not the lowest token id.
    hashed ^= hashed >> np.uint64(31)
    hashed *= _MIX
    hashed ^= hashed >> np.uint64(29)
    return hashed


def winnow(hashes: np.ndarray, window: int | None = None) -> np.ndarray:
    """Robust winnowing: the rightmost minimal hash of every window, each position once."""
    window = WINDOW if window is None else window
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= window:
        return np.array([len(hashes) - 1 - int(np.argmin(hashes[::-1]))])
    windows = sliding_window_view(hashes, window)
    rightmost = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(np.arange(len(windows)) + rightmost)


def fingerprint(owner: str, path: Path, source: str, stub_hashes: np.ndarray,
                required: frozenset[str] | None = None,
                given: frozenset[tuple[str, ...]] = frozenset()) -> Document:
    """A file's fingerprints, less every k-gram the stub itself has (signatures, imports,
    `raise NotImplementedError`) and every k-gram mostly made of code the statement spells out
    (`given`, see nnlab.review.given): code a student was given is never evidence of copying.
    `required`: the module-level names the stub defines (see `normalize`)."""
    stream = normalize(source, required)
    hashes = kgram_hashes(stream.tokens)
    picked = winnow(hashes)
    selected = hashes[picked]
    keep = ~np.isin(selected, stub_hashes)
    if given:
        keep &= ~mostly_given(given_mask(stream, given), picked, K)
    return Document(owner, path, stream, selected[keep], picked[keep])


def _weights(document_frequency: np.ndarray, students: int) -> np.ndarray:
    """Inverse document frequency, scaled so a fingerprint two students share counts 1 and one
    the whole class shares counts 0: code every correct solution needs is no evidence."""
    if students <= 2:
        return np.ones(len(document_frequency))
    scaled = np.log(students / document_frequency) / math.log(students / 2)
    return np.clip(scaled, 0.0, 1.0)


def _shared_weight(doc_of: np.ndarray, column: np.ndarray, weight: np.ndarray, size: int) -> np.ndarray:
    """Sum over the fingerprints each pair of documents shares of their weight: a product of a
    documents x fingerprints 0/1 matrix with its weighted transpose, in column blocks so a
    large class never needs the whole matrix at once."""
    shared = np.zeros((size, size))
    columns = int(column.max()) + 1 if len(column) else 0
    block = 4096
    for first in range(0, columns, block):
        inside = (column >= first) & (column < first + block)
        width = min(block, columns - first)
        member = np.zeros((size, width), dtype=np.float32)
        member[doc_of[inside], column[inside] - first] = 1.0
        shared += (member * weight[first:first + width]) @ member.T
    return shared


def _similarity(shared: np.ndarray, own_a: np.ndarray, own_b: np.ndarray, floor: float) -> np.ndarray:
    """The weighted share of the smaller file found in the other: padding the copy with dead
    code does not dilute it; a file with little of its own is judged against `floor`."""
    denominator = np.maximum(np.minimum(own_a, own_b), floor)
    return np.clip(shared / denominator, 0.0, 1.0)


def compare_documents(exercise: str, documents: Sequence[Document],
                      reference: Document | None) -> ExerciseComparison:
    """Scores every pair of documents, and each one against the reference solution."""
    size = len(documents)
    uniques = [d.unique for d in documents]
    doc_of = np.repeat(np.arange(size), [len(u) for u in uniques])
    every = np.concatenate(uniques) if uniques else np.zeros(0, dtype=np.uint64)
    vocabulary, column, frequency = np.unique(every, return_inverse=True, return_counts=True)
    weights = _weights(frequency, size)
    own = np.bincount(doc_of, weights=weights[column], minlength=size)
    positive = own[own > 0]
    floor = max(MIN_EVIDENCE, FLOOR_SHARE * float(np.median(positive))) if len(positive) else MIN_EVIDENCE
    # Only fingerprints two files share and that still count can make a pair alike.
    useful = (frequency >= 2) & (weights > 0)
    renumber = np.cumsum(useful) - 1
    pick = useful[column]
    shared = _shared_weight(doc_of[pick], renumber[column[pick]], weights[useful], size)
    matrix = _similarity(shared, own[:, None], own[None, :], floor)
    np.fill_diagonal(matrix, 0.0)
    to_reference = np.zeros(size)
    if reference is not None:
        ref_unique = reference.unique
        ref_weights = np.ones(len(ref_unique))
        known = np.isin(ref_unique, vocabulary)
        ref_weights[known] = weights[np.searchsorted(vocabulary, ref_unique[known])]
        in_ref = np.isin(every, ref_unique)
        with_ref = np.bincount(doc_of, weights=weights[column] * in_ref, minlength=size)
        to_reference = _similarity(with_ref, own, np.full(size, ref_weights.sum()), floor)
    return ExerciseComparison(exercise, tuple(documents), reference, matrix, to_reference,
                              vocabulary, weights)


@dataclass(frozen=True)
class Region:
    """A stretch of code two files share, as source lines on each side."""

    a_lines: tuple[int, int]
    """First and last line in the first file."""
    b_lines: tuple[int, int]
    """First and last line in the second file."""
    weight: float
    """The weighted fingerprints it holds: how much of the score it explains."""


def _span(document: Document, first: int, last: int) -> tuple[int, int]:
    """Source lines from the k-gram starting at token `first` to the one starting at `last`."""
    lines = document.stream.lines
    end = min(last + K - 1, len(lines) - 1)
    return lines[first][0], lines[end][1]


def matched_regions(comparison: ExerciseComparison, a: Document, b: Document) -> list[Region]:
    """The shared fingerprints of two files that count, chained into regions where they follow
    each other on both sides (a copied block moved elsewhere is its own region)."""
    common, in_a, in_b = np.intersect1d(a.hashes, b.hashes, return_indices=True)
    weight = comparison.weight_of(common)
    hits = sorted((int(a.starts[i]), int(b.starts[j]), float(w))
                  for i, j, w in zip(in_a, in_b, weight) if w > 0)
    chains: list[list[tuple[int, int, float]]] = []
    for hit in hits:
        if chains:
            last = chains[-1][-1]
            step = hit[0] - last[0]
            if 0 < step <= K + WINDOW and abs(hit[1] - last[1] - step) <= K:
                chains[-1].append(hit)
                continue
        chains.append([hit])
    regions = []
    for chain in chains:
        b_starts = [h[1] for h in chain]
        regions.append(Region(_span(a, chain[0][0], chain[-1][0]),
                              _span(b, min(b_starts), max(b_starts)),
                              round(sum(h[2] for h in chain), 3)))
    return regions


def _student_folders(class_dir: Path) -> list[Path]:
    if not class_dir.is_dir():
        raise UsageError(f"{class_dir}: not a folder (expected CLASS_DIR/<student>/<ID>.py)")
    folders = sorted(p for p in class_dir.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    if not folders:
        raise UsageError(f"{class_dir}: no student folders (expected CLASS_DIR/<student>/<ID>.py)")
    return folders


def submission_file(folder: Path, exercise_id: str) -> Path | None:
    """A student's file for an exercise: `ID.py`, else `ID.ipynb`; links are not followed,
    since a link could point at another student's work or at the solutions."""
    for name in (f"{exercise_id}.py", f"{exercise_id}.ipynb"):
        candidate = folder / name
        if candidate.is_file() and not candidate.is_symlink():
            return candidate
    return None


def _exercise_ids(folders: list[Path], wanted: Sequence[str] | None) -> list[str]:
    from nnlab.grader.exercise import load_catalogue

    known = [e.id for e in load_catalogue()]
    if wanted:
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise UsageError(f"unknown exercise id(s): {', '.join(unknown)} (see `nnlab list`)")
        return list(dict.fromkeys(wanted))
    present = [i for i in known if any(submission_file(f, i) for f in folders)]
    if not present:
        raise UsageError("no student folder holds a file named after an exercise (e.g. my_linear.py)")
    return present


def _text(path: Path) -> str:
    """A file of the exercise as text; empty when this installation does not have it."""
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def compare_exercise(exercise_id: str, folders: Sequence[Path]) -> ExerciseComparison:
    """Fingerprints every student's file of one exercise (less its stub) and scores them."""
    from nnlab.grader.exercise import get_exercise, solution_file

    folder_of_exercise = get_exercise(exercise_id).folder
    stub_text = _text(folder_of_exercise / "stub.py")
    required = top_level_names(stub_text)
    stub_hashes = np.unique(kgram_hashes(normalize(stub_text, required).tokens))
    solution = solution_file(folder_of_exercise, exercise_id)  # a course's beside its checks
    given = exercise_given_runs(_text(folder_of_exercise / "statement.md"), stub_text, _text(solution))
    documents = []
    for folder in folders:
        path = submission_file(folder, exercise_id)
        if path is not None:
            documents.append(fingerprint(folder.name, path, read_source(path), stub_hashes, required,
                                         given))
    reference = (fingerprint(REFERENCE, solution, read_source(solution), stub_hashes, required, given)
                 if solution.is_file() else None)
    return compare_documents(exercise_id, documents, reference)


PARALLEL_FROM = 400
"""Files in a class from which exercises are compared in parallel processes: below it, starting
the processes costs more than it saves."""


def compare_class(class_dir: Path, exercise_ids: Sequence[str] | None = None,
                  workers: int | None = None) -> list[ExerciseComparison]:
    """Every exercise of a class folder (`CLASS_DIR/<student>/<ID>.py`), compared; by default
    the exercises somebody handed in, in catalogue order. Exercises are independent, so a large
    class spreads them over `workers` processes (default: the CPU count, at most 8)."""
    folders = _student_folders(class_dir)
    ids = _exercise_ids(folders, exercise_ids)
    files = sum(submission_file(f, i) is not None for f in folders for i in ids)
    workers = min(workers or os.cpu_count() or 1, 8, len(ids))
    if workers <= 1 or files < PARALLEL_FROM:
        return [compare_exercise(ex_id, folders) for ex_id in ids]
    # spawn, not fork: `nnlab grade` calls this with a Dask cluster's threads running, and a
    # forked child could inherit one of their locks held.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(compare_exercise, ids, [folders] * len(ids)))
