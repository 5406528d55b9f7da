"""The mutation suite: plausible wrong submissions lose points where meant; right ones do not."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from nnlab.grader.exercise import get_exercise
from nnlab.grader.pipeline import grade_file
from nnlab.results import Outcome

# Every mutant graded with every check: the full suite's, not the fast subset's.
pytestmark = pytest.mark.slow

MUTANTS = Path(__file__).parent / "mutants"
_EXPECT = re.compile(r"^# nnlab-expect:\s*(.+)$", re.MULTILINE)


def _variants() -> list[Path]:
    return sorted(MUTANTS.glob("*/*.py"))


def _expectation(path: Path) -> list[str]:
    match = _EXPECT.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise AssertionError(f"{path} has no '# nnlab-expect:' line")
    return match.group(1).split()


@pytest.mark.parametrize("path", _variants(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_variant_scores_as_expected(path: Path, launcher) -> None:
    """Does each variant lose points on exactly the checks meant to catch it (or none)?"""
    exercise = get_exercise(path.parent.name)
    expected = _expectation(path)
    result = grade_file(exercise, path.read_text(encoding="utf-8"),
                        f"{exercise.id}.py", launcher, seed=20261123, include_hidden=True).result
    by_id = {c.test_id: c for c in result.checks}
    report = "\n".join(f"  {c.test_id}: {c.outcome.value} {c.message[:200]}" for c in result.checks)
    if expected == ["full"]:
        assert result.score == result.max_score, f"a correct variant lost points:\n{report}"
        return
    unknown = [t for t in expected if t not in by_id]
    assert not unknown, f"expectation names unknown checks {unknown}"
    escaped = [t for t in expected if by_id[t].outcome is Outcome.PASSED]
    assert not escaped, f"checks {escaped} did not catch this mutant:\n{report}"
    assert result.score < result.max_score
