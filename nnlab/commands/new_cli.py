"""Click commands `nnlab new course` and `nnlab new exercise` (imports nothing heavy)."""
from __future__ import annotations

from pathlib import Path

import click


def register(main: click.Group) -> None:
    """Adds the `new` group to the `nnlab` group."""

    @main.group("new")
    def new() -> None:
        """Start a course repository, or an exercise in the course found."""

    @new.command("course")
    @click.argument("directory", type=click.Path(path_type=Path))
    def new_course_command(directory: Path) -> None:
        """A working course repository in DIRECTORY: course.toml, .gitignore, one exercise."""
        from nnlab.commands.new import new_course

        new_course(directory)

    @new.command("exercise")
    @click.argument("exercise_id")
    @click.option("--from", "solution_file", type=click.Path(path_type=Path), default=None,
                  metavar="SOLUTION.py",
                  help="The reference solution: its '# BEGIN SOLUTION' ... '# END SOLUTION' regions "
                       "become the stub, its top-level names the exercise's `requires`.")
    def new_exercise_command(exercise_id: str, solution_file: Path | None) -> None:
        """The folder exercises/EXERCISE_ID of the course found, filled."""
        from nnlab.commands.new import new_exercise

        new_exercise(exercise_id, solution_file)
