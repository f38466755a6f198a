"""The small HTTP client both booking-system calls use: GET with retries and a deadline.

:func:`http_get` retries timeouts, refused connections and
:data:`RETRY_STATUSES` with jittered exponential backoff while time is left
before a deadline, shrinks every attempt's timeouts to the time left, reads
the body in small pieces against the deadline and refuses answers over a
size limit. Faults of the network or the booking system are raised as
:class:`RemoteFault`, whose message says what to do; this module never
touches the database.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
import urllib3

from kiosk.errors import ConfigError

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MIN_ATTEMPT_S = 0.05
"""Never start an attempt with less time than this left."""
_CHUNK = 16 * 1024
_USER_AGENT = "gate-kiosk"


class RemoteFault(Exception):
    """The booking system or the network failed; ``str()`` says what to do."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.attempts = 1


@dataclass(frozen=True)
class Reply:
    status: int
    media_type: str
    body: bytes


def where(url: str) -> str:
    """The URL without query or credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def check_base_url(url: str, what: str) -> None:
    """Raise :class:`ConfigError` unless ``url`` is an ``http(s)://`` address with a host."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{what} {url!r} must be an http:// or https:// address")


def http_problem(status: int, where: str) -> str:
    """An actionable sentence for an HTTP status that is not the expected answer."""
    if status >= 500:
        return (
            f"the booking system at {where} has an internal error (HTTP {status}) — "
            "try again later; tell its administrators if it lasts"
        )
    if status in (401, 403):
        return f"the booking system at {where} refused the kiosk (HTTP {status}) — check its access"
    if status == 404:
        return f"nothing at {where} (HTTP 404) — check the address"
    if status == 429:
        return f"the booking system at {where} is busy (HTTP 429) — try again later"
    if 300 <= status < 400:
        return f"the booking system at {where} redirects (HTTP {status}) — use the final address"
    return f"the booking system at {where} answered HTTP {status} — check the address"


def _network_fault(exc: BaseException, where: str, connect_s: float, read_s: float) -> RemoteFault:
    text = str(exc)
    if isinstance(exc, requests.ConnectTimeout):
        msg = (
            f"no connection to the booking system at {where} within {connect_s:.1f} s — "
            "check the kiosk's network and the address"
        )
    elif isinstance(exc, requests.ReadTimeout | urllib3.exceptions.ReadTimeoutError) or (
        "timed out" in text.lower()
    ):
        msg = f"the booking system at {where} did not answer within {read_s:.1f} s"
    elif isinstance(
        exc, urllib3.exceptions.ProtocolError | requests.exceptions.ChunkedEncodingError
    ):
        msg = f"the booking system at {where} broke off its answer — try again"
    elif "refused" in text.lower():
        msg = (
            f"the booking system at {where} refused the connection — is the address "
            "and port right and is the service running?"
        )
    elif isinstance(exc, requests.ConnectionError) and "resolve" in text.lower():
        msg = f"cannot find the booking system's host in {where} — check the address and DNS"
    else:
        msg = f"the connection to the booking system at {where} failed ({type(exc).__name__})"
    return RemoteFault(msg, retryable=True)


def _get_once(
    session: requests.Session,
    url: str,
    *,
    params: Mapping[str, str] | None,
    accept: str,
    connect_s: float,
    read_s: float,
    deadline: float,
    max_bytes: int,
) -> Reply:
    at = where(url)
    try:
        with session.get(
            url,
            params=params,
            headers={"Accept": accept, "User-Agent": _USER_AGENT},
            timeout=(connect_s, read_s),
            stream=True,
            allow_redirects=False,
        ) as resp:
            media_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise RemoteFault(
                    f"the answer from {at} is {int(declared)} bytes, more than the "
                    f"{max_bytes} byte limit — check the address",
                    retryable=False,
                )
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise RemoteFault(
                        f"the booking system at {at} sends its answer too slowly",
                        retryable=False,
                    )
                # read1: returns after one socket read, so a dripping server
                # cannot keep this loop from checking the deadline.
                chunk = resp.raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise RemoteFault(
                        f"the answer from {at} is larger than the {max_bytes} byte limit "
                        "— check the address",
                        retryable=False,
                    )
            return Reply(resp.status_code, media_type, bytes(body))
    except RemoteFault:
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _network_fault(exc, at, connect_s, read_s) from exc


def http_get(
    session: requests.Session,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    accept: str,
    connect_timeout: float,
    read_timeout: float,
    retries: int,
    backoff: float,
    deadline: float,
    max_bytes: int,
    rng: random.Random,
) -> tuple[Reply, int]:
    """GET with retries; ``(reply, attempts)``. Raises :class:`RemoteFault`.

    Timeouts, refused connections and :data:`RETRY_STATUSES` are retried
    after ``backoff · 2ⁿ`` seconds (jittered ±50 %) while time is left before
    ``deadline`` (a :func:`time.monotonic` instant); each attempt's timeouts
    are shrunk to the time left. A retryable status on the last attempt is
    returned, not raised.
    """
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        connect_s = max(min(connect_timeout, remaining), MIN_ATTEMPT_S)
        read_s = max(min(read_timeout, remaining), MIN_ATTEMPT_S)
        fault: RemoteFault | None = None
        try:
            reply = _get_once(
                session,
                url,
                params=params,
                accept=accept,
                connect_s=connect_s,
                read_s=read_s,
                deadline=deadline,
                max_bytes=max_bytes,
            )
        except RemoteFault as exc:
            exc.attempts = attempt
            if not exc.retryable:
                raise
            fault = exc
        else:
            if reply.status not in RETRY_STATUSES:
                return reply, attempt
        delay = backoff * 2 ** (attempt - 1) * rng.uniform(0.5, 1.5)
        left = deadline - time.monotonic()
        if attempt > retries or left - delay < MIN_ATTEMPT_S:
            if fault is not None:
                raise fault
            return reply, attempt
        time.sleep(delay)
