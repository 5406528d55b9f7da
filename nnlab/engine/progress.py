"""Batch progress on stderr: a live bar on a terminal, one plain line per student elsewhere."""
from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

import click


class Progress:
    """Students done/total, rate, time left and grading failures so far."""

    def __init__(self, total: int, live: bool | None = None) -> None:
        self.total = total
        self.done = 0
        self.failures = 0
        self.live = sys.stderr.isatty() if live is None else live
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.live and self.total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._bar = RichProgress(
                TextColumn("Grading"), BarColumn(), MofNCompleteColumn(), _rate_column()(),
                TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
                TextColumn("left"), TextColumn("{task.fields[failures]}"),
                console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task("grading", total=self.total, failures="")
        return self

    def student(self, name: str, score: float, max_score: float, failure: str = "") -> None:
        """One student finished (graded, or lost to an infrastructure error)."""
        self.done += 1
        self.failures += bool(failure)
        if self._bar is not None:
            if failure:
                self._bar.console.print(f"{name}: {failure}", markup=False, highlight=False)
            label = f"{self.failures} grading failure(s)" if self.failures else ""
            self._bar.update(self._task, advance=1, failures=label)
            return
        line = f"  [{self.done}/{self.total}] {name}: {score:g}/{max_score:g}"
        click.echo(line + (f" ({failure})" if failure else ""), err=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()


def _rate_column() -> type:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Students per minute, once there is a rate to show."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed * 60:.1f}/min" if speed else "-/min")

    return RateColumn

