"""What a course's exercise still lacks before students see it: statement, points, rules."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

from nnlab.errors import ExerciseFormatError
from nnlab.grader.exercise import EXERCISES_DIR, Exercise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
TODO = "TODO"


def stub_from_solution(source: str, where: str = "solution.py") -> str:
    """The stub: each region from `# BEGIN SOLUTION` to `# END SOLUTION` (markers included)
    becomes `raise NotImplementedError` at the BEGIN marker's indentation."""
    out: list[str] = []
    begun: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if begun is not None:
                raise ExerciseFormatError(f"{where}:{number}: '{BEGIN}' inside the region begun at "
                                          f"line {begun}")
            begun = number
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}raise NotImplementedError\n")
        elif marker == END:
            if begun is None:
                raise ExerciseFormatError(f"{where}:{number}: '{END}' without a '{BEGIN}' before it")
            begun = None
        elif begun is None:
            out.append(line)
    if begun is not None:
        raise ExerciseFormatError(f"{where}:{begun}: '{BEGIN}' has no '{END}'")
    return "".join(out)


def public_names(source: str, where: str = "solution.py") -> list[str]:
    """The top-level classes and functions a submission must define (not `_private` ones)."""
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as exc:
        raise ExerciseFormatError(f"{where}: syntax error at line {exc.lineno}") from exc
    return [node.name for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and not node.name.startswith("_")]


def _flat(text: str) -> str:
    # Anchors are matched across line breaks and indentation, as the statement wraps them.
    return re.sub(r"\s+", " ", text).strip()


def _rule_notes(exercise: Exercise, statement: str) -> list[str]:
    table = exercise.folder / "rules.toml"
    if not table.is_file():
        return ["rules.toml: missing (each rule of the statement and the checks that can fail it)"]
    try:
        rules = tomllib.loads(table.read_text(encoding="utf-8")).get("rule", [])
    except tomllib.TOMLDecodeError as exc:
        return [f"rules.toml: not valid TOML ({exc})"]
    if not rules:
        return ["rules.toml: no [[rule]] yet (each rule of the statement, with its checks)"]
    notes: list[str] = []
    mapped: set[str] = set()
    check_ids = {c.test_id for c in exercise.checks}
    for rule in rules:
        anchor = str(rule.get("anchor", ""))
        if not anchor or _flat(anchor) not in _flat(statement):
            notes.append(f"rules.toml: anchor not found in statement.md: {anchor!r}")
        checks = [str(c) for c in rule.get("checks", [])]
        notes += [f"rules.toml: rule {anchor!r} names {c}, which is not a check"
                  for c in checks if c not in check_ids]
        mapped.update(checks)
    notes += [f"rules.toml: check {c} maps to no rule" for c in sorted(check_ids - mapped)]
    return notes


def authoring_notes(exercise: Exercise) -> list[str]:
    """What the author still has to write: a course's exercise only (the built-ins' rules are
    kept in step by the project's own tests)."""
    if exercise.folder.parent.resolve() == EXERCISES_DIR.resolve():
        return []
    notes: list[str] = []
    statement = exercise.statement_path.read_text(encoding="utf-8")
    if TODO in statement:
        notes.append("statement.md: still holds TODO (write what to do, the contract, an example)")
    if TODO in exercise.title:
        notes.append("exercise.toml: the title still holds TODO")
    if any(TODO in c.name for c in exercise.checks):
        notes.append("test_*.py: placeholder checks left; write the checks and their [points]")
    return notes + _rule_notes(exercise, statement)


def read_solution(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExerciseFormatError(f"{path}: cannot be read ({exc})") from None
