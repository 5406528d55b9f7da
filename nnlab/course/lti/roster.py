"""The roster from the LMS (NRPS): each member becomes an account; members who left are marked."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.course.db import Database
from nnlab.course.lti import store
from nnlab.course.lti.keys import load_key
from nnlab.course.lti.launch import is_instructor
from nnlab.course.lti.registration import find_platform, load_platforms
from nnlab.course.lti.services import Services
from nnlab.errors import UsageError


@dataclass(frozen=True)
class RosterPull:
    """What one pull did to the accounts."""

    active: tuple[str, ...]
    """The students (and instructors) the LMS lists as active members, made or updated."""
    left: tuple[str, ...]
    """Accounts whose LMS users are no longer active members: marked as left, never deleted."""


def _member(issuer: str, member: dict[str, Any]) -> store.LmsUser | None:
    sub = member.get("user_id")
    if not isinstance(sub, str) or not sub:
        return None
    name = member.get("name") or " ".join(
        str(member.get(k) or "") for k in ("given_name", "family_name")).strip()
    role = "instructor" if is_instructor(member.get("roles")) else "student"
    email = member.get("email")
    return store.LmsUser(issuer, sub, str(name or ""), email if isinstance(email, str) else "", role)


def pull_roster(course_file: Path, data_dir: Path) -> RosterPull:
    """Every LMS course that launched this tool: its members into accounts (names, roles)."""
    platforms = load_platforms(course_file)
    if not platforms:
        raise UsageError(f"{course_file}: no [lti] table; the roster comes from a registered LMS")
    db = Database(data_dir)
    store.install(db)
    contexts = [c for c in store.contexts(db) if c.memberships_url]
    if not contexts:
        raise UsageError("no LMS launch has given nnlab its roster URL yet: open nnlab once from the "
                         "course in the LMS (as its instructor), then pull the roster again")
    key = load_key(data_dir)
    active: list[str] = []
    left: list[str] = []
    present: dict[str, set[str]] = {}
    for context in contexts:
        platform = find_platform(platforms, context.issuer, context.client_id)
        if platform is None:
            raise UsageError(f"{course_file}: no [lti] registration for issuer {context.issuer!r} "
                             f"(client id {context.client_id!r}) any more")
        seen = present.setdefault(context.issuer, set())
        for member in Services(platform, key).members(context.memberships_url):
            user = _member(context.issuer, member)
            # NRPS lists members who were dropped as Inactive or Deleted: they count as left.
            if user is None or member.get("status", "Active") != "Active":
                continue
            seen.add(user.sub)
            active.append(store.link_user(db, user).student)
    for issuer, subs in present.items():
        left += store.mark_left(db, issuer, subs)
    return RosterPull(tuple(sorted(set(active))), tuple(sorted(left)))
