"""Each platform's public keys (JWKS), cached; fetched again for an unknown kid at most once a window."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from nnlab.course.lti import calls
from nnlab.course.lti.registration import Platform

_log = logging.getLogger("nnlab.lti")


class KeysUnavailable(Exception):
    """The platform's key set could not be had: `reason` names the platform and what failed."""

    def __init__(self, reason: str, status: int, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        """503 when the platform could not be reached, 502 when it answered something unusable."""
        self.retry_after = retry_after
        """Seconds until nnlab will ask the platform again."""


class UnknownKey(Exception):
    """A kid the platform's key set lacks, fetched again too recently to ask once more."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Fetch:
    """The last try at one platform's JWKS: when, and what it gave."""

    at: float
    """time.monotonic() of the try."""
    keys: KeySet | None
    """The key set of the last try that worked (kept through later failed tries)."""
    error: str
    """Why the last try failed; '' when it worked."""
    status: int


def refetch_window() -> float:
    """NNLAB_LTI_JWKS_REFETCH_S: the least time between two fetches of one platform's keys."""
    from nnlab.settings import read_settings

    return read_settings("lti_jwks_refetch_s").lti_jwks_refetch_s


def parse_jwks(body: Any) -> KeySet:
    """A JWKS answer as a key set; ValueError when it is not one (any key it cannot read included)."""
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list) or not body["keys"]:
        raise ValueError("not a JWKS (a JSON object with a non-empty 'keys' list)")
    try:
        return KeySet.import_key_set(body)  # type: ignore[arg-type]  # checked just above, as far as a dict goes
    except (JoseError, ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"a key in it cannot be read ({type(error).__name__}: {error})") from None


def _has(keys: KeySet, kid: str | None) -> bool:
    return kid is None or any(k.kid == kid for k in keys.keys)


class PlatformKeys:
    """The key sets of the platforms, by JWKS URL.

    A set is fetched at the first launch, and again only when a token names a kid it lacks (the
    platform rotated its keys), and then at most once per window: anyone can post an id_token
    with a made-up kid, and each one must not become a request to the platform. A failed fetch
    counts too, so an unreachable platform is not asked at every launch either.
    """

    def __init__(self, window: Callable[[], float] = refetch_window,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._fetches: dict[str, _Fetch] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def _url_lock(self, url: str) -> threading.Lock:
        # One lock per platform: a slow platform (up to the calls' timeout) holds up only its own launches.
        with self._lock:
            return self._locks.setdefault(url, threading.Lock())

    def key_set(self, platform: Platform, kid: str | None) -> KeySet:
        """The platform's keys, holding `kid` (any set when None); KeysUnavailable or UnknownKey."""
        url = platform.key_set_url
        with self._url_lock(url):
            last = self._fetches.get(url)
            if last is not None and last.keys is not None and _has(last.keys, kid):
                return last.keys
            window = max(0.0, self._window())
            waited = self._clock() - last.at if last is not None else window
            if last is None or waited >= window:
                last = self._fetches[url] = self._fetch(url, last)
                waited = 0.0
            retry = max(1, int(window - waited + 0.999))
            if last.error:
                raise KeysUnavailable(
                    f"nnlab could not get the public keys of the LMS {platform.issuer} "
                    f"({url}): {last.error}. Launches from it cannot be checked until it answers; "
                    f"nnlab asks it again in {retry} s.", last.status, retry)
            if last.keys is None or not _has(last.keys, kid):
                raise UnknownKey(
                    f"the id_token is signed with key {kid!r}, which the LMS {platform.issuer} does not "
                    f"publish at {url} (its keys were fetched {int(waited)} s ago; nnlab fetches them "
                    f"again at most every {window:g} s). If the LMS has just changed its keys, launch "
                    f"again in {retry} s.", retry)
            return last.keys

    def _fetch(self, url: str, last: _Fetch | None) -> _Fetch:
        kept = last.keys if last is not None else None
        try:
            return _Fetch(self._clock(), parse_jwks(calls.get_json(url).body), "", 0)
        except calls.PlatformError as error:
            # No answer at all: the platform is unavailable (503); an error answer: a bad gateway (502).
            failed = _Fetch(self._clock(), kept, str(error), 502 if error.status else 503)
        except ValueError as error:
            failed = _Fetch(self._clock(), kept, f"its answer is {error}", 502)
        _log.warning("LTI: the key set at %s could not be fetched: %s", url, failed.error)
        return failed
