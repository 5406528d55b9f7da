"""Finds banned APIs in a submission's source: every spelling resolved to the object it names."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from nnlab.wire.names import resolve_dotted

# Only these roots are ever imported by the grader to resolve a name; a student's
# `import evil` is never executed here.
_RESOLVABLE_ROOTS = {"torch", "torchvision"}
# Ways to reach any object by a computed name: they can hide a banned call from this scan.
_DYNAMIC = {"__import__", "eval", "exec", "compile", "globals", "vars", "__builtins__",
            "importlib", "builtins", "sys"}


@dataclass(frozen=True)
class Violation:
    """A banned name used at a line of the submission."""

    line: int
    what: str
    """The banned API (or the dynamic construct) found."""

    def describe(self) -> str:
        return f"line {self.line}: {self.what}"


class _Scanner(ast.NodeVisitor):
    def __init__(self, banned: dict[str, Any], check_dynamic: bool) -> None:
        self.banned = banned  # dotted name -> resolved object (or None)
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.check_dynamic = check_dynamic
        self.violations: list[Violation] = []

    # -- name resolution -------------------------------------------------------------
    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            for module in self.star_modules:
                obj = resolve_dotted(module, _RESOLVABLE_ROOTS)
                if obj is not None and hasattr(obj, node.id):
                    return f"{module}.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "getattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base = self.dotted(node.args[0])
            return f"{base}.{node.args[1].value}" if base else None
        return None

    def banned_name(self, dotted: str) -> str | None:
        obj = resolve_dotted(dotted, _RESOLVABLE_ROOTS)
        for name, banned_obj in self.banned.items():
            if dotted == name or dotted.startswith(name + "."):
                return name
            if obj is not None and banned_obj is not None and obj is banned_obj:
                return name
        return None

    def flag(self, node: ast.AST, what: str) -> None:
        violation = Violation(getattr(node, "lineno", 0), what)
        if violation not in self.violations:
            self.violations.append(violation)

    # -- visitors --------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root
            self.check_import(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.append(module)
                continue
            full = f"{module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            self.check_import(node, full)

    def check_import(self, node: ast.AST, dotted: str) -> None:
        hit = self.banned_name(dotted)
        if hit:
            self.flag(node, f"imports {dotted}, which this exercise bans")
        if self.check_dynamic and dotted.split(".")[0] in {"importlib", "builtins", "ctypes"}:
            self.flag(node, f"imports {dotted}, which could hide a banned call")

    def visit_Assign(self, node: ast.Assign) -> None:
        target = self.dotted(node.value)
        if target:
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.aliases[t.id] = target
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        dotted = self.dotted(node)
        if dotted and self.banned_name(dotted):
            self.flag(node, f"uses {dotted}, which this exercise bans")
            return
        if self.check_dynamic and dotted and (".ops." in f"{dotted}." and dotted.startswith("torch.ops")
                                              or dotted.startswith("torch._C")):
            self.flag(node, f"uses {dotted}, a low-level operator path this exercise does not allow")
            return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        dotted = self.dotted(node)
        if dotted and self.banned_name(dotted):
            self.flag(node, f"uses {dotted}, which this exercise bans")
        elif self.check_dynamic and node.id in _DYNAMIC and node.id not in self.aliases:
            self.flag(node, f"uses {node.id}, which could hide a banned call")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2:
            name_arg = node.args[1]
            base = self.dotted(node.args[0])
            if isinstance(name_arg, ast.Constant):
                dotted = self.dotted(node)
                if dotted and self.banned_name(dotted):
                    self.flag(node, f"uses {dotted}, which this exercise bans")
            elif self.check_dynamic and base and base.split(".")[0] in _RESOLVABLE_ROOTS:
                self.flag(node, f"looks up a computed name on {base}, which could hide a banned call")
        self.generic_visit(node)


def find_banned(source: str, banned: tuple[str, ...] | list[str],
                check_dynamic: bool = True) -> list[Violation]:
    """Violations in `source` (which must parse); empty when nothing is banned."""
    if not banned:
        return []
    tree = ast.parse(source)
    resolved = {name: resolve_dotted(name, _RESOLVABLE_ROOTS) for name in banned}
    scanner = _Scanner(resolved, check_dynamic)
    # Two passes so an alias assigned below its first use is still known.
    scanner.visit(tree)
    scanner.violations.clear()
    scanner.visit(tree)
    return sorted(scanner.violations, key=lambda v: v.line)
