"""The course server's client (urllib): the saved login, requests, one clear line per failure."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nnlab.course.schemas import (ApiModel, AssignmentInfo, Refusal, StudentResult, Submission, read_replies,
                                  read_reply)
from nnlab.course.tomlw import dumps
from nnlab.errors import NnlabError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

SERVER_ENV = "NNLAB_SERVER"
TOKEN_ENV = "NNLAB_TOKEN"


def config_path() -> Path:
    """$XDG_CONFIG_HOME/nnlab/config.toml, else ~/.config/nnlab/config.toml."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nnlab" / "config.toml"


def _saved() -> dict[str, Any]:
    path = config_path()
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read ({exc}); run `nnlab login URL` again") from None


def save_login(server: str, token: str) -> Path:
    """Writes the server and token to the config file, readable and writable by the user only."""
    path = config_path()
    data = {k: v for k, v in _saved().items() if k not in ("server", "token")}
    data.update(server=server, token=token)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(dumps(data))
    os.chmod(staging, 0o600)  # umask may have taken bits; the token is a password
    os.replace(staging, path)
    return path


def normalize_url(url: str) -> str:
    parsed = urllib.parse.urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(f"{url!r} is not a server address such as https://nnlab.example.edu")
    return url.strip().rstrip("/")


def configured_server() -> str | None:
    """The course server: $NNLAB_SERVER, else the saved login, else the student kit's; None for none."""
    from nnlab.course.kit import read_kit

    from nnlab.settings import read_settings

    server = read_settings("server").server or _saved().get("server")
    if not server:
        kit = read_kit() or {}
        server = kit.get("course", {}).get("server")
    return normalize_url(server) if server else None


class ServerError(NnlabError):
    """An HTTP refusal from the course server: its status and a message for the user."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after
        """Seconds to wait, for a 429."""


def _wait_text(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


M = TypeVar("M", bound=ApiModel)


class CourseClient:
    """Requests to one course server with one token; JSON answers read as the API's models."""

    def __init__(self, server: str, token: str, timeout: float = 60.0) -> None:
        self.server = normalize_url(server)
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_config(cls) -> CourseClient:
        server = configured_server()
        if server is None:
            raise UsageError("no course server configured: run `nnlab login URL` "
                             f"(or set {SERVER_ENV} and {TOKEN_ENV})")
        from nnlab.settings import read_settings

        token = read_settings("token").token or _saved().get("token")
        if not token:
            raise UsageError(f"no token for {server}: run `nnlab login {server}` "
                             "and give it the token your instructor gave you")
        return cls(server, token)

    def request(self, method: str, path: str, body: Any = None) -> tuple[bytes, str]:
        """(body, content type); every failure is one NnlabError line."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raise self._refusal(error) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise NnlabError(f"cannot reach the course server at {self.server} ({reason}); "
                             "is it running, and is the address right?") from None

    def _refusal(self, error: urllib.error.HTTPError) -> ServerError:
        try:
            detail = str(Refusal.model_validate_json(error.read()).detail)
        except (ValueError, OSError):  # not JSON, or not a Refusal: Pydantic's errors are ValueErrors
            detail = ""
        detail = detail or error.reason or "no reason given"
        status = error.code
        if status == 401:
            return ServerError(status, f"the course server refused your token ({detail}); run "
                                       f"`nnlab login {self.server}` with your token")
        if status == 429:
            wait = int(error.headers.get("Retry-After", "0") or 0)
            return ServerError(status, f"too many uploads: {detail.split(';')[0]}; try again in "
                                       f"{_wait_text(wait)}", wait)
        if status >= 500:
            return ServerError(status, f"the course server failed ({status}): {detail}")
        return ServerError(status, detail)

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        data = self.request(method, path, body)[0]
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise NnlabError(f"the course server at {self.server} answered {method} {path.split('?')[0]} "
                             "with something that is not JSON; is the address that of an nnlab server?") from None

    def get(self, path: str, model: type[M]) -> M:
        """GET `path`, its answer read as `model` (one NnlabError line when it does not fit)."""
        return read_reply(model, self._json("GET", path), self._where("GET", path))

    def get_list(self, path: str, model: type[M]) -> list[M]:
        """GET `path`, a list answer, each item read as `model`."""
        return read_replies(model, self._json("GET", path), self._where("GET", path))

    def post(self, path: str, body: Any, model: type[M]) -> M:
        """POST `body` as JSON to `path`, its answer read as `model`."""
        return read_reply(model, self._json("POST", path, body), self._where("POST", path))

    def _where(self, method: str, path: str) -> str:
        return f"{self.server}: {method} {path.split('?')[0]}"

    def text(self, path: str) -> str:
        return self.request("GET", path)[0].decode("utf-8")


@dataclass(frozen=True)
class Counted:
    """Which of a student's uploads to one assignment is the grade, as far as their own view tells."""

    submission_id: str | None
    """The graded upload that counts now; None when there is none or it cannot be told."""
    known: bool
    """False for counts = "best" while hidden checks are withheld: the server picks on every
    check, and naming its pick would tell how the hidden checks went."""
    holds: frozenset[str]
    """Exercise ids a new upload would stand against: the counted upload's (for "last", the
    newest upload not refused by the grader, since it counts once graded); when not known,
    those of every graded upload."""


def _exercise_ids(submission: Submission) -> frozenset[str]:
    return frozenset(Path(name).stem for name in submission.files)


def _hidden_withheld(assignment: AssignmentInfo) -> bool:
    """Whether the hidden checks' results are kept from students now (the server's rule)."""
    past_due = bool(assignment.late_days_now) or assignment.closed
    return assignment.hidden_feedback == "never" or assignment.hidden_feedback == "after_due" and not past_due


def _hides_checks(submission: Submission) -> bool:
    return isinstance(submission.result, StudentResult) and submission.result.hidden_checks > 0


def counted_submission(assignment: AssignmentInfo, submissions: list[Submission]) -> Counted:
    """The assignment's `counts` policy applied to the caller's uploads (in upload order), by the
    server's own rule (`policy.counted_index`) on the scores the server showed: with every check
    shown, each is the upload's shown score (adjusted, then penalized), which the gradebook ranks."""
    from nnlab.course.policy import counted_index  # the rule only: a client that never asks stays light

    mine = [s for s in submissions if s.assignment == assignment.id]
    graded = [s for s in mine if s.status == "done" and s.result is not None]
    if assignment.counts != "last" and (_hidden_withheld(assignment) or any(_hides_checks(s) for s in graded)):
        return Counted(None, False, frozenset().union(*(_exercise_ids(s) for s in graded)))
    index = counted_index(len(graded), assignment.counts, lambda i: graded[i].score or 0.0)
    counted = graded[index].id if index is not None else None
    if assignment.counts == "last":
        pending = [s for s in mine if s.status != "error"]
        return Counted(counted, True, _exercise_ids(pending[-1]) if pending else frozenset())
    return Counted(counted, True, _exercise_ids(graded[index]) if index is not None else frozenset())
