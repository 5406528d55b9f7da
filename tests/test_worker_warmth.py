"""The fork server warms torch's lazy imports only for exercises that mention them; verdicts never change."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.engine.warmth import needs_lazy_imports
from nnlab.worker import LAZY_IMPORTS_SETTING

MUTANTS = Path(__file__).resolve().parent / "mutants"

_GRADE = """
import json, sys
from pathlib import Path
from nnlab.grader.launcher import WorkerLauncher
from nnlab.grader.pipeline import GradeRequest, grade_student
folder, exercise = Path(sys.argv[1]), sys.argv[2]
result = grade_student(GradeRequest(folder, seed=7, exercise_ids=(exercise,)), WorkerLauncher())
print(json.dumps({c.test_id: c.outcome.value for e in result.exercises for c in e.checks}))
"""


def test_only_exercises_that_mention_optimizers_and_the_like_are_warmed() -> None:
    for exercise in ("lr_schedules", "train_loop", "checkpoint"):
        assert needs_lazy_imports((exercise,)), exercise
    assert not needs_lazy_imports(("my_linear",))
    assert not needs_lazy_imports(("leaky_relu", "my_linear"))
    assert needs_lazy_imports(("my_linear", "train_loop"))  # one of the run's is enough
    assert needs_lazy_imports(())  # nothing known: warmed, as before
    assert needs_lazy_imports(("no_such_exercise",))


def _preloaded_modules(setting: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != LAZY_IMPORTS_SETTING}
    if setting is not None:
        env[LAZY_IMPORTS_SETTING] = setting
    code = "import sys, nnlab.worker.preload; print('torch._dynamo' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip() == "True"


@pytest.mark.slow
def test_preload_skips_dynamo_only_when_told() -> None:
    assert _preloaded_modules(None)
    assert _preloaded_modules("1")
    assert not _preloaded_modules("0")


def _expected(mutant: Path) -> set[str] | None:
    """The checks a mutant file is expected to fail; None for a correct variant ('full')."""
    for line in mutant.read_text().splitlines():
        if line.startswith("# nnlab-expect:"):
            words = line.split(":", 1)[1].split()
            return None if words == ["full"] else set(words)
    raise AssertionError(f"{mutant} has no nnlab-expect line")


@pytest.mark.slow
@pytest.mark.parametrize("exercise,variant", [
    ("lr_schedules", None),  # the reference solution
    ("lr_schedules", "callable_class_correct.py"),  # correct, written differently
    ("lr_schedules", "off_by_one_warmup.py"),  # subtly wrong
])
def test_a_fork_server_without_the_lazy_imports_grades_optimizer_code_the_same(
        tmp_path: Path, exercise: str, variant: str | None) -> None:
    """What a student of an exercise that mentions no optimizer may still use: the worker pays
    the import itself, and every verdict is the one a warmed fork server gives."""
    from nnlab.grader.exercise import SOLUTIONS_DIR

    source = MUTANTS / exercise / variant if variant else SOLUTIONS_DIR / f"{exercise}.py"
    (tmp_path / f"{exercise}.py").write_text(source.read_text())
    unwarmed, warmed = (_outcomes(tmp_path, exercise, setting) for setting in ("0", "1"))
    assert unwarmed == warmed
    failed = {test for test, outcome in unwarmed.items() if outcome != "passed"}
    expected = _expected(source) if variant else None
    if expected is None:
        assert not failed, unwarmed
    else:
        assert expected <= failed, unwarmed


def _outcomes(folder: Path, exercise: str, setting: str) -> dict[str, str]:
    """Each check's outcome, graded in a fresh process whose fork server is told `setting`."""
    env = {**os.environ, LAZY_IMPORTS_SETTING: setting}
    done = subprocess.run([sys.executable, "-c", _GRADE, str(folder), exercise], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))
