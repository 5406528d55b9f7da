"""The check API's version, and whether this nnlab honours the one a course was written for."""
from __future__ import annotations

import re

from nnlab.errors import UsageError

CHECK_API = "1.0"
"""MAJOR.MINOR of `nnlab.grader.checks`, the one module check files import. A minor release
only adds (names, keyword parameters with defaults); anything else (a name removed or renamed,
a parameter's meaning changed) is a new major. Re-exported as nnlab.grader.checks.CHECK_API.
Kept out of that package so that reading course.toml does not import torch."""

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def _parse(version: str) -> tuple[int, int] | None:
    found = _VERSION.match(version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def honours(wanted: str, installed: str = CHECK_API) -> bool:
    """Can check files written for check API `wanted` run on `installed`? The same major, and
    at least the minor they were written for (they may use what it added)."""
    want, have = _parse(wanted), _parse(installed)
    return want is not None and have is not None and want[0] == have[0] and want[1] <= have[1]


def require_check_api(wanted: object, where: str) -> None:
    """Refuses, in one line naming both versions, a course.toml `check_api` this nnlab cannot
    honour; None (the key left out) asks for nothing."""
    if wanted is None:
        return
    if not isinstance(wanted, str) or _parse(wanted) is None:
        raise UsageError(f'{where}: [course] check_api must be a version like "{CHECK_API}" '
                         f"(MAJOR.MINOR), not {wanted!r}")
    if not honours(wanted):
        major = wanted.split(".")[0]
        raise UsageError(f"{where}: the course was written for check API {wanted}, and this nnlab "
                         f"has check API {CHECK_API}; install an nnlab whose check API is "
                         f"{major}.x, at least {wanted}")
