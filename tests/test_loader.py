"""The exercise loader: a broken exercise names the file and the key."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nnlab.errors import ExerciseFormatError
from nnlab.grader.exercise import EXERCISES_DIR, load_catalogue, load_exercise


@pytest.fixture
def exercise_copy(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "my_linear"
    shutil.copytree(EXERCISES_DIR / "my_linear", folder)
    return folder


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_catalogue_is_in_curriculum_order() -> None:
    """Are exercises sorted by unit, then by their order inside the unit?"""
    keys = [(e.unit, e.order) for e in load_catalogue()]
    assert keys == sorted(keys)
    assert load_catalogue()[0].id == "my_linear"


def test_points_add_up_and_timing_is_detected() -> None:
    """Do check points add up to the exercise's points, and is the timing check found?"""
    exercise = load_exercise(EXERCISES_DIR / "my_linear")
    assert exercise.points == sum(c.points for c in exercise.checks) == 10
    assert exercise.has_timing
    assert {c.visibility.value for c in exercise.checks} == {"visible", "hidden"}


@pytest.mark.parametrize("old, new, fragment", [
    ('title = "', 'titel = "', "missing key 'title'"),
    ("unit = 1", 'unit = "one"', "key 'unit' has the wrong type"),
    ("test_output_shape = 1", "test_output_shape = -1", "points.test_output_shape"),
    ("test_output_shape = 1", "test_output_shap = 1", "points.test_output_shape' is missing"),
    ("[points]", "[points]\ntest_ghost = 1", "points.test_ghost' names no check"),
    ("unit = 1", "unit = = 1", "not valid TOML"),
])
def test_broken_toml_names_file_and_key(exercise_copy: Path, old: str, new: str, fragment: str) -> None:
    """Does a broken exercise.toml give an NnlabError naming the file and the key?"""
    _edit(exercise_copy / "exercise.toml", old, new)
    with pytest.raises(ExerciseFormatError) as error:
        load_exercise(exercise_copy)
    assert "exercise.toml" in str(error.value)
    assert fragment in str(error.value)


def test_missing_stub_is_named(exercise_copy: Path) -> None:
    """Does a missing stub give a clear error naming it?"""
    (exercise_copy / "stub.py").unlink()
    with pytest.raises(ExerciseFormatError, match="stub.py: file is missing"):
        load_exercise(exercise_copy)


def test_check_without_docstring_is_refused(exercise_copy: Path) -> None:
    """Is a check without a docstring (no name for the report) refused?"""
    _edit(exercise_copy / "test_public.py", '"""Does MyLinear(4, 3) map', '# Does MyLinear(4, 3) map')
    _edit(exercise_copy / "test_public.py", ' to (5, 3)?"""', " to (5, 3)?")
    with pytest.raises(ExerciseFormatError, match="has no docstring"):
        load_exercise(exercise_copy)


def test_a_required_name_the_stub_lacks_is_refused(exercise_copy: Path) -> None:
    """Does `requires` naming a class the stub does not define stop the exercise from loading,
    naming the key and the file?"""
    _edit(exercise_copy / "exercise.toml", 'requires = ["MyLinear"]', 'requires = ["MyLinear", "MyConv"]')
    with pytest.raises(ExerciseFormatError, match=r"'requires' names MyConv, which stub.py does not"):
        load_exercise(exercise_copy)


def test_every_exercise_requires_what_its_stub_and_solution_define() -> None:
    """Does every exercise declare the names a submission must define (and load, so its stub
    and solution define them)?"""
    assert all(exercise.requires for exercise in load_catalogue())
