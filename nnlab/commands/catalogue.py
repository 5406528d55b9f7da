"""`nnlab list`: the catalogue grouped by unit, in curriculum order (no torch import)."""
from __future__ import annotations

import itertools

import click

from nnlab.grader.exercise import load_catalogue
from nnlab.i18n import display_width, message, pad, resolve_language


def print_catalogue(lang: str | None = None) -> None:
    language = resolve_language(lang)
    catalogue = load_catalogue()
    width = max(len(e.id) for e in catalogue)
    title_width = max(display_width(e.title_in(language)) for e in catalogue)
    timing = message("list.timing", language)
    for unit, exercises in itertools.groupby(catalogue, key=lambda e: e.unit):
        group = list(exercises)
        click.echo(message("list.unit", language, unit=unit, title=group[0].unit_title_in(language)))
        for e in group:
            points = message("list.points", language, points=e.points)
            line = (f"  {e.id:<{width}}  {pad(e.title_in(language), title_width)}  {points}  "
                    f"{timing if e.has_timing else ''}")
            click.echo(line.rstrip())
        click.echo()
    total = sum(e.points for e in catalogue)
    click.echo(message("list.footer", language, count=len(catalogue), total=total))
