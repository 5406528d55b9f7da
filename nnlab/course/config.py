"""course.toml: the course and its assignments, validated with one clear error per mistake."""
from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nnlab.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

COUNTS = ("last", "best")
HIDDEN_FEEDBACK = ("after_due", "immediate", "never")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_COURSE_KEYS = {"name", "timezone", "exercises", "library"}
_ASSIGNMENT_KEYS = {"id", "title", "exercises", "due", "late_until", "late_penalty_per_day",
                    "attempts_per_hour", "counts", "hidden_feedback", "leaderboard"}


@dataclass(frozen=True)
class Assignment:
    """One assignment of course.toml, its dates resolved to aware datetimes."""

    id: str
    title: str
    exercises: tuple[str, ...]
    """Exercise ids, in the order course.toml lists them."""
    due: dt.datetime
    late_until: dt.datetime
    """Nothing is accepted after it; equal to `due` when course.toml leaves it out."""
    late_penalty_per_day: float
    """Fraction of the score lost per started day late (0..1)."""
    attempts_per_hour: int
    """Uploads per student in any sliding hour; 0 means no limit."""
    counts: str
    """'last' or 'best': which graded submission is the student's grade."""
    hidden_feedback: str
    """'after_due', 'immediate' or 'never': when students see their hidden checks."""
    leaderboard: bool = False
    """Whether the course's pages rank this assignment's timed exercises (passing uploads only)."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "exercises": list(self.exercises),
                "due": self.due.isoformat(), "late_until": self.late_until.isoformat(),
                "late_penalty_per_day": self.late_penalty_per_day,
                "attempts_per_hour": self.attempts_per_hour, "counts": self.counts,
                "hidden_feedback": self.hidden_feedback}


@dataclass(frozen=True)
class CourseSources:
    """Where a course's exercises come from: its own folders and the built-in library."""

    course_file: Path
    """The course.toml, absolute."""
    exercise_dirs: tuple[Path, ...]
    """Folders of exercise folders, absolute (course.toml's `exercises`, relative to it)."""
    library: bool | tuple[str, ...]
    """True: every built-in exercise; False: none; a tuple: those built-in ids."""
    exercises_given: bool = True
    """False when course.toml leaves `exercises` out: then a missing exercises/ folder is no error."""

    @property
    def root(self) -> Path:
        """The course repository: the folder holding course.toml."""
        return self.course_file.parent


@dataclass(frozen=True)
class Course:
    """A parsed course.toml."""

    name: str
    timezone: str
    """IANA name used for dates written without an offset ('' when none was given)."""
    assignments: tuple[Assignment, ...]
    path: Path
    sources: CourseSources | None = None
    """Where its exercises come from ([course]'s `exercises` and `library`)."""

    def assignment(self, assignment_id: str) -> Assignment:
        for assignment in self.assignments:
            if assignment.id == assignment_id:
                return assignment
        known = ", ".join(a.id for a in self.assignments)
        raise UsageError(f"{self.path}: no assignment '{assignment_id}' (assignments: {known})")


def _fail(where: str, message: str) -> UsageError:
    return UsageError(f"{where}: {message}")


