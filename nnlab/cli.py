"""The `nnlab` command group: thin wrappers that hand straight to nnlab.commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from nnlab.errors import NnlabError


class _Group(click.Group):
    """Turns every NnlabError into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NnlabError as error:
            click.echo(f"nnlab: error: {error}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("nnlab: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnlab")
def main() -> None:
    """nnlab: PyTorch exercises with automated, sandboxed grading.

    Students: `nnlab list`, `nnlab start ID`, `nnlab check ID.py`, `nnlab submit ID.py`.
    Instructors: `nnlab verify`, `nnlab grade CLASS_DIR --out OUT_DIR`.
    """


@main.command("list")
def list_command() -> None:
    """Show the catalogue: id, title, unit, points, timing check."""
    from nnlab.commands.catalogue import print_catalogue

    print_catalogue()


@main.command()
@click.argument("exercise_id")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("."),
              show_default=True, help="Folder to write ID.py and ID.md into.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def start(exercise_id: str, directory: Path, force: bool) -> None:
    """Write the stub DIR/ID.py and its statement DIR/ID.md."""
    from nnlab.commands.start import start_exercise

    start_exercise(exercise_id, directory, force)


_SEED = click.option("--seed", type=int, default=None,
                     help="Reproduce a run: the seed recorded in its results.")


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@_SEED
def check(path: Path, seed: int | None) -> None:
    """Run the public checks on ID.py or a folder of them (exit 1 if one fails)."""
    from nnlab.commands.check import check_submission

    sys.exit(check_submission(path, seed))


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout, nothing else.")
@click.option("--report", type=click.Path(path_type=Path), default=None,
              help="Also write an HTML report to this file.")
@_SEED
def submit(path: Path, as_json: bool, report: Path | None, seed: int | None) -> None:
    """Grade ID.py or a folder of them with all checks, public and hidden."""
    from nnlab.commands.submit import submit_submission

    submit_submission(path, as_json, report, seed)


@main.command()
@click.argument("class_dir", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Folder for index.html, students/*.html, scores.csv, results.json.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Students graded in parallel (default: CPU count, at most 4).")
@_SEED
def grade(class_dir: Path, out_dir: Path, workers: int | None, seed: int | None) -> None:
    """Batch-grade CLASS_DIR/<student>/<ID>.py and write the class report."""
    from nnlab.commands.grade import grade_class

    grade_class(class_dir, out_dir, workers, seed)


@main.command()
@click.argument("exercise_ids", nargs=-1)
def verify(exercise_ids: tuple[str, ...]) -> None:
    """Instructor self-test: solutions score full marks, stubs score zero."""
    from nnlab.commands.verify import verify_exercises

    sys.exit(verify_exercises(exercise_ids))


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where to write the demo class report.")
def demo(out_dir: Path) -> None:
    """Grade the bundled sample class and write its HTML reports."""
    from nnlab.commands.demo import run_demo

    run_demo(out_dir)


if __name__ == "__main__":
    main()
