"""The one exception hierarchy: every user-facing failure is an NnlabError."""
from __future__ import annotations


class NnlabError(Exception):
    """A problem the user can fix; the CLI prints it as one line and exits 2."""


class UsageError(NnlabError):
    """The command line names something that does not exist or cannot be read."""


class ExerciseFormatError(NnlabError):
    """An exercise folder is broken: a bad exercise.toml, a missing stub or solution."""


class SubmissionError(NnlabError):
    """A submission cannot be graded at all (not a file, not UTF-8, a link outside)."""


class WorkerFault(NnlabError):
    """The worker running student code failed; the check in flight loses its points."""


class StudentCodeError(WorkerFault):
    """Student code raised an exception; the message carries its type and text."""


class WorkerCrashed(WorkerFault):
    """The worker process died (exit, signal, memory) while serving a request."""


class WorkerTimeout(WorkerFault):
    """The worker did not answer within the check's wall-time limit."""

    def __init__(self, message: str, loop_site: object = None) -> None:
        super().__init__(message)
        self.loop_site = loop_site
        """Where the submission was when time ran out (a nnlab.wire.looping.LoopSite), if known."""


class LoopedAgain(WorkerTimeout):
    """Code that ran out of time in an earlier check ran past its short grace again."""


class LoadTimeout(WorkerTimeout):
    """The submission's file itself did not finish loading (import-time code) in time."""


class ProtocolViolation(WorkerFault):
    """The worker sent something the grader does not accept (wrong type, forged data)."""


class BadRequest(NnlabError):
    """The worker refused a request the grader sent (an unknown operation, a field missing,
    extra or mistyped): a grader bug, never the student's; not a WorkerFault, so the check
    records an internal grader error."""


class BannedApiUsed(WorkerFault):
    """Student code called an API the exercise bans (caught at run time)."""


class RequestRejected(NnlabError):
    """A request the course server refuses (a token, an upload, an adjustment): nothing is stored.
    The one way its code refuses; the server answers `{"detail": ...}` with the status."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        """The HTTP status the server answers with."""
        self.detail = detail
        self.headers = headers or {}
        """Headers the answer carries (WWW-Authenticate on a 401, Retry-After on a 429)."""
