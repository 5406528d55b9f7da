"""Dotted names resolved to the objects they name, alike on both sides (the banned-API lists)."""
from __future__ import annotations

import importlib
from typing import Any, Collection


def resolve_dotted(name: str, roots: Collection[str] | None = None) -> Any:
    """The object a dotted name such as `torch.nn.functional.linear` names, or None.

    A part that is not an attribute may be a submodule not imported yet: it is imported.
    With `roots`, only names under those top-level packages are resolved (nothing else is
    ever imported).
    """
    parts = name.split(".")
    if roots is not None and parts[0] not in roots:
        return None
    try:
        obj: Any = importlib.import_module(parts[0])
    except ImportError:
        return None
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[: i + 1]))
            except ImportError:
                return None
    return obj
