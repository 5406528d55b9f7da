"""The platform's services as this tool calls them: OAuth2 client credentials, AGS and NRPS."""
from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from nnlab.course.lti import calls
from nnlab.course.lti.keys import ALGORITHM
from nnlab.course.lti.registration import Platform

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_MEMBERSHIP = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
MEMBERS_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
_MAX_PAGES = 1000
"""NRPS pages followed at most: a platform whose `next` links loop still ends."""


def client_assertion(platform: Platform, key: RSAKey) -> str:
    """The JWT that authenticates this tool at the token endpoint (RFC 7523), signed with its key."""
    now = int(time.time())
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.auth_token_url,
              "iat": now, "exp": now + 300, "jti": secrets.token_urlsafe(16)}
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}, claims, key)


class Services:
    """One platform's services, with access tokens kept until shortly before they expire."""

    def __init__(self, platform: Platform, key: RSAKey) -> None:
        self.platform = platform
        self.key = key
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, scope: str) -> str:
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and cached[1] > time.time():
                return cached[0]
        answer = calls.post_form(self.platform.auth_token_url, {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(self.platform, self.key), "scope": scope})
        body = answer.body if isinstance(answer.body, dict) else {}
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise calls.PlatformError(f"{self.platform.auth_token_url} gave no access_token")
        lifetime = body.get("expires_in", 3600)
        lifetime = lifetime if isinstance(lifetime, (int, float)) else 3600
        with self._lock:
            self._tokens[scope] = (token, time.time() + max(0.0, lifetime - 60))
        return token

    def forget_tokens(self) -> None:
        """After a 401: the platform no longer takes the token we kept."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------------ AGS

    def find_or_make_lineitem(self, lineitems_url: str, item: LineItem) -> str:
        """The URL of the line item whose resourceId is the assignment's id; made when there is none."""
        token = self.token(SCOPE_LINEITEM)
        answer = calls.get_json(with_query(lineitems_url, resource_id=item.resource_id), LINEITEMS_TYPE, token)
        for found in answer.body if isinstance(answer.body, list) else []:
            if isinstance(found, dict) and found.get("resourceId") == item.resource_id and found.get("id"):
                return str(found["id"])
        made = calls.post_json(lineitems_url, item.to_json(), LINEITEM_TYPE, token).body
        if not isinstance(made, dict) or not made.get("id"):
            raise calls.PlatformError(f"{lineitems_url} made a line item without an id")
        return str(made["id"])

    def post_score(self, lineitem_url: str, score: dict[str, Any]) -> None:
        calls.post_json(scores_url(lineitem_url), score, SCORE_TYPE, self.token(SCOPE_SCORE))

    # ------------------------------------------------------------------ NRPS

    def members(self, memberships_url: str) -> list[dict[str, Any]]:
        """Every member of the context, page after page."""
        token = self.token(SCOPE_MEMBERSHIP)
        members: list[dict[str, Any]] = []
        url: str | None = memberships_url
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            answer = calls.get_json(url, MEMBERS_TYPE, token)
            body = answer.body if isinstance(answer.body, dict) else {}
            members += [m for m in body.get("members", []) if isinstance(m, dict)]
            url = calls.next_link(answer.link)
        return members


@dataclass(frozen=True)
class LineItem:
    """An assignment as a gradebook column."""

    resource_id: str
    label: str
    score_maximum: float

    def to_json(self) -> dict[str, Any]:
        return {"scoreMaximum": self.score_maximum, "label": self.label, "resourceId": self.resource_id,
                "tag": "nnlab"}


def with_query(url: str, **params: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def scores_url(lineitem_url: str) -> str:
    """A line item's scores endpoint: '/scores' after its path, its query kept (as Canvas and Moodle need)."""
    parts = urllib.parse.urlsplit(lineitem_url)
    return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))
