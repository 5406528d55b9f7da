"""Small HTTP calls to a platform (urllib): JSON in and out, one clear error per failure."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from nnlab.errors import NnlabError

TIMEOUT_S = 20.0


class PlatformError(NnlabError):
    """A platform's endpoint could not be reached or answered an error."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status; 0 when no answer came."""


@dataclass(frozen=True)
class Answer:
    """A platform's answer: its JSON body and the `Link` header (NRPS pages)."""

    body: Any
    link: str


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
         ) -> Answer:
    """One request; a non-2xx answer or a network failure raises PlatformError."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            payload, link, status = response.read(), response.headers.get("Link", ""), response.status
    except urllib.error.HTTPError as error:
        detail = error.read()[:300].decode("utf-8", "replace").strip()
        raise PlatformError(f"{method} {url} answered {error.code}: {detail}", error.code) from None
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PlatformError(f"{method} {url} could not be reached ({reason})") from None
    if not payload.strip():
        return Answer(None, link)
    try:
        return Answer(json.loads(payload), link)
    except ValueError:
        raise PlatformError(f"{method} {url} answered something that is not JSON", status) from None


def get_json(url: str, accept: str = "application/json", token: str | None = None) -> Answer:
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return call("GET", url, headers=headers)


def post_json(url: str, data: Any, content_type: str, token: str) -> Answer:
    return call("POST", url, json.dumps(data).encode("utf-8"),
                {"Content-Type": content_type, "Authorization": f"Bearer {token}"})


def post_form(url: str, fields: dict[str, str]) -> Answer:
    return call("POST", url, urllib.parse.urlencode(fields).encode("ascii"),
                {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})


def next_link(link: str) -> str | None:
    """The rel="next" URL of a Link header (RFC 8288), as NRPS pages its members."""
    for part in link.split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None
