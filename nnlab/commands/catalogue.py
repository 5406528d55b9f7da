"""`nnlab list`: the catalogue grouped by unit, or a kit's assignments, in curriculum order (no torch import)."""
from __future__ import annotations

import itertools
from typing import Any

import click

from nnlab.grader.exercise import Exercise, load_catalogue
from nnlab.i18n import display_width, message, pad, resolve_language


def print_catalogue(lang: str | None = None, show_all: bool = False) -> None:
    """Every exercise by unit; in a student kit, the course's assignments unless `show_all`."""
    from nnlab.course.kit import read_kit

    language = resolve_language(lang)
    catalogue = load_catalogue()
    kit = read_kit()
    if kit is not None and not show_all:
        _print_course(kit, catalogue, language)
        return
    width = max(len(e.id) for e in catalogue)
    title_width = max(display_width(e.title_in(language)) for e in catalogue)
    for unit, exercises in itertools.groupby(catalogue, key=lambda e: e.unit):
        group = list(exercises)
        click.echo(message("list.unit", language, unit=unit, title=group[0].unit_title_in(language)))
        _print_exercises(group, width, title_width, language)
    total = sum(e.points for e in catalogue)
    click.echo(message("list.footer", language, count=len(catalogue), total=total))


def _print_exercises(group: list[Exercise], width: int, title_width: int, language: str) -> None:
    timing = message("list.timing", language)
    for e in group:
        points = message("list.points", language, points=e.points)
        line = (f"  {e.id:<{width}}  {pad(e.title_in(language), title_width)}  {points}  "
                f"{timing if e.has_timing else ''}")
        click.echo(line.rstrip())
    click.echo()


def _when(text: str) -> str:
    """'2026-12-10T23:59:00+08:00' -> '2026-12-10 23:59 (+08:00)': the course's own clock."""
    offset = text[19:]
    return text[:16].replace("T", " ") + (f" ({offset})" if offset else "")


def _rules(assignment: dict[str, Any]) -> str:
    due, until = assignment["due"], assignment.get("late_until", assignment["due"])
    text = f"due {_when(due)}"
    if until != due:
        penalty = float(assignment.get("late_penalty_per_day", 0.0))
        text += f", accepted late until {_when(until)}"
        text += f" (-{penalty:.0%} a day late)" if penalty else ""
    counts = assignment.get("counts", "last")
    return text + (f"; your {counts} graded upload counts" if counts else "")


def _print_course(kit: dict[str, Any], catalogue: tuple[Exercise, ...], language: str) -> None:
    """A student kit's `nnlab list`: each assignment with its dates and exercises."""
    by_id = {e.id: e for e in catalogue}
    assignments = kit.get("assignment", [])
    assigned = [by_id[i] for a in assignments for i in a["exercises"] if i in by_id]
    width = max((len(e.id) for e in assigned), default=0)
    title_width = max((display_width(e.title_in(language)) for e in assigned), default=0)
    click.echo(click.style(kit.get("course", {}).get("name", "nnlab course"), bold=True))
    click.echo()
    for assignment in assignments:
        group = [by_id[i] for i in assignment["exercises"] if i in by_id]
        total = sum(e.points for e in group)
        click.echo(click.style(f"{assignment['id']}: {assignment['title']}", bold=True)
                   + f"  ({total:g} pts)")
        click.echo(f"  {_rules(assignment)}")
        _print_exercises(group, width, title_width, language)
    others = len({e.id for e in catalogue} - {e.id for e in assigned})
    click.echo("Start one with: nnlab start ID; hand in with: nnlab submit work --assignment ASSIGNMENT."
               + (f"\n{others} more exercises for practice: nnlab list --all." if others else ""))
