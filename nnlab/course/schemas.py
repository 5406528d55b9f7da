"""The course server's JSON API as Pydantic models: what each /api/v1 route answers, read back by the client."""
from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from nnlab.errors import NnlabError
from nnlab.results import Confinement, Kind, Outcome, TimingInfo, Visibility

# The models mirror the JSON the routes answered before they existed, key for key and in the
# same order: a field with a default is one the server leaves out where it does not apply, so
# every answer is written with `exclude_unset` (set: present, even when null; unset: absent).
# Dates stay ISO 8601 text, written as the server wrote them.
#
# A result record whose JSON form is its fields as they are, in their order (TimingInfo,
# Confinement), is the field's type itself: Pydantic reads and writes a frozen dataclass field by
# field, which is then the same JSON. The others have their own key order (CheckResult's
# JSON_KEYS), keys derived from properties (scores) or keys only one view has (a student's
# hidden_checks), so their models here say what each view writes.

__all__ = ["Refusal", "AssignmentInfo", "Accepted", "Submission", "SubmissionFiles", "CountedResult",
           "StudentResult", "StoredAdjustment", "AdjustmentAdded", "ExtensionInfo", "LtiSyncQueued",
           "ReplyMismatch", "read_reply", "read_replies", "refusals"]


class ApiModel(BaseModel):
    """A record of the API: read-only once built; keys a newer server adds are ignored by an
    older client rather than refused."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Refusal(ApiModel):
    """Every refusal (4xx, 5xx): one line saying why; a request FastAPI itself finds malformed
    answers a list of what is wrong instead."""

    detail: str | list[dict[str, object]]


class AssignmentInfo(ApiModel):
    """GET /api/v1/assignments: one assignment with the caller's dates (a student's extension)."""

    id: str
    title: str
    exercises: list[str]
    due: str
    late_until: str
    """Nothing is accepted after it."""
    late_penalty_per_day: float
    attempts_per_hour: int
    """0: no limit."""
    counts: Literal["last", "best"]
    hidden_feedback: Literal["after_due", "immediate", "never"]
    closed: bool
    late_days_now: int
    """The started days late an upload now would count."""
    attempts_left: int | None = None
    """Uploads the student has left this hour; absent for the instructor and without a limit."""


class Accepted(ApiModel):
    """POST /api/v1/submissions (202): the upload is stored and queued."""

    id: str
    status: Literal["queued"]
    late_days: int
    attempts_left: int | None
    """None when the assignment has no limit."""
    submitted_at: str


class Check(ApiModel):
    """One check's verdict (a hidden one is shown to a student only once allowed)."""

    name: str
    score: float
    max_score: float
    outcome: Outcome
    visibility: Visibility
    message: str
    test_id: str
    duration_s: float | None = None
    """The instructor's view only."""
    timing: TimingInfo | None = None
    """Timing checks only."""


class AppliedAdjustment(ApiModel):
    """An instructor adjustment as applied to an exercise's score."""

    check: str | None
    """The check's test id; None for the exercise as a whole (or, for a student, a hidden check)."""
    kind: Kind
    points: float
    change: float | None = None
    """What it changed the score by; absent while a student's hidden checks are withheld."""
    reason: str
    author: str
    date: str
    hidden_check: bool | None = None
    """True when it applies to a hidden check a student cannot see yet (its id withheld)."""


class CountedExercise(ApiModel):
    """One exercise of the instructor's (whole) result."""

    id: str
    title: str
    score: float
    max_score: float
    original_score: float
    """What the checks gave, before adjustments."""
    adjustments: list[AppliedAdjustment]
    note: str
    submitted: bool
    checks: list[Check]


class CountedResult(ApiModel):
    """A whole result as the instructor reads it (results.json's form, adjusted, the late penalty
    applied), with its upload's facts after it: score = raw_score x (1 - late_penalty)."""

    student: str | None
    score: float
    max_score: float
    original_score: float
    exercises: list[CountedExercise]
    seed: int
    confinement: Confinement
    device: str
    nnlab_version: str
    graded_at: str
    submission_id: str | None
    """None: no graded upload (every exercise not submitted)."""
    submitted_at: str | None
    late_days: int
    late_penalty: float
    raw_score: float


class StudentExercise(ApiModel):
    """One exercise as its student may see it: hidden checks counted, never described, until allowed."""

    id: str
    title: str
    score: float
    max_score: float
    original_score: float | None = None
    """Present once hidden checks are shown."""
    adjustments: list[AppliedAdjustment] | None = None
    """Present once hidden checks are shown."""
    note: str
    submitted: bool
    checks: list[Check]
    hidden_checks: int
    full_score_adjustments: list[AppliedAdjustment] | None = None
    """While hidden checks are withheld: the adjustments as written, without what they changed."""


