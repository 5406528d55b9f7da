"""Every rule a statement states maps to checks that can fail it, and every check to a rule."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from nnlab.grader.exercise import EXERCISES_DIR, load_exercise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

EXERCISE_IDS = sorted(p.name for p in EXERCISES_DIR.iterdir() if (p / "exercise.toml").is_file())
KINDS = ("contract", "error", "pitfall", "timing")


@dataclass(frozen=True)
class Rule:
    """One row of an exercise's rules.toml."""

    kind: str
    """contract (a bullet of the contract), error (a promised exception), pitfall or timing."""
    anchor: str
    """Text of the statement that states the rule (compared with runs of whitespace as one space)."""
    checks: tuple[str, ...]
    """The check test ids that can fail it."""


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_rules(path: Path) -> list[Rule]:
    """The rules of one table; a malformed row is an error naming it."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(table) - {"rule"}
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {sorted(unknown)}")
    rules = []
    for number, row in enumerate(table.get("rule", []), start=1):
        kind, anchor, checks = row.get("kind"), row.get("anchor"), row.get("checks")
        if kind not in KINDS or not isinstance(anchor, str) or not anchor.strip() \
                or not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise ValueError(f"{path.name}: rule {number} needs kind (one of {KINDS}), a non-empty "
                             "anchor and a list of check ids")
        rules.append(Rule(kind, anchor, tuple(checks)))
    return rules


def disagreements(statement: str, check_ids: set[str], rules: list[Rule]) -> list[str]:
    """Everything on which a statement, its checks and its rules table disagree."""
    problems = []
    text = _flat(statement)
    mapped: set[str] = set()
    for rule in rules:
        if _flat(rule.anchor) not in text:
            problems.append(f"anchor not found in statement.md: {rule.anchor!r}")
        if not rule.checks:
            problems.append(f"rule with no check: {rule.anchor!r}")
        for check in rule.checks:
            if check not in check_ids:
                problems.append(f"rule {rule.anchor!r} names {check}, which is not a check")
        mapped.update(rule.checks)
    problems += [f"check {c} maps to no rule" for c in sorted(check_ids - mapped)]
    anchors = [_flat(r.anchor) for r in rules]
    problems += [f"anchor listed twice: {a!r}" for a in sorted({a for a in anchors if anchors.count(a) > 1})]
    return problems


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_rules_table_matches_statement_and_checks(exercise_id: str) -> None:
    """Does every rule of the statement have a check that can fail it, every check a rule, and every
    anchor text a place in statement.md?"""
    folder = EXERCISES_DIR / exercise_id
    table = folder / "rules.toml"
    assert table.is_file(), f"{exercise_id}: rules.toml is missing"
    exercise = load_exercise(folder)
    problems = disagreements((folder / "statement.md").read_text(encoding="utf-8"),
                             {c.test_id for c in exercise.checks}, read_rules(table))
    assert not problems, f"{exercise_id}:\n  " + "\n  ".join(problems)


def test_each_kind_of_disagreement_is_found() -> None:
    """Would a moved anchor, a rule without checks, an unknown check and an unmapped check each be
    reported?"""
    statement = "## Contract\n\n- `f(x)` returns\n  a new tensor.\n- Raises `ValueError` for 1-D x.\n"
    good = [Rule("contract", "returns a new tensor", ("test_new",)),
            Rule("error", "Raises `ValueError`", ("test_errors",))]
    assert disagreements(statement, {"test_new", "test_errors"}, good) == []
    bad = [Rule("contract", "returns the same tensor", ("test_new",)),
           Rule("error", "Raises `ValueError`", ()),
           Rule("pitfall", "a new tensor", ("test_gone",))]
    found = disagreements(statement, {"test_new", "test_errors"}, bad)
    assert any("anchor not found" in p and "same tensor" in p for p in found)
    assert any("rule with no check" in p for p in found)
    assert any("test_gone, which is not a check" in p for p in found)
    assert "check test_errors maps to no rule" in found


def test_a_malformed_row_is_named(tmp_path: Path) -> None:
    """Is a row with an unknown kind or no checks list refused with its number?"""
    table = tmp_path / "rules.toml"
    table.write_text('[[rule]]\nkind = "contract"\nanchor = "a"\nchecks = ["t"]\n\n'
                     '[[rule]]\nkind = "wish"\nanchor = "b"\nchecks = ["t"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="rule 2 needs kind"):
        read_rules(table)
