"""course.toml: the course and its assignments, validated with one clear error per mistake."""
from __future__ import annotations

import datetime as dt
import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from nnlab.course.toml_lines import Place, decode_error_line, line_of, shown
from nnlab.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

COUNTS = ("last", "best")
HIDDEN_FEEDBACK = ("after_due", "immediate", "never")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


def _must(text: str) -> dict[str, Any]:
    """What a key's value must be: the error when it is not (kept beside the field)."""
    return {"must": text}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{shown(name)} is not a known time zone (e.g. Asia/Shanghai, "
                         "Europe/Paris, UTC)") from None


def _when(value: Any, zone: ZoneInfo | None) -> dt.datetime:
    """An aware datetime from an ISO 8601 string or a TOML datetime; a bare date is refused."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValueError(f"'{value}' has no time of day; write e.g. {value.strip()}T23:59:00")
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a date and time such as 2026-12-10T23:59:00") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        raise ValueError(f"'{value}' has no time of day; write e.g. {value}T23:59:00")
    if not isinstance(value, dt.datetime):
        raise ValueError("must be a date and time such as \"2026-12-10T23:59:00\"")
    if value.tzinfo is None:
        if zone is None:
            raise ValueError(f"'{value.isoformat()}' has no UTC offset and [course] names no "
                             "timezone; add timezone = \"Asia/Shanghai\" (for example) or an offset")
        value = value.replace(tzinfo=zone)
    return value


class _Table(BaseModel):
    """A table of course.toml: TOML's own types (strict: 1 is not true, "6" is not a number)
    and no unknown key, since a mistyped key silently ignored would grade with its default."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SourcesTable(_Table):
    """[course]'s keys that say where the exercises come from, read before the catalogue exists."""

    model_config = ConfigDict(extra="ignore")

    exercises: list[str] = Field(["exercises"], description="Folders of the course's own exercises",
                                 json_schema_extra=_must('must be a list of folders (e.g. ["exercises"])'))
    library: bool | list[str] = Field(True, description="Built-in exercises: all, none or these ids",
                                      json_schema_extra=_must("must be true, false or a list of built-in ids"))

    check_api: str | None = Field(None, description="The check API the course's checks were written for",
                                  json_schema_extra=_must('must be a version such as "1.0" (MAJOR.MINOR)'))

    @field_validator("exercises")
    @classmethod
    def _folders(cls, value: list[str]) -> list[str]:
        if not all(value):
            raise ValueError('must be a list of folders (e.g. ["exercises"])')
        return value