class StudentResult(ApiModel):
    """A result as its student may see it, the late penalty applied to the totals."""

    student: str | None
    score: float
    max_score: float
    raw_score: float
    late_days: int
    late_penalty: float
    hidden_checks: int
    hidden_note: str
    exercises: list[StudentExercise]
    confinement: str
    """In words."""
    device: str
    nnlab_version: str
    graded_at: str


class Submission(ApiModel):
    """GET /api/v1/submissions[/ID]: an upload, and its result as the caller may see it."""

    id: str
    student: str
    assignment: str
    status: Literal["queued", "running", "done", "error"]
    submitted_at: str
    late_days: int
    files: list[str]
    result: CountedResult | StudentResult | None
    """The instructor's whole result, or the student's view; None until graded."""
    score: float | None
    max_score: float | None
    queue_position: int | None = None
    """Queued uploads only."""
    queue_estimate_s: int | None = None
    """Queued uploads only, once the server can estimate."""
    error: str | None = None
    """Uploads the grader failed on only."""


class SubmittedFile(ApiModel):
    name: str
    content: str
    """Base64."""


class SubmissionFiles(ApiModel):
    """GET /api/v1/submissions/ID/files: the upload's files."""

    id: str
    student: str
    files: list[SubmittedFile]


class StoredAdjustment(ApiModel):
    """GET /api/v1/assignments/ID/adjustments: one stored adjustment, in the order they apply."""

    id: int
    """The server's number for it (its order of application)."""
    assignment: str
    student: str
    exercise: str
    check: str | None
    kind: Kind
    points: float
    reason: str
    author: str
    date: str


class CountedEffect(ApiModel):
    """What an adjustment does to the student's counted result on the exercise now."""

    submission_id: str | None
    original_score: float
    adjusted_score: float
    score: float
    """After the late penalty."""
    max_score: float
    late_penalty: float


class AdjustmentAdded(StoredAdjustment):
    """POST /api/v1/assignments/ID/adjustments (201): the stored adjustment and its effect."""

    applied: bool
    unmatched: str | None
    """Why it matched nothing yet (a check id unknown to the counted result)."""
    counted: CountedEffect | None


class ExtensionInfo(ApiModel):
    """GET /api/v1/assignments/ID/extensions: what one student was granted beyond the rules."""

    assignment: str
    student: str
    due: str | None
    late_until: str | None
    extra_attempts: int
    reason: str
    author: str
    created_at: str


class LtiSyncQueued(ApiModel):
    """POST /api/v1/lti/sync: the counted scores queued for the LMS."""

    assignment: str
    queued: int
    platforms: int


_WHY = {401: "No token, or one that is wrong or revoked.", 403: "The token's role may not do this.",
        404: "No such assignment or submission (another student's answers as unknown).",
        413: "The body is over the size limit.", 422: "The request is malformed; the detail says how.",
        429: "Too many uploads this hour; Retry-After says when to try again."}


def refusals(*statuses: int, files: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI's description of a route's refusals: each `{"detail": "why"}` (a Refusal). For a
    route that answers a file, the model is named as JSON by reference (given as a model, FastAPI
    would describe it as the file's media type)."""
    if files:
        json = {"application/json": {"schema": {"$ref": f"#/components/schemas/{Refusal.__name__}"}}}
        return {status: {"description": _WHY[status], "content": json} for status in statuses}
    return {status: {"model": Refusal, "description": _WHY[status]} for status in statuses}


M = TypeVar("M", bound=ApiModel)


class ReplyMismatch(NnlabError):
    """The server answered with JSON this nnlab does not read: another version of nnlab."""


_OTHER_VERSION = "is the server running another version of nnlab?"


def read_reply(model: type[M], data: object, where: str) -> M:
    """`data` (a decoded JSON answer to `where`) as `model`, or one line saying what does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "the answer"
        raise ReplyMismatch(f"{where}: the answer does not fit this nnlab's {model.__name__} "
                            f"({field}: {first['msg'].lower()}); {_OTHER_VERSION}") from None


def read_replies(model: type[M], data: object, where: str) -> list[M]:
    """A JSON list answer, each item as `model`."""
    if not isinstance(data, list):
        raise ReplyMismatch(f"{where}: the answer is {type(data).__name__}, not a list of {model.__name__}; "
                            f"{_OTHER_VERSION}")
    return [read_reply(model, item, f"{where}, item {index}") for index, item in enumerate(data)]


def to_json(model: ApiModel) -> dict[str, object]:
    """The record as the server wrote it (keys left out stay out)."""
    return model.model_dump(mode="json", exclude_unset=True)
