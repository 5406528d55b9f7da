"""An exercise's `mutants/equivalent.toml`: the generated mutants its author marked as equivalent."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from nnlab.errors import ExerciseFormatError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

EQUIVALENT_FILE = Path("mutants") / "equivalent.toml"
"""Relative to the exercise's folder."""


@dataclass(frozen=True)
class Equivalent:
    """A mutant that behaves as the solution does, so no check can fail it."""

    id: str
    """The mutant's id, as `nnlab verify --mutate` prints it."""
    reason: str
    """Why it is equivalent (required: a reviewer must be able to agree)."""


def equivalent_path(folder: Path) -> Path:
    return folder / EQUIVALENT_FILE


def _entry(item: object, number: int, where: Path) -> Equivalent:
    if not isinstance(item, dict):
        raise ExerciseFormatError(f"{where}: [[equivalent]] #{number} is not a table")
    ident, reason = item.get("id"), item.get("reason")
    if not isinstance(ident, str) or not ident.strip():
        raise ExerciseFormatError(f"{where}: [[equivalent]] #{number} has no id "
                                  "(the mutant's id as `nnlab verify --mutate` prints it)")
    if not isinstance(reason, str) or not reason.strip():
        raise ExerciseFormatError(f"{where}: [[equivalent]] #{number} (id {ident}) has no reason: "
                                  "say why the mutant behaves as the solution does")
    return Equivalent(ident.strip(), reason.strip())


def read_equivalents(folder: Path) -> dict[str, Equivalent]:
    """The marked mutants of the exercise in `folder`, by id; none when the file is absent."""
    path = equivalent_path(folder)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ExerciseFormatError(f"{path}: cannot be read as TOML ({exc})") from None
    unknown = sorted(set(data) - {"equivalent"})
    if unknown:
        raise ExerciseFormatError(f"{path}: unknown key(s) {', '.join(unknown)} "
                                  "(only [[equivalent]] tables with id and reason)")
    items = data.get("equivalent", [])
    if not isinstance(items, list):
        raise ExerciseFormatError(f"{path}: 'equivalent' must be [[equivalent]] tables")
    found: dict[str, Equivalent] = {}
    for number, item in enumerate(items, start=1):
        entry = _entry(item, number, path)
        if entry.id in found:
            raise ExerciseFormatError(f"{path}: mutant {entry.id} is marked twice")
        found[entry.id] = entry
    return found


def marking_hint(folder: Path, ident: str) -> str:
    """How to mark one survivor as equivalent, for the author to paste."""
    return (f"if it is equivalent, add to {equivalent_path(folder)}:\n"
            f'  [[equivalent]]\n  id = "{ident}"\n  reason = "why it behaves as the solution does"')
