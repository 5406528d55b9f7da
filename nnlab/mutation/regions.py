"""What of a solution a student writes, and so what is mutated: its marked regions, else its functions."""
from __future__ import annotations

import ast
from dataclasses import dataclass

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
"""The markers `nnlab new exercise --from` turns into the stub's `raise NotImplementedError`."""


@dataclass(frozen=True)
class Region:
    """Statements a student writes, in one function (`where`: 'Class.method', 'fn' or '<module>')."""

    where: str
    body: tuple[ast.stmt, ...]


def _marked_lines(text: str) -> list[tuple[int, int]]:
    """(BEGIN line, END line) of every marked region; an unmatched marker ends the list."""
    spans: list[tuple[int, int]] = []
    begun: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == BEGIN and begun is None:
            begun = number
        elif line.strip() == END and begun is not None:
            spans.append((begun, number))
            begun = None
    return spans


def _nested_bodies(statement: ast.stmt) -> list[list[ast.stmt]]:
    bodies = [getattr(statement, field, None) for field in ("body", "orelse", "finalbody")]
    bodies += [handler.body for handler in getattr(statement, "handlers", [])]
    bodies += [case.body for case in getattr(statement, "cases", [])]
    return [b for b in bodies if isinstance(b, list) and b and isinstance(b[0], ast.stmt)]


def _qualified(where: str, name: str) -> str:
    return name if where == "<module>" else f"{where}.{name}"


def _marked_regions(tree: ast.Module, spans: list[tuple[int, int]]) -> list[Region]:
    def inside(statement: ast.stmt) -> bool:
        return any(begin < statement.lineno and statement.end_lineno is not None
                   and statement.end_lineno < end for begin, end in spans)

    found: list[Region] = []

    def visit(body: list[ast.stmt], where: str) -> None:
        chosen = tuple(s for s in body if inside(s))
        if chosen:
            found.append(Region(where, chosen))
        for statement in body:
            if inside(statement):
                continue
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(statement.body, _qualified(where, statement.name))
            else:
                for nested in _nested_bodies(statement):
                    visit(nested, where)

    visit(tree.body, "<module>")
    return found


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _functions(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Top-level functions and the methods of top-level classes, by qualified name."""
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef):
            found += [(f"{node.name}.{item.name}", item) for item in node.body
                      if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return found


def _dump(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return ast.dump(ast.Module(body=_without_docstring(function.body), type_ignores=[]))


def _function_regions(tree: ast.Module, stub: str | None) -> list[Region]:
    """Every function's body but those the stub gives whole (the statement's given code)."""
    given: dict[str, str] = {}
    if stub is not None:
        try:
            given = {name: _dump(f) for name, f in _functions(ast.parse(stub))}
        except SyntaxError:
            given = {}
    regions = []
    for name, function in _functions(tree):
        body = _without_docstring(function.body)
        if body and given.get(name) != _dump(function):
            regions.append(Region(name, tuple(body)))
    return regions


def student_regions(tree: ast.Module, text: str, stub: str | None = None) -> list[Region]:
    """The `# BEGIN SOLUTION` ... `# END SOLUTION` regions when the solution has them; else the
    bodies of its functions and methods (imports, constants and given helpers stay as they are)."""
    spans = _marked_lines(text)
    return _marked_regions(tree, spans) if spans else _function_regions(tree, stub)
