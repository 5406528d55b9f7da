"""Click commands of a course: release, roster, serve, login, status, collect, adjust."""
from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Adds the course commands to the `nnlab` group (imports nothing heavy)."""
