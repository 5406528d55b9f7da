"""The environment in which a benchmark's `nnlab` commands run this checkout's nnlab."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def this_checkout() -> dict[str, str]:
    """os.environ with this checkout first on PYTHONPATH. Start the command in ROOT too:
    `python -m` puts the folder it starts in first on the path, ahead of PYTHONPATH, and an
    installed nnlab (an editable install of another checkout) comes after both."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
