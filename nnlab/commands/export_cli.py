"""Click commands for exports: `nnlab export gradescope`."""
from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Adds the export commands to the `nnlab` group (imports nothing heavy)."""
