"""A small TOML writer for the flat files nnlab writes (kit.toml, exercise.toml, the client config)."""
from __future__ import annotations

import json
import re
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string: the escapes TOML knows, \\uXXXX included.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(name: str, data: dict[str, Any], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not isinstance(v, dict) and not _is_table_list(v)}
    if name:
        lines += ["", f"[{name}]"]
    lines += [f"{_key(k)} = {_value(v)}" for k, v in plain.items()]
    for key, value in data.items():
        if isinstance(value, dict):
            _table(f"{name}.{_key(key)}" if name else _key(key), value, lines)
    for key, value in data.items():
        if _is_table_list(value):
            for table in value:
                lines += ["", f"[[{name + '.' if name else ''}{_key(key)}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in table.items()]


def dumps(data: dict[str, Any]) -> str:
    """TOML text: scalars and lists, [tables] (nested as [a.b]) and [[arrays of tables]] of scalars."""
    lines: list[str] = []
    _table("", data, lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
