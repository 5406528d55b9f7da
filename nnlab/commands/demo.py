"""`nnlab demo`: grades the bundled sample class so a newcomer sees the whole product."""
from __future__ import annotations

from pathlib import Path

import click

from nnlab.errors import UsageError

from nnlab.commands.grade import GradeOptions, grade_class

SAMPLE_CLASS = Path(__file__).resolve().parent.parent / "demo" / "class"


def run_demo(out_dir: Path) -> None:
    from nnlab.grader.exercise import KIT_MESSAGE, is_student_kit

    if is_student_kit():
        raise UsageError(KIT_MESSAGE)
    click.echo(f"Sample class: {SAMPLE_CLASS}", err=True)
    grade_class(GradeOptions(class_dir=SAMPLE_CLASS, out_dir=out_dir))
    click.echo(f"Open {out_dir.resolve() / 'index.html'} in a browser: it links each student's "
               f"report, and {out_dir / 'similarity.csv'} lists the most similar pairs of files.")
