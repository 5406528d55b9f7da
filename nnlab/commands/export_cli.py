"""Click commands for exports: `nnlab export gradescope`."""
from __future__ import annotations

from pathlib import Path

import click


def register(group: click.Group) -> None:
    """Adds the export commands to the `nnlab` group (imports nothing heavy)."""

    @group.group("export")
    def export_group() -> None:
        """Export to other grading platforms (Canvas's canvas.csv comes with `nnlab grade`)."""

    @export_group.command("gradescope")
    @click.option("--exercises", required=True, metavar="ID,ID",
                  help="The assignment's exercise set (a missing file scores zero).")
    @click.option("--out", "out_path", type=click.Path(path_type=Path), default=Path("autograder.zip"),
                  show_default=True, help="The zip to write.")
    def gradescope(exercises: str, out_path: Path) -> None:
        """Write a Gradescope autograder zip (setup.sh, run_autograder) that grades with nnlab."""
        from nnlab.reports.gradescope import build_autograder, parse_exercise_ids

        ids = parse_exercise_ids(exercises)
        path = build_autograder(ids, out_path)
        size_kb = path.stat().st_size / 1024
        click.echo(f"Wrote {path} ({size_kb:.0f} KB) for {len(ids)} exercise(s): {', '.join(ids)}")
        click.echo("Upload it as the autograder of a Gradescope programming assignment "
                   "(setup.sh installs nnlab; run_autograder grades each submission).")
