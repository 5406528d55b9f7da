"""A solution's source as bytes with its ast: node positions as offsets, and the spans left alone."""
from __future__ import annotations

import ast
from typing import Protocol


class Located(Protocol):
    """A node with a place in the source: an expression, a statement, a keyword, an argument
    (ast.AST itself declares no position; a module, an operator or a context has none)."""

    @property
    def lineno(self) -> int: ...
    @property
    def col_offset(self) -> int: ...
    @property
    def end_lineno(self) -> int | None: ...
    @property
    def end_col_offset(self) -> int | None: ...


class Source:
    """The source being mutated. Offsets are in UTF-8 bytes, as the ast's column offsets are."""

    def __init__(self, text: str, filename: str = "solution.py") -> None:
        self.data = text.encode("utf-8")
        self.tree = ast.parse(text, filename=filename)
        self._lines = [0]
        for number, byte in enumerate(self.data):
            if byte == 0x0A:
                self._lines.append(number + 1)
        self._skipped: set[int] = set()
        self._mark_untouchable()
        self._parents = {id(child): node for node in ast.walk(self.tree)
                         for child in ast.iter_child_nodes(node)}
        self._parameters: dict[int, frozenset[str]] = {}
        for function in ast.walk(self.tree):  # outer first: an inner function's nodes get its own
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                arguments = function.args
                names = frozenset(a.arg for a in (*arguments.posonlyargs, *arguments.args,
                                                  *arguments.kwonlyargs, arguments.vararg,
                                                  arguments.kwarg) if a is not None)
                self._parameters.update((id(n), names) for n in ast.walk(function))

    def _mark_untouchable(self) -> None:
        # Docstrings and f-strings' parts: mutating them changes no behaviour worth testing.
        for node in ast.walk(self.tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                self._skipped.add(id(body[0].value))
            if isinstance(node, ast.JoinedStr):
                self._skipped.update(id(n) for n in ast.walk(node))

    def offset(self, line: int, column: int) -> int:
        return self._lines[line - 1] + column

    def start(self, node: Located) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: Located) -> int:
        # None only on a node built by hand; every node ast.parse gives has its end.
        if node.end_lineno is None or node.end_col_offset is None:
            raise ValueError(f"{type(node).__name__} has no end position")
        return self.offset(node.end_lineno, node.end_col_offset)

    def text(self, node: Located) -> str:
        return self.data[self.start(node):self.end(node)].decode("utf-8")

    def span_text(self, start: int, end: int) -> str:
        return self.data[start:end].decode("utf-8")

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(id(node))

    def context(self, node: ast.expr) -> ast.expr:
        """The expression holding the node (the node itself when a statement holds it): a lone
        `1` says too little to tell one mutant's id from another's."""
        parent = self._parents.get(id(node))
        if isinstance(parent, ast.keyword):  # `kernel_size=3`: the call it is passed to
            parent = self._parents.get(id(parent))
        return parent if isinstance(parent, ast.expr) else node

    def parameters(self, node: ast.AST) -> frozenset[str]:
        """The parameter names of the function the node is in."""
        return self._parameters.get(id(node), frozenset())

    def claim(self, node: ast.AST) -> None:
        """Leaves the node (and what it holds) to the operator that claimed it."""
        self._skipped.update(id(n) for n in ast.walk(node))

    def skipped(self, node: ast.AST) -> bool:
        return id(node) in self._skipped

    def replaced(self, start: int, end: int, replacement: str) -> str:
        """The whole source with bytes [start, end) replaced."""
        return (self.data[:start] + replacement.encode("utf-8") + self.data[end:]).decode("utf-8")
