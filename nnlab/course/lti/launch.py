"""Checking an LTI 1.3 launch: the id_token's signature against the platform's keys, then every claim."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from nnlab.course.db import Database
from nnlab.course.lti import store
from nnlab.course.lti.keys import ALGORITHM
from nnlab.course.lti.platform_keys import KeysUnavailable, PlatformKeys, UnknownKey
from nnlab.course.lti.registration import Platform, find_platform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
MESSAGE_TYPE = "LtiResourceLinkRequest"
VERSION = "1.3.0"
LEEWAY_S = 60
"""Clock skew tolerated between the platform and this server."""
MAX_AGE_S = 3600
"""An id_token issued longer ago than this is refused even if its exp says otherwise."""
INSTRUCTOR_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
    "Instructor",
)
"""A role equal to one of these, or starting with the sub-role prefix, makes an instructor."""


class LaunchRefused(Exception):
    """A launch that is not accepted; `reason` is shown to the person on a page."""

    def __init__(self, reason: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        """Seconds after which trying again may work (a Retry-After header), None when it will not."""


def is_instructor(roles: Any) -> bool:
    if not isinstance(roles, list):
        return False
    return any(isinstance(r, str) and (r in INSTRUCTOR_ROLES or r.startswith(INSTRUCTOR_ROLES[1]))
               for r in roles)


@dataclass(frozen=True)
class Launch:
    """An accepted launch: who, from where, and what it asks to open."""

    platform: Platform
    user: store.LmsUser
    context: store.Context | None
    assignment: str
    """The resource link's custom `assignment`, '' when none."""
    lineitem: str
    """The AGS line item the LMS made for this resource link, '' when none."""


def _header(id_token: str) -> dict[str, Any]:
    try:
        return jws.extract_compact(id_token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeEncodeError):
        raise LaunchRefused("the id_token is not a signed JWT") from None