def parse_when(value: Any, zone: ZoneInfo | None, where: str) -> dt.datetime:
    """An aware datetime from an ISO 8601 string or a TOML datetime; a bare date is refused."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise _fail(where, f"'{value}' has no time of day; write e.g. {value.strip()}T23:59:00")
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _fail(where, f"'{value}' is not a date and time such as 2026-12-10T23:59:00") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        raise _fail(where, f"'{value}' has no time of day; write e.g. {value}T23:59:00")
    if not isinstance(value, dt.datetime):
        raise _fail(where, "must be a date and time such as \"2026-12-10T23:59:00\"")
    if value.tzinfo is None:
        if zone is None:
            raise _fail(where, f"'{value.isoformat()}' has no UTC offset and [course] names no "
                               "timezone; add timezone = \"Asia/Shanghai\" (for example) or an offset")
        value = value.replace(tzinfo=zone)
    return value


def _number(table: dict[str, Any], key: str, default: float, where: str, kind: type) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            kind is int and not isinstance(value, int):
        raise _fail(where, f"'{key}' must be {'a whole number' if kind is int else 'a number'}")
    return kind(value)


def _choice(table: dict[str, Any], key: str, options: tuple[str, ...], where: str) -> str:
    value = table.get(key, options[0])
    if value not in options:
        raise _fail(where, f"'{key}' is {value!r}; it must be one of {', '.join(options)}")
    return value


def _exercises(table: dict[str, Any], where: str, known: set[str]) -> tuple[str, ...]:
    value = table.get("exercises")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(where, "'exercises' must be a non-empty list of exercise ids")
    unknown = [v for v in value if v not in known]
    if unknown:
        raise _fail(where, f"unknown exercise(s) {', '.join(unknown)} (see `nnlab list`)")
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise _fail(where, f"exercise(s) listed twice: {', '.join(repeated)}")
    return tuple(value)


def _assignment(table: Any, index: int, zone: ZoneInfo | None, path: Path,
                known: set[str]) -> Assignment:
    where = f"{path}: assignment {index + 1}"
    if not isinstance(table, dict):
        raise _fail(where, "each [[assignment]] must be a table")
    ident = table.get("id")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise _fail(where, "'id' must be a short name of letters, digits, '_', '-' or '.' (e.g. hw1)")
    where = f"{path}: assignment '{ident}'"
    extra = sorted(set(table) - _ASSIGNMENT_KEYS)
    if extra:
        raise _fail(where, f"unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(_ASSIGNMENT_KEYS))})")
    if "due" not in table:
        raise _fail(where, "'due' is missing")
    due = parse_when(table["due"], zone, f"{where}: 'due'")
    late_until = parse_when(table.get("late_until", due), zone, f"{where}: 'late_until'")
    if due > late_until:
        raise _fail(where, f"'due' ({due.isoformat()}) is after 'late_until' ({late_until.isoformat()})")
    penalty = _number(table, "late_penalty_per_day", 0.0, where, float)
    if not 0.0 <= penalty <= 1.0:
        raise _fail(where, "'late_penalty_per_day' must be a fraction between 0 and 1")
    attempts = _number(table, "attempts_per_hour", 0, where, int)
    if attempts < 0:
        raise _fail(where, "'attempts_per_hour' must be 0 (no limit) or more")
    title = table.get("title", ident)
    if not isinstance(title, str):
        raise _fail(where, "'title' must be a string")
    if not isinstance(table.get("leaderboard", False), bool):
        raise _fail(where, "'leaderboard' must be true or false")
    return Assignment(ident, title, _exercises(table, where, known), due, late_until, penalty,
                      attempts, _choice(table, "counts", COUNTS, where),
                      _choice(table, "hidden_feedback", HIDDEN_FEEDBACK, where),
                      table.get("leaderboard", False))


def parse_course(text: str, path: Path, known_exercises: set[str]) -> Course:
    """Validates course.toml text; every mistake is one UsageError naming the file and key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(str(path), f"not valid TOML ({exc})") from None
    course = data.get("course")
    if not isinstance(course, dict) or not isinstance(course.get("name"), str) or not course["name"]:
        raise _fail(str(path), "a [course] table with a 'name' is required")
    # [lti] (the LMS registrations) is read by nnlab.course.lti.registration.
    extra = sorted(set(course) - _COURSE_KEYS) + sorted(set(data) - {"course", "assignment", "lti"})
    if extra:
        raise _fail(str(path), f"unknown key(s) or table(s): {', '.join(extra)}")
    zone_name = course.get("timezone", "")
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise _fail(str(path), f"[course] timezone {zone_name!r} is not a known time zone "
                               "(e.g. Asia/Shanghai, Europe/Paris, UTC)") from None
    tables = data.get("assignment", [])
    if not isinstance(tables, list) or not tables:
        raise _fail(str(path), "no [[assignment]] tables")
    assignments = [_assignment(t, i, zone, path, known_exercises) for i, t in enumerate(tables)]
    seen: set[str] = set()
    for assignment in assignments:
        if assignment.id in seen:
            raise _fail(str(path), f"assignment id '{assignment.id}' is used twice")
        seen.add(assignment.id)
    return Course(course["name"], zone_name, tuple(assignments), path, parse_sources(data, path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (the course's course.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc})") from None


def parse_sources(data: dict[str, Any], path: Path) -> CourseSources:
    """[course]'s `exercises` (default ["exercises"]) and `library` (default true)."""
    course = data.get("course", {})
    course = course if isinstance(course, dict) else {}
    folders = course.get("exercises", ["exercises"])
    if not isinstance(folders, list) or not all(isinstance(f, str) and f for f in folders):
        raise _fail(str(path), "[course] 'exercises' must be a list of folders (e.g. [\"exercises\"])")
    library = course.get("library", True)
    if isinstance(library, list) and all(isinstance(i, str) for i in library):
        library = tuple(library)
    elif not isinstance(library, bool):
        raise _fail(str(path), "[course] 'library' must be true, false or a list of built-in ids")
    path = path.resolve()
    return CourseSources(path, tuple(path.parent / f for f in folders), library, "exercises" in course)


def read_sources(path: Path) -> CourseSources:
    """Only where the course's exercises come from: the catalogue needs it before the
    assignments can be checked against the catalogue."""
    path = Path(path)
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise _fail(str(path), f"not valid TOML ({exc})") from None
    return parse_sources(data, path)


def load_course(path: Path) -> Course:
    """Reads and validates course.toml against its own catalogue (its exercises and library)."""
    from nnlab.grader.exercise import load_catalogue

    path = Path(path)
    text = _read_text(path)
    return parse_course(text, path, {e.id for e in load_catalogue(path)})
