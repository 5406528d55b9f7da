"""`nnlab list`: the catalogue grouped by unit, in curriculum order (no torch import)."""
from __future__ import annotations

import itertools

import click

from nnlab.grader.exercise import load_catalogue


def print_catalogue(lang: str | None = None) -> None:
    catalogue = load_catalogue()
    width = max(len(e.id) for e in catalogue)
    title_width = max(len(e.title) for e in catalogue)
    for unit, exercises in itertools.groupby(catalogue, key=lambda e: e.unit):
        group = list(exercises)
        click.echo(f"Unit {unit} — {group[0].unit_title}")
        for e in group:
            timing = "timing" if e.has_timing else ""
            click.echo(f"  {e.id:<{width}}  {e.title:<{title_width}}  {e.points:>4g} pts  {timing}".rstrip())
        click.echo()
    total = sum(e.points for e in catalogue)
    click.echo(f"{len(catalogue)} exercises, {total:g} points. Start one with: nnlab start ID")
