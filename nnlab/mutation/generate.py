"""Mutants of a solution: each a one-edit variant with a stable id, a readable diff, and no duplicate."""
from __future__ import annotations

import ast
import difflib
import hashlib
import re
from dataclasses import dataclass

from nnlab.errors import ExerciseFormatError
from nnlab.mutation.operators import EXPRESSION_OPERATORS, Edit, delete, deletable
from nnlab.mutation.regions import student_regions
from nnlab.mutation.spans import Source


@dataclass(frozen=True)
class Mutant:
    """One variant of the solution that differs from it in one place."""

    id: str
    """Stable across unrelated edits: a hash of operator, function, snippet before and after, and
    the occurrence of that same change in that function."""
    operator: str
    """arithmetic, comparison, constant, dim, keepdim, reduction, transpose, detach, inplace, statement."""
    where: str
    """The function it changes ('Class.method'), as written in the solution."""
    line: int
    """The solution's line where the change starts."""
    before: str
    """The changed expression or statement as the solution has it."""
    after: str
    """The same, mutated."""
    source: str
    """The whole mutant."""
    diff: str
    """A unified diff from the solution to the mutant."""


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def mutant_id(operator: str, where: str, before: str, after: str, occurrence: int) -> str:
    """8 hex digits; whitespace inside the snippets does not count."""
    key = "\0".join((operator, where, _flat(before), _flat(after), str(occurrence)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def _final_returns(tree: ast.Module) -> set[int]:
    return {id(node.body[-1]) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and isinstance(node.body[-1], ast.Return)}


def _edits(src: Source, stub: str | None, text: str) -> list[tuple[str, Edit]]:
    """Every edit the operators propose, in source order within each function."""
    finals = _final_returns(src.tree)
    edits: list[tuple[str, Edit]] = []
    for region in student_regions(src.tree, text, stub):
        for statement in region.body:
            for node in ast.walk(statement):  # breadth first: a call before its arguments
                if isinstance(node, ast.stmt) and deletable(node, id(node) in finals):
                    edits.append((region.where, delete(src, node)))
                for operator in EXPRESSION_OPERATORS:
                    edits += [(region.where, edit) for edit in operator(src, node)]
    return edits


def _diff(solution: str, mutant: str, mutant_name: str, filename: str) -> str:
    lines = difflib.unified_diff(solution.splitlines(keepends=True), mutant.splitlines(keepends=True),
                                 fromfile=filename, tofile=mutant_name, n=2)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _compiles(source: str, filename: str) -> ast.Module | None:
    try:
        tree = ast.parse(source, filename=filename)
        compile(tree, filename, "exec")
    except (SyntaxError, ValueError):
        return None
    return tree


def generate_mutants(solution: str, stub: str | None = None,
                     filename: str = "solution.py") -> tuple[Mutant, ...]:
    """The mutants of `solution` that compile and differ from it and from each other (as code,
    not as text), in the order of the changes' positions. `stub`: given code is not mutated."""
    try:
        src = Source(solution, filename)
    except SyntaxError as exc:
        raise ExerciseFormatError(f"{filename}: syntax error at line {exc.lineno}") from None
    seen = {ast.dump(src.tree)}
    occurrences: dict[tuple[str, str, str, str], int] = {}
    mutants: list[Mutant] = []
    for where, edit in _edits(src, stub, solution):
        start, end = src.start(edit.anchor), src.end(edit.anchor)
        before = src.span_text(start, end)
        after = src.span_text(start, edit.start) + edit.replacement + src.span_text(edit.end, end)
        source = src.replaced(edit.start, edit.end, edit.replacement)
        tree = _compiles(source, filename)
        if tree is None or ast.dump(tree) in seen:
            continue
        seen.add(ast.dump(tree))
        key = (edit.operator, where, _flat(before), _flat(after))
        occurrence = occurrences.get(key, 0)
        occurrences[key] = occurrence + 1
        ident = mutant_id(edit.operator, where, before, after, occurrence)
        line = solution.encode("utf-8")[:edit.start].count(b"\n") + 1
        mutants.append(Mutant(ident, edit.operator, where, line, before, after, source,
                              _diff(solution, source, f"mutant {ident}", filename)))
    return tuple(sorted(mutants, key=lambda m: (m.line, m.operator, m.id)))
