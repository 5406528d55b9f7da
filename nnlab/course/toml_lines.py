"""Where a key of a TOML file is written (its line), which tomllib does not say, for errors."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_HEADER = re.compile(r"""^\s*(\[\[?)\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$""")
_ERROR_LINE = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True)
class Place:
    """A table of the file: `[name]` (index 0) or the index-th `[[name]]`; name "" is the top."""

    name: str
    index: int = 0


def _key_pattern(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(rf"""^\s*(?:{quoted}|"{quoted}"|'{quoted}')\s*=""")


def _headers(lines: list[str]) -> list[tuple[int, Place]]:
    """(line, table) of every header, in order."""
    found: list[tuple[int, Place]] = []
    counts: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip("\"'")
            counts[name] = counts.get(name, -1) + 1
            found.append((number, Place(name, counts[name])))
    return found


def line_of(text: str, place: Place, key: str | None = None) -> int | None:
    """The 1-based line of `key` in the table at `place` (its header's line when the key is not
    written there, or no key is given); None when the table is not written as a header (an
    inline table, say). A heuristic over lines, good for the files people write."""
    lines = text.splitlines()
    headers = _headers(lines)
    starts = [number for number, table in headers if table == place]
    if place.name and not starts:
        return None
    start = starts[0] if place.name else 0
    end = next((number for number, _ in headers if number > start), len(lines) + 1)
    if key is not None:
        wanted = _key_pattern(key)
        for number in range(start + 1, end):
            if wanted.match(lines[number - 1]):
                return number
        if not place.name:  # a top-level table written as [key] or [[key]]
            return next((number for number, table in headers if table.name == key), None)
    return start or None


def decode_error_line(message: str) -> int | None:
    """The line tomllib names in a TOMLDecodeError's message ('... (at line 3, column 7)')."""
    found = _ERROR_LINE.search(message)
    return int(found.group(1)) if found else None


def shown(value: Any) -> str:
    """A value as TOML writes it, for a message: "text", true, 2.5, a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)
