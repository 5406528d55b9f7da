"""Frozen result records, from one check up to a whole submission, and their JSON form."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from nnlab.wire.confinement import Confinement

__all__ = ["Outcome", "Visibility", "TimingInfo", "CheckResult", "ExerciseResult", "Confinement",
           "SubmissionResult", "result_from_json"]


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


@dataclass(frozen=True)
class TimingInfo:
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
class CheckResult:
    """The verdict on one check of one exercise."""

    name: str
    """Human name of the check: the first line of the test's docstring."""
    test_id: str
    """The pytest function name, stable across runs (used as a column key)."""
    score: float
    max_score: float
    outcome: Outcome
    visibility: Visibility
    message: str
    """What was expected and what came back; never the hidden test's source."""
    duration_s: float = 0.0
    timing: TimingInfo | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "outcome": self.outcome.value,
            "visibility": self.visibility.value,
            "message": self.message,
            "test_id": self.test_id,
            "duration_s": round(self.duration_s, 4),
        }
        if self.timing is not None:
            data["timing"] = {k: getattr(self.timing, k) for k in self.timing.__dataclass_fields__}
        return data


@dataclass(frozen=True)
class Adjustment:
    """An instructor's change to one exercise's score, applied after grading, with its reason."""

    kind: str
    """'delta' (points added, negative to take away) or 'override' (the points to set)."""
    points: float
    """The delta or the override as the instructor wrote it."""
    change: float
    """What it changed the exercise score by once clamped to [0, max]: the number reports add up."""
    reason: str
    """Why, in the instructor's words: shown to the student beside the score."""
    author: str
    """Who decided it."""
    date: str
    """When the instructor decided it, as written (ISO 8601); empty when not given."""
    check: str = ""
    """The test id of the check it applies to; empty for the exercise as a whole."""

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check or None,
            "kind": self.kind,
            "points": self.points,
            "change": self.change,
            "reason": self.reason,
            "author": self.author,
            "date": self.date,
        }


@dataclass(frozen=True)
class ExerciseResult:
    """All checks of one exercise for one submission file."""

    id: str
    title: str
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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "max_score": self.max_score,
            "original_score": self.original_score,
            "adjustments": [a.to_json() for a in self.adjustments],
            "note": self.note,
            "submitted": self.submitted,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True)
class SubmissionResult:
    """One student's graded submission: the object `nnlab submit --json` prints."""

    student: str | None
    exercises: tuple[ExerciseResult, ...]
    seed: int
    """The per-run secret seed; `--seed` reproduces the same inputs."""
    confinement: Confinement
    device: str
    """Where timing checks ran."""
    nnlab_version: str
    graded_at: str
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

    def to_json(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "original_score": self.original_score,
            "exercises": [e.to_json() for e in self.exercises],
            "seed": self.seed,
            "confinement": {
                "level": self.confinement.level,
                "applied": list(self.confinement.applied),
                "missing": list(self.confinement.missing),
            },
            "device": self.device,
            "nnlab_version": self.nnlab_version,
            "graded_at": self.graded_at,
        }


def result_from_json(data: dict[str, Any]) -> SubmissionResult:
    """Rebuilds a SubmissionResult from its JSON form (for re-rendering reports)."""
    exercises = []
    for ex in data["exercises"]:
        checks = []
        for c in ex["checks"]:
            timing = TimingInfo(**c["timing"]) if c.get("timing") else None
            checks.append(
                CheckResult(
                    name=c["name"],
                    test_id=c.get("test_id", c["name"]),
                    score=float(c["score"]),
                    max_score=float(c["max_score"]),
                    outcome=Outcome(c["outcome"]),
                    visibility=Visibility(c["visibility"]),
                    message=c.get("message", ""),
                    duration_s=float(c.get("duration_s", 0.0)),
                    timing=timing,
                )
            )
        adjustments = tuple(
            Adjustment(kind=a["kind"], points=float(a["points"]), change=float(a["change"]),
                       reason=a.get("reason", ""), author=a.get("author", ""),
                       date=a.get("date", ""), check=a.get("check") or "")
            for a in ex.get("adjustments", ())
        )
        exercises.append(
            ExerciseResult(
                id=ex["id"], title=ex.get("title", ex["id"]), checks=tuple(checks),
                max_score=float(ex["max_score"]), note=ex.get("note", ""),
                submitted=bool(ex.get("submitted", True)), adjustments=adjustments,
            )
        )
    conf = data.get("confinement") or {}
    return SubmissionResult(
        student=data.get("student"),
        exercises=tuple(exercises),
        seed=int(data.get("seed", 0)),
        confinement=Confinement(
            level=conf.get("level", "none"),
            applied=tuple(conf.get("applied", ())),
            missing=tuple(conf.get("missing", ())),
        ),
        device=data.get("device", ""),
        nnlab_version=data.get("nnlab_version", ""),
        graded_at=data.get("graded_at", ""),
    )


def format_seconds(seconds: float) -> str:
    """A duration with a readable unit, the one way nnlab writes them: '850 µs', '12.3 ms', '1.5 s'."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"