class CourseTable(SourcesTable):
    """[course]."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Shown in the kit and to students",
                      json_schema_extra=_must("must be the course's name, a string"))
    timezone: str = Field("", description="IANA name for dates written without an offset",
                          json_schema_extra=_must('must be a time zone name such as "Asia/Shanghai"'))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value:
            _zone(value)
        return value


_DATE = _must('must be a date and time such as "2026-12-10T23:59:00"')


class AssignmentTable(_Table):
    """One [[assignment]]."""

    id: str = Field(pattern=_ID.pattern, json_schema_extra=_must(
        "must be a short name of letters, digits, '_', '-' or '.' (e.g. hw1)"))
    title: str | None = Field(None, json_schema_extra=_must("must be a string"))
    exercises: list[str] = Field(min_length=1, json_schema_extra=_must(
        "must be a non-empty list of exercise ids"))
    due: dt.datetime = Field(json_schema_extra=_DATE)
    late_until: dt.datetime | None = Field(None, json_schema_extra=_DATE)
    late_penalty_per_day: float = Field(0.0, ge=0, le=1, json_schema_extra=_must(
        "must be a fraction between 0 and 1 (0.10 is 10 %)"))
    attempts_per_hour: int = Field(0, ge=0, json_schema_extra=_must(
        "must be a whole number, 0 (no limit) or more"))
    counts: Literal["last", "best"] = Field("last", json_schema_extra=_must(
        f"must be one of {', '.join(COUNTS)}"))
    hidden_feedback: Literal["after_due", "immediate", "never"] = Field(
        "after_due", json_schema_extra=_must(f"must be one of {', '.join(HIDDEN_FEEDBACK)}"))
    leaderboard: bool = Field(False, json_schema_extra=_must("must be true or false"))

    @field_validator("due", "late_until", mode="before")
    @classmethod
    def _dates(cls, value: Any, info: ValidationInfo) -> Any:
        return _when(value, (info.context or {}).get("zone"))

    @field_validator("exercises")
    @classmethod
    def _catalogued(cls, value: list[str], info: ValidationInfo) -> list[str]:
        known = (info.context or {}).get("known")
        unknown = [v for v in value if known is not None and v not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(known or ()), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ValueError(f"unknown exercise(s) {', '.join(unknown)} (see `nnlab list`){hint}")
        repeated = sorted({v for v in value if value.count(v) > 1})
        if repeated:
            raise ValueError(f"exercise(s) listed twice: {', '.join(repeated)}")
        return value


class CourseFile(_Table):
    """The whole of course.toml."""

    course: CourseTable
    assignment: list[AssignmentTable] = Field(min_length=1)
    lti: Any = None
    """[lti] (the LMS registrations) is read by nnlab.course.lti.registration."""


_COURSE_KEYS = set(CourseTable.model_fields)
_ASSIGNMENT_KEYS = set(AssignmentTable.model_fields)
_TABLES: dict[str, type[_Table]] = {"course": CourseTable, "assignment": AssignmentTable, "": CourseFile}


@dataclass(frozen=True)
class _Problem:
    """One mistake: the table it is in, the key (None: the table itself) and what is wrong."""

    place: Place
    key: str | None
    message: str


def _at(path: Path, text: str, problem: _Problem) -> UsageError:
    """`course.toml:LINE: message`, the line of the key (or its table) when it can be found."""
    line = line_of(text, problem.place, problem.key)
    return UsageError(f"{path}{f':{line}' if line else ''}: {problem.message}")


def _label(place: Place, data: dict[str, Any]) -> str:
    if place.name != "assignment":
        return f"[{place.name}]"
    tables = data.get("assignment")
    table = tables[place.index] if isinstance(tables, list) and place.index < len(tables) else None
    ident = table.get("id") if isinstance(table, dict) else None
    return f"[[assignment]] {ident!r}" if isinstance(ident, str) and _ID.match(ident) \
        else f"[[assignment]] #{place.index + 1}"


def _unknown(key: str, known: Any) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known))}"


def _problem(error: Any, data: dict[str, Any]) -> _Problem:
    """A pydantic error as course.toml's words: the table, the key, what it must be."""
    loc, kind = error["loc"], error["type"]
    if loc[0] == "assignment" and len(loc) > 1 and isinstance(loc[1], int):
        place, key = Place("assignment", loc[1]), (str(loc[2]) if len(loc) > 2 else None)
    elif loc[0] == "course" and len(loc) > 1:
        place, key = Place("course"), str(loc[1])
    else:
        place, key = Place(""), str(loc[0])
    if key is None:
        return _Problem(place, None, "each [[assignment]] must be a table")
    model = _TABLES[place.name]
    if kind == "extra_forbidden":
        where = f"{_label(place, data)} {key}" if place.name else key
        what = "key" if place.name else "table or key"
        return _Problem(place, key, f"{where}: unknown {what}; {_unknown(key, model.model_fields)}")
    if not place.name:
        if key == "course":
            return _Problem(place, key, "a [course] table with a 'name' is required")
        return _Problem(place, key, "no [[assignment]] tables" if kind in ("missing", "too_short")
                        else "each assignment is an [[assignment]] table (two brackets)")
    if kind == "missing":
        return _Problem(place, None, f"{_label(place, data)}: '{key}' is missing (it is required)")
    if kind == "value_error":
        why = str(error["ctx"]["error"])
    else:
        extra = model.model_fields[key].json_schema_extra
        why = str(extra["must"]) if isinstance(extra, dict) else error["msg"]
        why += f" (not {shown(error['input'])})"
    return _Problem(place, key, f"{_label(place, data)} {key}: {why}")


