"""What a course's exercise still lacks before students see it: statement, points, rules."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nnlab.errors import ExerciseFormatError
from nnlab.grader.exercise import EXERCISES_DIR, Exercise

if TYPE_CHECKING:
    from nnlab.grader.launcher import WorkerLauncher

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
TODO = "TODO"
_EXPECT = re.compile(r"^# nnlab-expect:[ \t]*(.*)$", re.MULTILINE)


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


def _mutant_issue(exercise: Exercise, path: Path, launcher: WorkerLauncher, seed: int) -> str:
    """'' when the mutant scores as its `# nnlab-expect:` line says, else what went wrong."""
    from nnlab.grader.pipeline import grade_file
    from nnlab.results import Outcome

    source = path.read_text(encoding="utf-8")
    found = _EXPECT.search(source)
    expected = found.group(1).split() if found else []
    if not expected:
        return (f"mutants/{path.name}: no '# nnlab-expect: test_id ...' line (or "
                "'# nnlab-expect: full' for a right variant)")
    result = grade_file(exercise, source, f"{exercise.id}.py", launcher, seed, include_hidden=True).result
    if expected == ["full"]:
        lost = [c.test_id for c in result.checks if c.outcome is not Outcome.PASSED]
        return f"mutants/{path.name}: a right variant lost {', '.join(lost)}" if lost else ""
    by_id = {c.test_id: c for c in result.checks}
    unknown = [t for t in expected if t not in by_id]
    if unknown:
        return f"mutants/{path.name}: expects {', '.join(unknown)}, which is not a check"
    escaped = [t for t in expected if by_id[t].outcome is Outcome.PASSED]
    return f"mutants/{path.name}: not caught by {', '.join(escaped)}" if escaped else ""


def mutant_issues(exercise: Exercise, launcher: WorkerLauncher, seed: int) -> list[str]:
    """Each wrong variant in the exercise's mutants/ loses the checks it names; each right one
    (`# nnlab-expect: full`) scores full marks."""
    paths = sorted((exercise.folder / "mutants").glob("*.py"))
    return [issue for issue in (_mutant_issue(exercise, p, launcher, seed) for p in paths) if issue]
