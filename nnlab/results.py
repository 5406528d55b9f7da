"""Frozen result records, from one check up to a whole submission, and their JSON form."""
from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from nnlab.errors import UsageError
from nnlab.wire.confinement import Confinement

__all__ = ["Outcome", "Visibility", "TimingInfo", "CheckResult", "Kind", "AdjustmentDecision", "Adjustment",
           "UnknownAdjustmentKind", "ExerciseResult", "Confinement", "SubmissionResult", "result_from_json"]


class Outcome(str, enum.Enum):
    """How a check ended; these five values are the stable interface scripts rely on."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    """Student code raised, or the worker crashed."""
    TIMEOUT = "timeout"
    SKIPPED = "skipped"
    """Not decided; the reason is in the message (for example timing too noisy)."""


class Visibility(str, enum.Enum):
    """Whether students see a check before submitting."""

    VISIBLE = "visible"
    HIDDEN = "hidden"


def _read_as(fallback: Any) -> dict[str, Any]:
    """Field metadata: the value read when a JSON object lacks the key (a callable gets the object)."""
    return {"missing": fallback}


class _JsonRecord:
    """A result record whose JSON form is derived from its dataclass fields (`record_json`)."""

    JSON_KEYS: ClassVar[tuple[str, ...]] = ()
    """The keys in output order, derived properties included; empty: the fields in order."""

    def to_json(self) -> dict[str, Any]:
        return record_json(self)


@dataclass(frozen=True)
class TimingInfo(_JsonRecord):
    """What a timing check measured, shown in reports."""

    device: str
    """Device name with torch (and CUDA) versions, e.g. 'cpu (torch 2.13.0, 2 threads)'."""
    ratio: float
    """Median student time divided by median reference time."""
    threshold: float
    """The ratio under which the check passes on this device."""
    spread: float
    """Relative spread (interquartile range over median) of the per-round ratios."""
    student_s: float
    """Median student time per call, in seconds."""
    reference_s: float
    """Median reference time per call, in seconds."""
    rounds: int
    """Interleaved measurement rounds that were taken."""


@dataclass(frozen=True)
class CheckResult(_JsonRecord):
    """The verdict on one check of one exercise."""

    JSON_KEYS = ("name", "score", "max_score", "outcome", "visibility", "message", "test_id",
                 "duration_s", "timing")

    name: str
    """Human name of the check: the first line of the test's docstring."""
    test_id: str = field(metadata=_read_as(lambda data: data["name"]))
    """The pytest function name, stable across runs (used as a column key)."""
    score: float
    max_score: float
    outcome: Outcome
    visibility: Visibility
    message: str = field(metadata=_read_as(""))
    """What was expected and what came back; never the hidden test's source."""
    duration_s: float = field(default=0.0, metadata={"round": 4})
    timing: TimingInfo | None = field(default=None, metadata={"omit_none": True})


class UnknownAdjustmentKind(UsageError, ValueError):
    """An adjustment kind that is not a Kind: the one message every reader of adjustments gives
    (a ValueError as well, so a reader of stored JSON treats it as malformed data)."""

    def __init__(self, value: object) -> None:
        expected = " or ".join(repr(kind.value) for kind in Kind)
        super().__init__(f"unknown adjustment kind {value!r} (expected {expected})")


class Kind(str, enum.Enum):
    """What an adjustment's points mean. The values are the stable interface: results.json's
    `kind`, the course server's JSON and SQLite rows, and adjustments.csv's points columns."""

    DELTA = "delta"
    """Points added (negative to take away)."""
    OVERRIDE = "override"
    """The points to set."""

    # Written as its value wherever it is formatted (as StrEnum does), so text and files built
    # with f-strings stay what they were when the kind was a plain string.
    __str__ = str.__str__

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    @classmethod
    def _missing_(cls, value: object) -> Kind:
        raise UnknownAdjustmentKind(value)

    @classmethod
    def parse(cls, value: object) -> Kind:
        """The kind a stored or typed value names; UnknownAdjustmentKind for anything else."""
        return cls(value)


@dataclass(frozen=True, kw_only=True)
class AdjustmentDecision:
    """What an instructor decided about one exercise's score: the fields every adjustment record
    shares (applied in a result, a line of adjustments.csv, a row on the course server).

    Keyword-only, so that each variant adds its own fields without an argument order to keep."""

    kind: Kind
    """Delta (points added, negative to take away) or override (the points to set); a plain
    string is accepted and checked (`Kind.parse`)."""
    points: float
    """The delta or the override as the instructor wrote it."""
    reason: str = field(metadata=_read_as(""))
    """Why, in the instructor's words: shown to the student beside the score."""
    author: str = field(metadata=_read_as(""))
    """Who decided it."""
    check: str = field(default="", metadata={"empty_is_null": True})
    """The test id of the check it applies to; empty for the exercise as a whole."""

    def __post_init__(self) -> None:
        # The one place a kind is checked: every reader and constructor goes through here.
        object.__setattr__(self, "kind", Kind.parse(self.kind))

    def decision(self) -> dict[str, Any]:
        """The shared fields, to build another variant of the same adjustment from this one."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(AdjustmentDecision)}


@dataclass(frozen=True, kw_only=True)
class Adjustment(AdjustmentDecision, _JsonRecord):
    """An instructor's adjustment as applied to one exercise's score, after grading."""

    JSON_KEYS = ("check", "kind", "points", "change", "reason", "author", "date")

    change: float
    """What it changed the exercise score by once clamped to [0, max]: the number reports add up."""
    date: str = field(default="", metadata=_read_as(""))
    """When the instructor decided it, as written (ISO 8601); empty when not given."""


@dataclass(frozen=True)
class ExerciseResult(_JsonRecord):
    """All checks of one exercise for one submission file."""

    JSON_KEYS = ("id", "title", "score", "max_score", "original_score", "adjustments", "note",
                 "submitted", "checks")

    id: str
    title: str = field(metadata=_read_as(lambda data: data["id"]))
    checks: tuple[CheckResult, ...]
    max_score: float
    """The exercise's points, also when no check could run (a missing file)."""
    note: str = ""
    """Why the exercise scored nothing as a whole (missing file, syntax error, banned API)."""
    submitted: bool = True
    """False when the student handed in no file for this exercise: shown as one line,
    scored zero against the same maximum, and left out of check pass rates."""
    adjustments: tuple[Adjustment, ...] = ()
    """Instructor adjustments applied after grading, in the order applied; the checks keep
    the scores they were graded with."""

    @property
    def original_score(self) -> float:
        """The score the checks gave, before any instructor adjustment."""
        return round(sum(c.score for c in self.checks), 6)

    @property
    def score(self) -> float:
        """The score that counts (reports, scores.csv, exports): the checks' score plus what
        each adjustment changed."""
        return round(self.original_score + sum(a.change for a in self.adjustments), 6)