def _validated(model: type[_Table], data: Any, text: str, path: Path,
               context: dict[str, Any]) -> Any:
    """`data` as `model`, or the first mistake (an unknown key before all else) as one UsageError."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        errors = exc.errors()
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        raw = data if isinstance(data, dict) else {}
        if model is SourcesTable:  # [course] alone: its keys as the whole file's
            first, raw = {**first, "loc": ("course", *first["loc"])}, {"course": raw}
        raise _at(path, text, _problem(first, raw)) from None


def _toml(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = decode_error_line(str(exc))
        raise UsageError(f"{path}{f':{line}' if line else ''}: not valid TOML ({exc})") from None


def _assignment(table: AssignmentTable, index: int, text: str, path: Path,
                data: dict[str, Any]) -> Assignment:
    late_until = table.late_until or table.due
    if table.due > late_until:
        raise _at(path, text, _Problem(
            Place("assignment", index), "late_until",
            f"{_label(Place('assignment', index), data)}: 'due' ({table.due.isoformat()}) is after "
            f"'late_until' ({late_until.isoformat()})"))
    return Assignment(table.id, table.title if table.title is not None else table.id,
                      tuple(table.exercises), table.due, late_until, table.late_penalty_per_day,
                      table.attempts_per_hour, table.counts, table.hidden_feedback, table.leaderboard)


def parse_course(text: str, path: Path, known_exercises: set[str]) -> Course:
    """Validates course.toml text; every mistake is one UsageError naming the file, the line,
    the table and the key."""
    data = _toml(text, path)
    course = data.get("course")
    try:  # the dates' zone; a bad one is reported as [course]'s own error
        zone = _zone(course["timezone"]) if isinstance(course, dict) and course.get("timezone") else None
    except ValueError:
        zone = None
    parsed = _validated(CourseFile, data, text, path, {"zone": zone, "known": known_exercises})
    assignments = [_assignment(t, i, text, path, data) for i, t in enumerate(parsed.assignment)]
    first: dict[str, int] = {}
    for index, assignment in enumerate(assignments):
        if assignment.id in first:
            earlier = line_of(text, Place("assignment", first[assignment.id]), "id")
            raise _at(path, text, _Problem(
                Place("assignment", index), "id", f"assignment id '{assignment.id}' is used twice"
                + (f" (first at line {earlier})" if earlier else "")))
        first[assignment.id] = index
    return Course(parsed.course.name, parsed.course.timezone, tuple(assignments), path,
                  _sources(parsed.course, path, text))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (the course's course.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc})") from None


def _sources(table: SourcesTable, path: Path, text: str) -> CourseSources:
    from nnlab.check_api import require_check_api

    line = line_of(text, Place("course"), "check_api")
    require_check_api(table.check_api, f"{path}:{line}" if line else str(path))
    library = tuple(table.library) if isinstance(table.library, list) else table.library
    path = path.resolve()
    return CourseSources(path, tuple(path.parent / f for f in table.exercises), library,
                         "exercises" in table.model_fields_set)


def read_sources(path: Path) -> CourseSources:
    """Only where the course's exercises come from ([course]'s `exercises`, default
    ["exercises"], and `library`, default true): the catalogue needs it before the assignments
    can be checked against the catalogue."""
    path = Path(path)
    text = _read_text(path)
    course = _toml(text, path).get("course", {})
    table = _validated(SourcesTable, course if isinstance(course, dict) else {}, text, path, {})
    return _sources(table, path, text)


def load_course(path: Path) -> Course:
    """Reads and validates course.toml against its own catalogue (its exercises and library)."""
    from nnlab.grader.exercise import load_catalogue

    path = Path(path)
    text = _read_text(path)
    return parse_course(text, path, {e.id for e in load_catalogue(path)})
