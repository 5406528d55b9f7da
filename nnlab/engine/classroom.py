"""A class folder: its students, the exercise set to grade, and files that match no exercise."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnlab.engine.files import SUFFIXES
from nnlab.errors import UsageError
from nnlab.grader.exercise import load_catalogue

_LAYOUT = "expected CLASS_DIR/<student>/<ID>.py"


@dataclass(frozen=True)
class ExerciseSet:
    """The exercises every student is graded on, and where that choice came from."""

    ids: tuple[str, ...]
    """Exercise ids in catalogue order."""
    source: str
    """How the set was chosen, for the summary line, e.g. 'assignment hw1 of course.toml'."""


def list_students(class_dir: Path) -> list[Path]:
    """The student folders of CLASS_DIR, sorted by name (hidden folders and links left out)."""
    if not class_dir.is_dir():
        raise UsageError(f"{class_dir}: not a folder ({_LAYOUT})")
    students = sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.is_symlink()
                      and not p.name.startswith("."))
    if not students:
        raise UsageError(f"{class_dir}: no student folders ({_LAYOUT})")
    return students


def _in_catalogue_order(ids: set[str]) -> tuple[str, ...]:
    return tuple(e.id for e in load_catalogue() if e.id in ids)


def parse_exercise_list(text: str) -> tuple[str, ...]:
    """`--exercises ID,ID`: every id must be in the catalogue."""
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    if not wanted:
        raise UsageError("--exercises: give at least one exercise id, e.g. --exercises my_linear,mlp")
    known = {e.id for e in load_catalogue()}
    unknown = [w for w in wanted if w not in known]
    if unknown:
        raise UsageError(f"--exercises: unknown exercise id(s) {', '.join(unknown)} "
                         "(`nnlab list` shows the catalogue)")
    return _in_catalogue_order(set(wanted))


def assignment_exercises(course_file: Path, assignment: str) -> tuple[str, ...]:
    """The exercises of one assignment of a course.toml, validated as the course server does."""
    from nnlab.course.config import load_course

    return _in_catalogue_order(set(load_course(course_file).assignment(assignment).exercises))


def _file_ids(student: Path) -> set[str]:
    return {p.name.rsplit(".", 1)[0] for p in student.iterdir()
            if p.name.endswith(SUFFIXES) and not p.name.startswith(".")}


def choose_exercises(students: list[Path], exercises: str | None, course_file: Path | None,
                     assignment: str | None) -> ExerciseSet:
    """The set from --exercises, or --course with --assignment, else what the class handed in."""
    if exercises is not None and (course_file is not None or assignment is not None):
        raise UsageError("give either --exercises or --course with --assignment, not both")
    if (course_file is None) != (assignment is None):
        raise UsageError("--course and --assignment go together (the assignment's exercises "
                         "are the set to grade)")
    if exercises is not None:
        return ExerciseSet(parse_exercise_list(exercises), "--exercises")
    if course_file is not None and assignment is not None:
        return ExerciseSet(assignment_exercises(course_file, assignment),
                           f"assignment {assignment} of {course_file.name}")
    known = {e.id for e in load_catalogue()}
    present = {i for s in students for i in _file_ids(s) if i in known}
    if not present:
        raise UsageError("no student folder holds a file named after an exercise "
                         "(e.g. my_linear.py); or name the set with --exercises")
    return ExerciseSet(_in_catalogue_order(present), "the exercises found in the class")


def stray_files(students: list[Path], exercise_ids: tuple[str, ...]) -> dict[str, list[str]]:
    """Per student, the .py/.ipynb files that are not graded: no such exercise, or not in the set."""
    wanted = set(exercise_ids)
    stray: dict[str, list[str]] = {}
    for student in students:
        names = sorted(p.name for p in student.iterdir()
                       if p.name.endswith(SUFFIXES) and not p.name.startswith(".")
                       and p.name.rsplit(".", 1)[0] not in wanted)
        if names:
            stray[student.name] = names
    return stray