@dataclass(frozen=True)
class SubmissionResult(_JsonRecord):
    """One student's graded submission: the object `nnlab submit --json` prints."""

    JSON_KEYS = ("student", "score", "max_score", "original_score", "exercises", "seed",
                 "confinement", "device", "nnlab_version", "graded_at")

    student: str | None = field(metadata=_read_as(None))
    exercises: tuple[ExerciseResult, ...]
    seed: int = field(metadata=_read_as(0))
    """The per-run secret seed; `--seed` reproduces the same inputs."""
    confinement: Confinement = field(metadata=_read_as(Confinement("none", ())))
    device: str = field(metadata=_read_as(""))
    """Where timing checks ran."""
    nnlab_version: str = field(metadata=_read_as(""))
    graded_at: str = field(metadata=_read_as(""))
    """ISO 8601 timestamp, UTC."""

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 6)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 6)

    @property
    def original_score(self) -> float:
        """The total the checks gave, before instructor adjustments."""
        return round(sum(e.original_score for e in self.exercises), 6)


# -- the JSON form, derived from the fields ---------------------------------------------------
# results.json, `nnlab submit --json` and the course server's stored results all use it: the
# keys, their order and the rounding are a stable interface. A field's metadata says what
# differs from writing its value as it is: "round" (digits), "omit_none" (no key when None),
# "empty_is_null" ("" written as null), "missing" (what a reader takes when the key is absent).


def record_json(record: Any) -> dict[str, Any]:
    """The JSON object of a result record (a dataclass): the keys its class lists, in order."""
    data: dict[str, Any] = {}
    kind: type = type(record)
    for key, omit_none, digits, empty_is_null in _json_plan(kind):
        value = getattr(record, key)
        if value is None and omit_none:
            continue
        if digits is not None:
            value = round(value, digits)
        data[key] = None if empty_is_null and not value else _json_value(value)
    return data


@functools.cache
def _json_plan(cls: type) -> tuple[tuple[str, bool, int | None, bool], ...]:
    """(key, omit_none, round digits, empty_is_null) for each key of `cls`'s JSON, read once
    per class: results.json of 300 x 24 writes 80,000 records."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    plan = []
    for key in getattr(cls, "JSON_KEYS", ()) or tuple(fields):
        meta = fields[key].metadata if key in fields else {}
        plan.append((key, bool(meta.get("omit_none")), meta["round"] if "round" in meta else None,
                     bool(meta.get("empty_is_null"))))
    return tuple(plan)


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _is_record(kind: type) -> bool:
    return dataclasses.is_dataclass(kind)


def _json_value(value: Any) -> Any:
    kind: type = type(value)
    if kind in _PLAIN_TYPES:  # exactly: an Enum deriving from str is not plain
        return value
    if _is_record(kind):
        return record_json(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Record = TypeVar("_Record", bound="DataclassInstance")


def record_from_json(cls: type[_Record], data: dict[str, Any]) -> _Record:
    """Rebuilds a result record of `cls` from its JSON object (derived properties are ignored)."""
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        raw = data.get(f.name)
        if raw is None or (raw in ({}, "") and dataclasses.is_dataclass(hints[f.name])):
            if "missing" in f.metadata:
                fallback = f.metadata["missing"]
                values[f.name] = fallback(data) if callable(fallback) else fallback
                continue
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            if f.name not in data:
                raise KeyError(f.name)
        values[f.name] = "" if raw is None and f.metadata.get("empty_is_null") else \
            _from_json_value(hints[f.name], raw)
    return cls(**values)


def _from_json_value(hint: Any, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        if value is None or (not value and dataclasses.is_dataclass(inner)):
            return None
        return _from_json_value(inner, value)
    if origin is tuple:
        return tuple(_from_json_value(args[0], v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record_from_json(hint, value)
    if isinstance(hint, type) and issubclass(hint, (enum.Enum, float, int, bool)):
        return hint(value)
    return value


def result_from_json(data: dict[str, Any]) -> SubmissionResult:
    """Rebuilds a SubmissionResult from its JSON form (for re-rendering reports)."""
    return record_from_json(SubmissionResult, data)


def format_seconds(seconds: float) -> str:
    """A duration with a readable unit, the one way nnlab writes them: '850 µs', '12.3 ms', '1.5 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
