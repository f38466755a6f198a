"""Live look-up: ask the booking system about one scanned booking, within a deadline.

``GET {base_url}/bookings/{booking_id}``: ``200`` with
``{"id", "office_id", "date", "status", "service"}`` → found; ``404`` → not
found (authoritative); anything else → unavailable, with a reason. Retries
use jittered exponential backoff (:func:`kiosk.bookings.http.http_get`), and
one look-up never takes longer than ``deadline_s``: every attempt's timeouts
are shrunk to the time left, the body is read in small pieces against the
deadline, and a hard wall (the request runs on a worker thread) catches
servers that drip bytes.

:func:`facts_with_fallback` turns a scan into :class:`BookingFacts`, from the
live answer when there is one, else from the local list (``"cache"``). An
earlier admission today always comes from the local database.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date
from typing import Any
from urllib.parse import quote

import requests

from kiosk import logsafe
from kiosk.bookings.codes import BOOKING_ID, parse_plain_code
from kiosk.bookings.facts import (
    CACHE,
    LiveAnswer,
    LiveStatus,
    RemoteBooking,
    facts_for_answer,
    lookup_facts,
)
from kiosk.bookings.http import RemoteFault, check_base_url, http_get, http_problem, where
from kiosk.bookings.rows import STATUSES, clean_service, parse_date, text_field
from kiosk.domain.admission import BookingFacts
from kiosk.domain.bookingcode import KeyRing
from kiosk.errors import ConfigError, InputError

log = logging.getLogger(__name__)

MAX_LOOKUP_BYTES = 64 * 1024
"""Largest live look-up answer accepted."""
_WALL_GRACE_S = 0.2  # the hard wall sits this far behind the look-up deadline


def _remote_booking(body: bytes, booking_id: str, media_type: str) -> RemoteBooking:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise InputError(
            f"the answer is not JSON (Content-Type {media_type or 'missing'})"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"the answer must be a JSON object, not {type(data).__name__}")
    answered_id = text_field(data, "id", required=True).strip().upper()
    if answered_id != booking_id:
        raise InputError(f"the answer is about booking {answered_id[:40]!r}, not {booking_id}")
    office = text_field(data, "office_id", required=True).strip()
    if not office or len(office) > 40 or not office.isprintable():
        raise InputError(f"office_id {office[:40]!r} is not an office id")
    status = text_field(data, "status", required=True).strip().lower()
    if status not in STATUSES:
        raise InputError(f"status {status[:40]!r} must be valid or cancelled")
    return RemoteBooking(
        id=booking_id,
        office_id=office,
        date=parse_date(text_field(data, "date", required=True)),
        status=status,
        service=clean_service(text_field(data, "service", required=False)),
    )


class LiveLookup:
    """Asks the booking system about one booking at a time, within a deadline.

    One look-up takes at most ``deadline_s`` (plus a 0.2 s margin for the hard
    wall), retries included. Thread-safe: each worker thread has its own
    :class:`requests.Session` unless one is passed in (then that one is shared
    and stays the caller's to close). Use as a context manager or call
    :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        deadline_s: float = 6.0,
        max_workers: int = 4,
    ) -> None:
        check_base_url(base_url, "live look-up URL")
        if min(connect_timeout, read_timeout, deadline_s) <= 0 or retries < 0 or backoff < 0:
            raise ConfigError("live look-up timeouts must be positive, retries and backoff ≥ 0")
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline_s = deadline_s
        self._shared = session
        self._local = threading.local()
        self._owned: list[requests.Session] = []
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def __enter__(self) -> LiveLookup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (waiting for a running request's own timeouts) and close sessions."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            owned, self._owned = self._owned, []
        for session in owned:
            session.close()

    def _session(self) -> requests.Session:
        if self._shared is not None:
            return self._shared
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._owned.append(session)
        return session

    def lookup(self, booking_id: str) -> LiveAnswer:
        """What the booking system says about ``booking_id`` (a plain booking id)."""
        if not BOOKING_ID.match(booking_id):
            raise InputError(f"{booking_id[:60]!r} is not a booking id")
        start = time.monotonic()
        deadline = start + self.deadline_s
        with self._lock:
            if self._closed:
                return LiveAnswer(LiveStatus.UNAVAILABLE, reason="live look-up is closed")
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="live-lookup")
            future = self._pool.submit(self._lookup_blocking, booking_id, deadline, start)
        try:
            return future.result(timeout=max(deadline - time.monotonic(), 0.0) + _WALL_GRACE_S)
        except FutureTimeout:
            future.cancel()
            reason = (
                f"the booking system at {where(self.base_url)} gave no answer within "
                f"{self.deadline_s:.1f} s"
            )
        except Exception as exc:  # a bug must not keep the gate from deciding
            log.exception("live look-up of %s failed unexpectedly", logsafe.ref(booking_id))
            reason = f"live look-up failed unexpectedly ({type(exc).__name__})"
        log.warning("live look-up of %s unavailable: %s", logsafe.ref(booking_id), reason)
        return LiveAnswer(LiveStatus.UNAVAILABLE, reason=reason, elapsed_s=time.monotonic() - start)

    def _lookup_blocking(self, booking_id: str, deadline: float, start: float) -> LiveAnswer:
        url = f"{self.base_url}/bookings/{quote(booking_id, safe='')}"
        at = f"{where(self.base_url)}/bookings/…"  # never the id: reasons end up in logs
        attempts = 0

        def answer(status: LiveStatus, **kw: Any) -> LiveAnswer:
            if status is LiveStatus.UNAVAILABLE:
                log.warning(
                    "live look-up of %s unavailable: %s", logsafe.ref(booking_id), kw.get("reason")
                )
            return LiveAnswer(status, attempts=attempts, elapsed_s=time.monotonic() - start, **kw)

        try:
            reply, attempts = http_get(
                self._session(),
                url,
                accept="application/json",
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                retries=self.retries,
                backoff=self.backoff,
                deadline=deadline,
                max_bytes=MAX_LOOKUP_BYTES,
                rng=self._rng,
            )
        except RemoteFault as exc:
            attempts = exc.attempts
            return answer(LiveStatus.UNAVAILABLE, reason=str(exc))
        if reply.status == 404:
            return answer(LiveStatus.NOT_FOUND)
        if reply.status != 200:
            return answer(LiveStatus.UNAVAILABLE, reason=http_problem(reply.status, at))
        try:
            booking = _remote_booking(reply.body, booking_id, reply.media_type)
        except InputError as exc:
            return answer(
                LiveStatus.UNAVAILABLE,
                reason=f"the booking system at {at} sent an unusable answer: {exc}",
            )
        return answer(LiveStatus.FOUND, booking=booking)


def facts_with_fallback(
    conn: sqlite3.Connection,
    text: str,
    *,
    business_day: date,
    live: LiveLookup | None,
    keyring: KeyRing | None = None,
) -> tuple[BookingFacts, str]:
    """Booking facts for a scanned ``text`` and their source, ``"live"`` or ``"cache"``.

    Plain booking ids are asked live when ``live`` is given; an unavailable
    booking system falls back to the local list. Everything else (signed
    codes, junk) and every fallback is decided by
    :func:`kiosk.bookings.facts.lookup_facts` and reported as ``"cache"``.
    Takes at most ``live.deadline_s`` (+0.2 s) plus local reads — but call it
    outside a write transaction, or use :meth:`LiveLookup.lookup` then
    :func:`kiosk.bookings.facts.facts_for_answer` so the network wait holds no
    database lock.
    """
    booking_id = parse_plain_code(text)
    if live is None or booking_id is None:
        return lookup_facts(conn, text, business_day=business_day, keyring=keyring), CACHE
    answer = live.lookup(booking_id)
    return facts_for_answer(conn, text, answer, business_day=business_day, keyring=keyring)
