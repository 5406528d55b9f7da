"""Finds and reads submission files (ID.py or ID.ipynb), never following links outside."""
from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from nnlab.errors import SubmissionError, UsageError
from nnlab.grader.exercise import Exercise
from nnlab.notebook import MAX_NOTEBOOK_BYTES, NotebookUnreadable, read_code
from nnlab.results import ExerciseResult

MAX_SOURCE_BYTES = 1_000_000
MAX_NESTING = 100
"""The deepest syntax tree read: the grader's own scans walk the tree recursively, and honest
code nests a few dozen levels at most (a sum of 500 terms is 500 levels deep)."""
SUFFIXES = (".py", ".ipynb")
"""The forms a submission for exercise ID may take: ID.py, or a Jupyter notebook ID.ipynb."""


def max_bytes(name: str) -> int:
    """The size limit of a submission file: a notebook also carries its outputs."""
    return MAX_NOTEBOOK_BYTES if name.endswith(".ipynb") else MAX_SOURCE_BYTES


@dataclass(frozen=True)
class SubmissionFile:
    """One file handed in for one exercise, or the reason it cannot be read."""

    exercise_id: str
    path: Path
    source: str | None
    """The Python to grade (a notebook's code cells, in order); None when `problem` says why
    it could not be read."""
    problem: str = ""
    """Why the file cannot be graded, for the student ('' when it can)."""
    note: str = ""
    """What the student should know although the file was read: the IPython lines a
    notebook held that were left out."""
    origins: tuple[tuple[int, int], ...] = ()
    """For a notebook: the (cell, line in the cell) of each line of `source`; () for ID.py."""

    def _where(self, number: str) -> str:
        line = int(number)
        if 1 <= line <= len(self.origins):
            cell, in_cell = self.origins[line - 1]
            return f"cell {cell}, line {in_cell}"
        return f"line {line}"

    def relocate(self, text: str) -> str:
        """`text` with the places in `source` ('my_linear.py, line 12', 'at line 12') turned
        into the notebook's own ('my_linear.ipynb, cell 3, line 2'); unchanged for ID.py."""
        if not self.origins:
            return text
        graded = re.escape(f"{self.exercise_id}.py")  # the name the grader gives the code
        shown = self.path.name
        text = re.sub(rf"{graded}, line (\d+)", lambda m: f"{shown}, {self._where(m[1])}", text)
        text = re.sub(rf"{graded}( does not parse(?: as Python)?: .*) at line (\d+)",
                      lambda m: f"{shown}{m[1]} at {self._where(m[2])}", text)
        return re.sub(rf"banned API in {graded}: ([^\n]*)",
                      lambda m: f"banned API in {shown}: "
                                + re.sub(r"line (\d+)", lambda n: self._where(n[1]), m[1]), text)

    def annotate(self, result: ExerciseResult) -> ExerciseResult:
        """The result as the student should read it: places in the notebook's cells and the
        note on left-out lines. Applying it twice changes nothing more."""
        if not self.origins and not self.note:
            return result
        checks = tuple(dataclasses.replace(c, message=self.relocate(c.message))
                       for c in result.checks)
        note = self.relocate(result.note)
        if self.note and self.note not in note:
            note = f"{note}\n{self.note}" if note else self.note
        return dataclasses.replace(result, checks=checks, note=note)


def _decode(path: Path, raw: bytes) -> tuple[str | None, str]:
    if b"\x00" in raw:
        kind = "notebook" if path.name.endswith(".ipynb") else "Python source"
        return None, f"{path.name} is a binary file, not a {kind}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    if not text.strip():
        return None, f"{path.name} is empty"
    return text, ""


def _too_deep(tree: ast.AST) -> int | None:
    """The line of a node more than MAX_NESTING levels deep, or None; found without
    recursing (that is what a deep tree breaks)."""
    stack = [(tree, 1, 1)]
    while stack:
        node, depth, line = stack.pop()
        line = getattr(node, "lineno", line)
        if depth > MAX_NESTING:
            return line
        stack.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return None


