"""Grading as explicit steps: what each step decides before any check runs, and what a result records."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nnlab.grader.exercise import EXERCISES_DIR, get_exercise, load_exercise
from nnlab.grader.pipeline import GradeRequest, grade_file, grade_student
from nnlab.results import Outcome

# An exercise without a timing check: a full grade takes about a second.
QUICK = "leaky_relu"


def test_a_file_that_does_not_parse_scores_zero_with_the_line(launcher) -> None:
    """Does a file that does not parse get an error on every check, naming the line, with no
    worker started?"""
    exercise = get_exercise(QUICK)
    graded = grade_file(exercise, "def forward(self, x:\n", "leaky_relu.py", launcher, 1, True)
    assert graded.result.score == 0 and graded.confinement is None
    assert {c.outcome for c in graded.result.checks} == {Outcome.ERROR}
    assert graded.result.checks[0].message.startswith("leaky_relu.py does not parse: ")
    assert "at line 1" in graded.result.checks[0].message


def test_a_banned_api_in_the_source_fails_every_check(launcher) -> None:
    """Does a banned API in the source fail every check, naming the line and the API?"""
    exercise = get_exercise(QUICK)
    source = exercise.solution_path.read_text(encoding="utf-8") + (
        "\n\nimport torch.nn.functional as G\nshortcut = G.leaky_relu\n")
    graded = grade_file(exercise, source, "leaky_relu.py", launcher, 1, True)
    assert {c.outcome for c in graded.result.checks} == {Outcome.FAILED}
    message = graded.result.checks[0].message
    assert message.startswith("banned API in leaky_relu.py: line ") and "leaky_relu" in message


def test_an_unreadable_file_is_an_error_with_its_reason(launcher) -> None:
    """Is a file that could not be read an error on every check, with the reader's reason?"""
    graded = grade_file(get_exercise(QUICK), None, "leaky_relu.py", launcher, 1, True,
                        problem="leaky_relu.py is not UTF-8 text")
    assert [c.message for c in graded.result.checks][:1] == ["leaky_relu.py is not UTF-8 text"]
    assert {c.outcome for c in graded.result.checks} == {Outcome.ERROR}


def test_a_submission_records_seed_device_confinement_and_missing_files(tmp_path: Path, launcher) -> None:
    """Does grading a folder record the seed, the device and the confinement, grade the file
    present, and count an asked-for exercise without a file as not submitted?"""
    shutil.copy(get_exercise(QUICK).solution_path, tmp_path / f"{QUICK}.py")
    result = grade_student(GradeRequest(tmp_path, student="ada", seed=5,
                                        exercise_ids=(QUICK, "my_linear")), launcher)
    by_id = {e.id: e for e in result.exercises}
    assert result.student == "ada" and result.seed == 5
    assert result.device.startswith(("cpu: ", "cuda: ")) and result.confinement.level in ("full", "partial", "none")
    assert by_id[QUICK].score == by_id[QUICK].max_score and by_id[QUICK].submitted
    missing = by_id["my_linear"]
    assert not missing.submitted and missing.score == 0
    assert {c.outcome for c in missing.checks} == {Outcome.SKIPPED}


@pytest.fixture
def broken_exercise(tmp_path: Path) -> Path:
    """A copy of the quick exercise whose first public check has a bug of its own."""
    folder = tmp_path / QUICK
    shutil.copytree(EXERCISES_DIR / QUICK, folder)
    checks = folder / "test_public.py"
    text = checks.read_text(encoding="utf-8")
    first = text.index('"""', text.index("\ndef test_"))
    end = text.index('"""', first + 3) + 3
    checks.write_text(text[:end] + "\n    {}['the check author forgot this key']" + text[end:], encoding="utf-8")
    return folder


def test_a_check_that_breaks_is_the_graders_error_not_the_students(broken_exercise: Path, launcher) -> None:
    """When a check itself breaks, is it an error that tells the student to ask the instructor,
    and is it told apart from the student's own errors (as `nnlab verify` needs)?"""
    exercise = load_exercise(broken_exercise)
    graded = grade_file(exercise, exercise.solution_path.read_text(encoding="utf-8"), f"{QUICK}.py",
                        launcher, 1, include_hidden=False)
    broken = graded.result.checks[0]
    assert broken.outcome is Outcome.ERROR and "please tell your instructor" in broken.message
    assert graded.internal_errors == (broken.test_id,)
    assert all(c.outcome is Outcome.PASSED for c in graded.result.checks[1:])


def test_checks_run_without_the_pytest_plugins_installed_beside_them() -> None:
    """Are pytest plugins installed on the grading machine (entry points: a randomizer,
    xdist, coverage...) kept out of the checks' pytest?"""
    from importlib.metadata import entry_points

    from nnlab.grader import runner

    installed = {e.name for e in entry_points(group="pytest11")}
    if not installed:
        pytest.skip("no pytest plugin is installed through an entry point here")
    collected = runner._CollectedChecks(get_exercise("leaky_relu"), include_hidden=True)
    loaded = {name for name, plugin in collected.config.pluginmanager.list_name_plugin() if plugin}
    assert collected.items and not installed & loaded, installed & loaded
