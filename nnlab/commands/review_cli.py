"""Click commands of instructor review and exports: similarity, export gradescope."""
from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Adds the review and export commands to the `nnlab` group (imports nothing heavy)."""