def _unverified_claims(id_token: str) -> dict[str, Any]:
    """The claims before any check: read only to name the platform whose keys then decide."""
    try:
        claims = json.loads(jws.extract_compact(id_token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeEncodeError):
        raise LaunchRefused("the id_token is not a signed JWT") from None
    if not isinstance(claims, dict):
        raise LaunchRefused("the id_token's claims are not a JSON object")
    return claims


def verify_signature(id_token: str, platform: Platform, keys: PlatformKeys) -> dict[str, Any]:
    """The token's claims, once its signature checks out against the platform's published keys."""
    header = _header(id_token)
    if header.get("alg") != ALGORITHM:
        raise LaunchRefused(f"the id_token is signed with {header.get('alg')!r}; LTI 1.3 uses {ALGORITHM}")
    kid = header.get("kid")
    try:
        key_set = keys.key_set(platform, kid if isinstance(kid, str) else None)
    except KeysUnavailable as error:
        raise LaunchRefused(error.reason, error.status, error.retry_after) from None
    except UnknownKey as error:
        raise LaunchRefused(error.reason, 400, error.retry_after) from None
    try:
        token = jwt.decode(id_token, key_set, algorithms=[ALGORITHM])
    except (JoseError, ValueError, TypeError):
        raise LaunchRefused("the id_token's signature does not match the platform's keys") from None
    return dict(token.claims)


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise LaunchRefused("the id_token lacks 'exp' or 'iat'")
    if exp < now - LEEWAY_S:
        raise LaunchRefused("the id_token has expired; launch again from the LMS")
    if iat > now + LEEWAY_S or iat < now - MAX_AGE_S:
        raise LaunchRefused("the id_token's issue time 'iat' is not now; check the server clocks")


def check_audience(claims: dict[str, Any], client_id: str) -> None:
    """aud names this tool (alone or in a list); with several audiences, azp must be this tool."""
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise LaunchRefused(f"the id_token is for audience {aud!r}, not this tool's client id {client_id!r}")
    azp = claims.get("azp")
    if (len(audiences) > 1 or azp is not None) and azp != client_id:
        raise LaunchRefused(f"the id_token's authorized party 'azp' is {azp!r}, not {client_id!r}")


def check_claims(claims: dict[str, Any], platform: Platform, login: store.LoginState, db: Database) -> None:
    """Every claim a launch must carry, in the order a wrong launch most likely fails."""
    if claims.get("iss") != platform.issuer:
        raise LaunchRefused(f"the id_token's issuer {claims.get('iss')!r} is not {platform.issuer!r}")
    check_audience(claims, platform.client_id)
    _check_times(claims, time.time())
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise LaunchRefused("the id_token has no nonce")
    if not store.use_nonce(db, platform.issuer, nonce):
        raise LaunchRefused("this id_token's nonce was used before: a launch is accepted once")
    if nonce != login.nonce:
        raise LaunchRefused("the id_token's nonce is not the one this login asked for")
    deployment = claims.get(CLAIM + "deployment_id")
    if deployment not in platform.deployment_ids:
        raise LaunchRefused(f"deployment {deployment!r} is not registered for this course "
                            f"(course.toml's [lti] deployment_ids)", 403)
    if claims.get(CLAIM + "message_type") != MESSAGE_TYPE:
        raise LaunchRefused(f"message type {claims.get(CLAIM + 'message_type')!r} is not supported; "
                            f"this tool takes {MESSAGE_TYPE}")
    if claims.get(CLAIM + "version") != VERSION:
        raise LaunchRefused(f"LTI version {claims.get(CLAIM + 'version')!r} is not {VERSION}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LaunchRefused("the launch names no user ('sub'); anonymous launches are not supported")
    link = claims.get(CLAIM + "resource_link")
    if not isinstance(link, dict) or not link.get("id"):
        raise LaunchRefused("the launch has no resource link id")


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _table(claims: dict[str, Any], key: str) -> dict[str, Any]:
    value = claims.get(key)
    return value if isinstance(value, dict) else {}


def read_launch(claims: dict[str, Any], platform: Platform) -> Launch:
    """The accepted launch's parts, as records."""
    role = "instructor" if is_instructor(claims.get(CLAIM + "roles")) else "student"
    name = _text(claims.get("name")) or " ".join(
        _text(claims.get(k)) for k in ("given_name", "family_name")).strip()
    user = store.LmsUser(platform.issuer, claims["sub"], name, _text(claims.get("email")), role)
    context_claim = claims.get(CLAIM + "context")
    nrps, ags = _table(claims, NRPS_CLAIM), _table(claims, AGS_CLAIM)
    context = None
    if isinstance(context_claim, dict) and _text(context_claim.get("id")):
        context = store.Context(platform.issuer, _text(context_claim["id"]), platform.client_id,
                                claims[CLAIM + "deployment_id"], _text(context_claim.get("title")),
                                _text(nrps.get("context_memberships_url")), _text(ags.get("lineitems")))
    custom = claims.get(CLAIM + "custom")
    assignment = _text(custom.get("assignment")) if isinstance(custom, dict) else ""
    return Launch(platform, user, context, assignment, _text(ags.get("lineitem")))


def validate(id_token: str, login: store.LoginState, platforms: tuple[Platform, ...],
             keys: PlatformKeys, db: Database) -> Launch:
    """The launch an id_token carries, checked in full against the login it answers."""
    issuer = _unverified_claims(id_token).get("iss")
    if issuer != login.issuer:
        raise LaunchRefused(f"the id_token's issuer {issuer!r} is not the platform this login "
                            f"started with ({login.issuer!r})")
    platform = find_platform(platforms, login.issuer, login.client_id)
    if platform is None:
        raise LaunchRefused(f"no [lti] registration for issuer {login.issuer!r}", 403)
    claims = verify_signature(id_token, platform, keys)
    check_claims(claims, platform, login, db)
    return read_launch(claims, platform)
