"""The platforms a course is registered with: course.toml's [lti] table (or [[lti]] tables)."""
from __future__ import annotations

import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

_URL_KEYS = ("auth_login_url", "auth_token_url", "key_set_url")
_KEYS = {"issuer", "client_id", "deployment_ids", "tool_url", *_URL_KEYS}


@dataclass(frozen=True)
class Platform:
    """One LMS that launches this tool: what it told the instructor when nnlab was added to it."""

    issuer: str
    """The `iss` of its id_tokens, e.g. https://canvas.instructure.com."""
    client_id: str
    """This tool's client id on that platform (the `aud` of its id_tokens)."""
    deployment_ids: tuple[str, ...]
    """The deployments whose launches are accepted."""
    auth_login_url: str
    """Where the OIDC login redirect goes."""
    auth_token_url: str
    """The OAuth2 token endpoint for the services (roster, grades)."""
    key_set_url: str
    """The platform's public keys (JWKS)."""
    tool_url: str = ""
    """This server's public base URL as the LMS reaches it ('' = as the request arrived)."""


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: '{key}' is missing (a non-empty string)")
    return value.strip()


def _url(table: dict[str, Any], key: str, where: str) -> str:
    value = _text(table, key, where)
    parsed = urllib.parse.urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"{where}: '{key}' must be an http(s) URL, not {value!r}")
    return value


def parse_platform(table: Any, where: str) -> Platform:
    """One [lti] table; every mistake is one UsageError naming the key."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: must be a table")
    extra = sorted(set(table) - _KEYS)
    if extra:
        raise UsageError(f"{where}: unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(_KEYS))})")
    deployments = table.get("deployment_ids")
    if not isinstance(deployments, list) or not deployments or \
            not all(isinstance(d, str) and d for d in deployments):
        raise UsageError(f"{where}: 'deployment_ids' must be a non-empty list of strings")
    tool_url = _url(table, "tool_url", where).rstrip("/") if "tool_url" in table else ""
    login, token, keys = (_url(table, key, where) for key in _URL_KEYS)
    return Platform(_text(table, "issuer", where), _text(table, "client_id", where), tuple(deployments),
                    login, token, keys, tool_url=tool_url)


def parse_platforms(data: dict[str, Any], path: Path) -> tuple[Platform, ...]:
    """Every platform of a parsed course.toml; none when it has no [lti]."""
    tables = data.get("lti", [])
    tables = [tables] if isinstance(tables, dict) else tables
    if not isinstance(tables, list):
        raise UsageError(f"{path}: [lti] must be a table, or [[lti]] tables")
    platforms = [parse_platform(t, f"{path}: [lti] {i + 1}" if len(tables) > 1 else f"{path}: [lti]")
                 for i, t in enumerate(tables)]
    seen: set[tuple[str, str]] = set()
    for platform in platforms:
        if (platform.issuer, platform.client_id) in seen:
            raise UsageError(f"{path}: [lti] issuer {platform.issuer} with client_id "
                             f"{platform.client_id} is given twice")
        seen.add((platform.issuer, platform.client_id))
    return tuple(platforms)


def load_platforms(path: Path) -> tuple[Platform, ...]:
    """The platforms of course.toml at `path`."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc})") from None
    return parse_platforms(data, Path(path))


def find_platform(platforms: tuple[Platform, ...], issuer: str, client_id: str | None) -> Platform | None:
    """The registration for `issuer` (and `client_id`, when the platform named one)."""
    for platform in platforms:
        if platform.issuer == issuer and (not client_id or platform.client_id == client_id):
            return platform
    return None