def parse_problem(source: str, filename: str) -> str:
    """Why `source` cannot be graded as Python ('' when it can): what `compile` refuses, or
    what the parser gives up on (nesting that exhausts its stack or the grader's)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a SyntaxWarning is not a reason to refuse
            tree = ast.parse(source, filename=filename)
            deep = _too_deep(tree)
            if deep is not None:
                return (f"{filename} does not parse as Python: nested more than {MAX_NESTING} "
                        f"levels deep (split the expression up) at line {deep}")
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{filename} does not parse as Python: {exc.msg} at line {exc.lineno}"
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, lone surrogates, depth
        what = "it nests too deeply" if isinstance(exc, (RecursionError, MemoryError)) else \
            str(exc).encode("utf-8", "backslashreplace").decode("utf-8")[:200]
        return f"{filename} does not parse as Python: {what}"
    return ""


def from_bytes(exercise_id: str, path: Path, raw: bytes) -> SubmissionFile:
    """The submission held in `raw` (the content of `path`): Python, or a notebook's code.

    The one reading of a file for grading: the course server accepts an upload only when this
    gives it a source, so whatever the server accepts, the grader reads.
    """
    limit = max_bytes(path.name)
    if len(raw) > limit:
        return SubmissionFile(exercise_id, path, None,
                              f"{path.name} is {len(raw):,} bytes; the limit is {limit:,}")
    text, problem = _decode(path, raw)
    if text is None:
        return SubmissionFile(exercise_id, path, None, problem)
    if not path.name.endswith(".ipynb"):
        return _parsed(SubmissionFile(exercise_id, path, text))
    try:
        code = read_code(text, path.name)
    except NotebookUnreadable as exc:
        return SubmissionFile(exercise_id, path, None, str(exc))
    if not code.python_lines:
        return SubmissionFile(exercise_id, path, None,
                              f"{path.name} has no Python in its code cells")
    if len(code.source.encode("utf-8")) > MAX_SOURCE_BYTES:
        return SubmissionFile(exercise_id, path, None,
                              f"the code cells of {path.name} hold more than "
                              f"{MAX_SOURCE_BYTES:,} bytes of Python")
    return _parsed(SubmissionFile(exercise_id, path, code.source, note=code.note(path.name),
                                  origins=code.origins))


def _parsed(file: SubmissionFile) -> SubmissionFile:
    """`file`, or the same without its source when that does not parse (named after the file
    handed in, the place given in the notebook's cells for a notebook)."""
    graded = f"{file.exercise_id}.py"
    problem = parse_problem(file.source or "", graded)
    if not problem:
        return file
    problem = file.relocate(problem)
    if problem.startswith(f"{graded} "):  # a message without a line to relocate
        problem = file.path.name + problem[len(graded):]
    return dataclasses.replace(file, source=None, problem=problem)


def read_file(exercise_id: str, path: Path, root: Path | None = None) -> SubmissionFile:
    """Reads one submission file; every problem is a message for the student, not an exception."""
    if path.is_symlink():
        target = path.resolve()
        if root is None or not target.is_relative_to(root.resolve()):
            return SubmissionFile(exercise_id, path, None, f"{path.name} is a link to a file "
                                  "outside the submission; links are not followed")
    if path.is_dir():
        return SubmissionFile(exercise_id, path, None, f"{path.name} is a folder, not a file")
    if not path.is_file():
        return SubmissionFile(exercise_id, path, None, f"{path.name} is not a regular file")
    size = path.stat().st_size
    limit = max_bytes(path.name)
    if size > limit:
        return SubmissionFile(exercise_id, path, None,
                              f"{path.name} is {size:,} bytes; the limit is {limit:,}")
    return from_bytes(exercise_id, path, path.read_bytes())


def _in_folder(folder: Path, exercise_id: str) -> SubmissionFile | None:
    present = [folder / f"{exercise_id}{suffix}" for suffix in SUFFIXES]
    present = [p for p in present if p.exists() or p.is_symlink()]
    if len(present) > 1:
        # Which one is the answer is the student's call, not the grader's guess.
        names = " and ".join(p.name for p in present)
        return SubmissionFile(exercise_id, present[0], None,
                              f"both {names} are in {folder.name or folder}: keep only the one "
                              f"to grade (move the other out of the folder)")
    return read_file(exercise_id, present[0], root=folder) if present else None


def collect(path: Path, catalogue: tuple[Exercise, ...]) -> list[SubmissionFile]:
    """The submission files at `path` (a file `ID.py` / `ID.ipynb`, or a folder of them),
    in catalogue order."""
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file or folder")
    known = {e.id: e for e in catalogue}
    if path.is_dir() and not path.is_symlink():
        found = [_in_folder(path, exercise.id) for exercise in catalogue]
        return [f for f in found if f is not None]
    stem, suffix = path.stem, path.suffix
    if suffix not in SUFFIXES or stem not in known:
        raise UsageError(f"{path}: a submission file is named after its exercise, e.g. "
                         f"my_linear.py or my_linear.ipynb (known: {', '.join(known)})")
    return [read_file(stem, path, root=path.parent)]


def require_readable(files: list[SubmissionFile], path: Path) -> None:
    if not files:
        raise SubmissionError(f"{path}: no submission files found (expected files like "
                              f"my_linear.py or my_linear.ipynb)")
