"""Remote booking sources: the day-list sync and the live look-up.

Citizens book at the office's online booking system; the kiosk learns about
those bookings in two ways, both over HTTP with :mod:`requests`:

Day-list sync (:func:`sync_day_list`)
-------------------------------------
``GET {url}?office={office_id}&date=YYYY-MM-DD`` returns the day's bookings,
in one of two formats chosen by the ``Content-Type`` of the answer:

* ``application/json`` (or any ``…+json``)::

      {"bookings": [{"id": "BK-7K4Q2M9X", "date": "2026-11-23", "name": "Siti Rahayu",
                     "service": "KTP-el", "status": "valid"}, …]}

  ``id``, ``date`` and ``name`` are required strings; ``service``,
  ``status`` (``valid`` or ``cancelled``, default ``valid``) and
  ``office_id`` are optional strings (``null`` counts as absent). Unknown
  keys are ignored so the booking system can add fields.

* ``text/csv`` (or ``application/csv``), UTF-8: the same columns as a
  spreadsheet import (:func:`kiosk.bookings.read_booking_csv`): ``date`` and
  ``name`` required, ``id``, ``service``, ``office_id`` and ``status``
  optional; unknown columns are an error. A row without ``id`` gets the same
  stable derived id as a spreadsheet import.

Every row is validated (name, service, date, id, status, office and the
requested day); one bad row rejects the whole list. The list is imported
all-or-nothing in one transaction: new bookings are added, identical ones
left alone. Bookings are never deleted (ids missing from the remote list are
reported in :attr:`SyncResult.not_in_remote`).

Faults of the booking system or the network — timeout, refused connection,
HTTP errors, malformed or wrongly typed data, an answer over
:data:`MAX_SYNC_BYTES` — never raise: the local list stays exactly as it was
and :class:`SyncResult` has ``ok=False`` and an actionable ``error``. Only
problems of the kiosk's own data raise: :class:`BookingSyncConflict` when the
remote list contradicts a booking the kiosk already holds (e.g. a cancellation
— the kiosk cannot update a stored booking yet), and
:class:`~kiosk.errors.StorageError` from the database.

The time of the last successful sync (and the last failure) is kept in a
small JSON state file written atomically (:func:`read_sync_state`).

Live look-up (:class:`LiveLookup`)
----------------------------------
``GET {base_url}/bookings/{booking_id}``: ``200`` with
``{"id", "office_id", "date", "status", "service"}`` → found; ``404`` → not
found (authoritative); anything else → unavailable, with a reason. Retries
use jittered exponential backoff, and one look-up never takes longer than
``deadline_s``: every attempt's timeouts are shrunk to the time left, the
body is read in small pieces against the deadline, and a hard wall (the
request runs on a worker thread) catches servers that drip bytes.

:func:`facts_with_fallback` turns a scan into :class:`BookingFacts`, from the
live answer when there is one, else from the local list (``"cache"``). An
earlier admission today always comes from the local database.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from kiosk import logsafe
from kiosk.bookings import (
    BOOKING_ID,
    STATUSES,
    booking_from_fields,
    clean_service,
    genuine_facts,
    lookup_facts,
    parse_date,
    parse_plain_code,
)
from kiosk.domain.admission import BookingFacts
from kiosk.domain.bookingcode import KeyRing
from kiosk.domain.reasons import Reason
from kiosk.errors import BookingImportError, ConfigError, InputError
from kiosk.storage import Booking, Database
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

MAX_SYNC_BYTES = 5 * 1024 * 1024
"""Largest day-list answer accepted (a day of bookings is far smaller)."""
MAX_LOOKUP_BYTES = 64 * 1024
"""Largest live look-up answer accepted."""
SYNC_SOURCE = "sync"
"""``Booking.source`` of bookings added by the day-list sync."""
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
LIVE = "live"
CACHE = "cache"

_MIN_ATTEMPT_S = 0.05  # never start an attempt with less time than this left
_WALL_GRACE_S = 0.2  # the hard wall sits this far behind the look-up deadline
_CHUNK = 16 * 1024
_USER_AGENT = "gate-kiosk"
_JSON_TYPES = ("application/json",)
_CSV_TYPES = ("text/csv", "application/csv")
_CSV_REQUIRED = ("date", "name")
_CSV_OPTIONAL = ("id", "service", "office_id", "status")


class BookingSyncConflict(BookingImportError):
    """The booking system's list contradicts bookings the kiosk already holds.

    Nothing was imported. ``errors`` lists ``(row, message)`` pairs.
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(errors)
        lines = "\n".join(f"  row {n}: {msg}" for n, msg in errors)
        self.args = (
            f"{len(errors)} booking(s) from the booking system contradict the kiosk's "
            f"copy; nothing was imported:\n{lines}",
        )


# -- HTTP with retries and a deadline ---------------------------------------
class _RemoteFault(Exception):
    """The booking system or the network failed; ``str()`` says what to do."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.attempts = 1


@dataclass(frozen=True)
class _BrokenRow:
    """A CSV row the parser could not even split into fields."""

    problem: str


@dataclass(frozen=True)
class _Reply:
    status: int
    media_type: str
    body: bytes


def _where(url: str) -> str:
    """The URL without query or credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _check_base_url(url: str, what: str) -> None:
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{what} {url!r} must be an http:// or https:// address")


def _network_fault(exc: BaseException, where: str, connect_s: float, read_s: float) -> _RemoteFault:
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
    return _RemoteFault(msg, retryable=True)


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
) -> _Reply:
    where = _where(url)
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
                raise _RemoteFault(
                    f"the answer from {where} is {int(declared)} bytes, more than the "
                    f"{max_bytes} byte limit — check the address",
                    retryable=False,
                )
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise _RemoteFault(
                        f"the booking system at {where} sends its answer too slowly",
                        retryable=False,
                    )
                # read1: returns after one socket read, so a dripping server
                # cannot keep this loop from checking the deadline.
                chunk = resp.raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise _RemoteFault(
                        f"the answer from {where} is larger than the {max_bytes} byte limit "
                        "— check the address",
                        retryable=False,
                    )
            return _Reply(resp.status_code, media_type, bytes(body))
    except _RemoteFault:
        raise
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise _network_fault(exc, where, connect_s, read_s) from exc


def _get(
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
) -> tuple[_Reply, int]:
    """GET with retries; ``(reply, attempts)``. Raises :class:`_RemoteFault`.

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
        connect_s = max(min(connect_timeout, remaining), _MIN_ATTEMPT_S)
        read_s = max(min(read_timeout, remaining), _MIN_ATTEMPT_S)
        fault: _RemoteFault | None = None
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
        except _RemoteFault as exc:
            exc.attempts = attempt
            if not exc.retryable:
                raise
            fault = exc
        else:
            if reply.status not in RETRY_STATUSES:
                return reply, attempt
        delay = backoff * 2 ** (attempt - 1) * rng.uniform(0.5, 1.5)
        left = deadline - time.monotonic()
        if attempt > retries or left - delay < _MIN_ATTEMPT_S:
            if fault is not None:
                raise fault
            return reply, attempt
        time.sleep(delay)


def _http_problem(status: int, where: str) -> str:
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


def _str_field(record: Mapping[str, Any], key: str, *, required: bool) -> str:
    value = record.get(key)
    if value is None:
        if required:
            raise InputError(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise InputError(f"{key} must be a string, not {type(value).__name__}")
    return value


# -- day-list sync -----------------------------------------------------------
@dataclass(frozen=True)
class SyncResult:
    """What one day-list sync did.

    ``ok=False``: nothing changed locally; ``error`` says why and what to do,
    ``rejected`` lists bad rows as ``(row, message)`` (CSV rows by line number,
    the header being line 1; JSON entries counted from 1).
    """

    ok: bool
    office_id: str
    day: date
    error: str | None = None
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    """Bookings whose status (e.g. cancelled) or details changed in the booking system."""
    rejected: tuple[tuple[int, str], ...] = ()
    not_in_remote: tuple[str, ...] = ()
    """Local bookings of the day the booking system no longer lists (kept)."""
    format: str | None = None
    """``"json"`` or ``"csv"``: what the booking system sent."""
    attempts: int = 0
    elapsed_s: float = 0.0
    synced_at: datetime | None = None
    """UTC time of this sync when it succeeded."""
    warning: str | None = None
    """A problem after a successful import (e.g. the state file could not be written)."""

    @property
    def total(self) -> int:
        return self.added + self.unchanged + self.updated


@dataclass(frozen=True)
class SyncState:
    """The state file's content: the last successful sync and the last failure."""

    last_success_at: datetime | None = None
    last_success_office: str | None = None
    last_success_day: date | None = None
    last_success_total: int | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None


def _parse_json_list(body: bytes) -> list[tuple[int, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the day list is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("bookings"), list):
        raise InputError('the day list must be a JSON object {"bookings": [...]}')
    return list(enumerate(data["bookings"], start=1))


def _parse_csv_list(body: bytes) -> list[tuple[int, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the day list is not UTF-8 text") from None
    if "\x00" in text:
        raise InputError("the day list is binary, not CSV")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
        if not header:
            raise InputError("the CSV day list is empty (expected a header row)")
        columns = [h.strip().lower() for h in header]
        missing = [c for c in _CSV_REQUIRED if c not in columns]
        unknown = [c for c in columns if c not in _CSV_REQUIRED + _CSV_OPTIONAL]
        if missing or unknown or len(set(columns)) != len(columns):
            raise InputError(
                f"the CSV day list has columns {', '.join(columns)}; expected date, name "
                f"and optionally {', '.join(_CSV_OPTIONAL)} (each once)"
            )
        rows: list[tuple[int, Any]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                problem = f"expected {len(columns)} fields, found {len(values)}"
                rows.append((reader.line_num, _BrokenRow(problem)))
                continue
            rows.append((reader.line_num, dict(zip(columns, values, strict=True))))
        return rows
    except csv.Error as exc:
        raise InputError(f"the CSV day list is malformed ({exc})") from None


def _row_to_booking(record: Any, *, office_id: str, day: date, derive_id: bool) -> Booking:
    if isinstance(record, _BrokenRow):
        raise InputError(record.problem)
    if not isinstance(record, dict):
        raise InputError(f"entry must be an object, not {type(record).__name__}")
    raw_id = _str_field(record, "id", required=not derive_id)
    if not raw_id.strip() and not derive_id:
        raise InputError("id is empty")
    booking = booking_from_fields(
        booking_id=raw_id,
        day=_str_field(record, "date", required=True),
        name=_str_field(record, "name", required=True),
        service=_str_field(record, "service", required=False),
        row_office=_str_field(record, "office_id", required=False),
        status=_str_field(record, "status", required=False),
        office_id=office_id,
        source=SYNC_SOURCE,
    )
    if booking.date != day:
        raise InputError(f"date {booking.date} is not the requested day {day}")
    return booking


def _validate_rows(
    rows: list[tuple[int, Any]], *, office_id: str, day: date, derive_id: bool
) -> tuple[list[tuple[int, Booking]], list[tuple[int, str]]]:
    good: list[tuple[int, Booking]] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for ref, record in rows:
        try:
            booking = _row_to_booking(record, office_id=office_id, day=day, derive_id=derive_id)
        except InputError as exc:
            errors.append((ref, str(exc)))
            continue
        if booking.id in seen:
            errors.append((ref, f"booking id {booking.id} repeats row {seen[booking.id]}"))
            continue
        seen[booking.id] = ref
        good.append((ref, booking))
    return good, errors


def _conflict(existing: Booking, remote: Booking) -> str | None:
    """Why ``remote`` cannot be applied over ``existing`` (another office's id), else ``None``."""
    if existing.office_id != remote.office_id:
        return f"booking id {remote.id} belongs to office {existing.office_id} on this kiosk"
    return None


def _differs(existing: Booking, remote: Booking) -> bool:
    fields = ("date", "name", "service", "status")
    return any(getattr(existing, f) != getattr(remote, f) for f in fields)


def _import(
    conn: sqlite3.Connection, rows: list[tuple[int, Booking]], office_id: str, day: date
) -> tuple[int, int, int, tuple[str, ...]]:
    added = unchanged = updated = 0
    conflicts: list[tuple[int, str]] = []
    for ref, booking in rows:
        existing = repo.get_booking(conn, booking.id)
        if existing is None:
            repo.insert_booking(conn, booking)
            added += 1
        elif (problem := _conflict(existing, booking)) is not None:
            conflicts.append((ref, problem))
        elif _differs(existing, booking):
            # The booking system is the source of truth: cancellations and changes apply.
            repo.update_booking(conn, booking)
            updated += 1
        else:
            unchanged += 1
    if conflicts:
        raise BookingSyncConflict(conflicts)
    remote_ids = {b.id for _, b in rows}
    missing = tuple(b.id for b in repo.bookings_on(conn, office_id, day) if b.id not in remote_ids)
    return added, unchanged, updated, missing


def sync_day_list(
    db: Database,
    *,
    url: str,
    office_id: str,
    day: date,
    session: requests.Session | None = None,
    connect_timeout: float = 3.0,
    read_timeout: float = 5.0,
    retries: int = 2,
    backoff: float = 0.5,
    deadline_s: float = 60.0,
    max_bytes: int = MAX_SYNC_BYTES,
    state_path: Path | None = None,
) -> SyncResult:
    """Fetch ``day``'s bookings for ``office_id`` and import them all-or-nothing.

    See the module docstring for the formats. Network and remote faults give
    ``SyncResult(ok=False, error=…)`` and leave the local list untouched; a
    contradiction with stored bookings raises :class:`BookingSyncConflict`
    (nothing imported). ``state_path``, when given, records the time of the
    last successful sync and the last failure (:func:`read_sync_state`).
    ``deadline_s`` bounds the whole download, retries included.
    """
    _check_base_url(url, "day-list URL")
    start = time.monotonic()
    where = _where(url)
    attempts = 0

    def failed(error: str, *, rejected: list[tuple[int, str]] | None = None) -> SyncResult:
        log.warning("booking day-list sync failed: %s", error)
        _record_failure(state_path, error)
        return SyncResult(
            ok=False,
            office_id=office_id,
            day=day,
            error=error,
            rejected=tuple(rejected or ()),
            attempts=attempts,
            elapsed_s=time.monotonic() - start,
        )

    owned = session is None
    http = requests.Session() if session is None else session
    try:
        reply, attempts = _get(
            http,
            url,
            params={"office": office_id, "date": day.isoformat()},
            accept="application/json, text/csv;q=0.9",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
            deadline=start + deadline_s,
            max_bytes=max_bytes,
            rng=random.Random(),
        )
    except _RemoteFault as exc:
        attempts = exc.attempts
        return failed(f"day list not synced: {exc}; the kiosk keeps its current list")
    finally:
        if owned:
            http.close()

    if reply.status != 200:
        return failed(
            f"day list not synced: {_http_problem(reply.status, where)}; "
            "the kiosk keeps its current list"
        )
    if reply.media_type in _JSON_TYPES or reply.media_type.endswith("+json"):
        fmt, parse = "json", _parse_json_list
    elif reply.media_type in _CSV_TYPES:
        fmt, parse = "csv", _parse_csv_list
    else:
        return failed(
            f"day list not synced: {where} sent {reply.media_type or 'no Content-Type'}, "
            "expected application/json or text/csv — is this the booking system's "
            "day-list address?"
        )
    try:
        rows = parse(reply.body)
    except InputError as exc:
        return failed(f"day list not synced: {exc}; the kiosk keeps its current list")
    good, errors = _validate_rows(rows, office_id=office_id, day=day, derive_id=fmt == "csv")
    if errors:
        first = "; ".join(f"row {n}: {msg}" for n, msg in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return failed(
            f"day list not synced: {len(errors)} row(s) from the booking system are "
            f"invalid, nothing was imported — {first}{more}",
            rejected=errors,
        )

    try:
        with db.transaction() as conn:
            added, unchanged, updated, missing = _import(conn, good, office_id, day)
    except BookingSyncConflict as exc:
        _record_failure(state_path, str(exc))
        raise
    synced_at = datetime.now(UTC)
    warning = _record_success(state_path, synced_at, office_id, day, added + unchanged)
    log.info(
        "booking day list %s for %s synced: %d added, %d unchanged",
        day,
        office_id,
        added,
        unchanged,
    )
    return SyncResult(
        ok=True,
        office_id=office_id,
        day=day,
        added=added,
        unchanged=unchanged,
        updated=updated,
        not_in_remote=missing,
        format=fmt,
        attempts=attempts,
        elapsed_s=time.monotonic() - start,
        synced_at=synced_at,
        warning=warning,
    )


# -- the state file ----------------------------------------------------------
def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _record_success(
    path: Path | None, at: datetime, office_id: str, day: date, total: int
) -> str | None:
    if path is None:
        return None
    state = _load_state(path)
    state["last_success"] = {
        "at": at.isoformat(),
        "office_id": office_id,
        "day": day.isoformat(),
        "total": total,
    }
    try:
        _write_json_atomic(path, state)
    except OSError as exc:
        log.warning("cannot write sync state %s: %s", path, exc)
        return f"bookings imported, but the sync state file {path} cannot be written: {exc}"
    return None


def _record_failure(path: Path | None, error: str) -> None:
    if path is None:
        return
    state = _load_state(path)
    state["last_failure"] = {"at": datetime.now(UTC).isoformat(), "error": error}
    try:
        _write_json_atomic(path, state)
    except OSError as exc:
        log.warning("cannot write sync state %s: %s", path, exc)


def read_sync_state(path: Path) -> SyncState:
    """The state file's content; an empty :class:`SyncState` if missing or unreadable."""
    state = _load_state(path)
    ok = state.get("last_success")
    ok = ok if isinstance(ok, dict) else {}
    bad = state.get("last_failure")
    bad = bad if isinstance(bad, dict) else {}

    def when(value: Any, parse: Callable[[str], Any]) -> Any:
        try:
            return parse(value) if isinstance(value, str) else None
        except ValueError:
            return None

    total = ok.get("total")
    return SyncState(
        last_success_at=when(ok.get("at"), datetime.fromisoformat),
        last_success_office=ok.get("office_id") if isinstance(ok.get("office_id"), str) else None,
        last_success_day=when(ok.get("day"), date.fromisoformat),
        last_success_total=total if isinstance(total, int) else None,
        last_failure_at=when(bad.get("at"), datetime.fromisoformat),
        last_error=bad.get("error") if isinstance(bad.get("error"), str) else None,
    )


# -- live look-up ------------------------------------------------------------
class LiveStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    """The booking system does not know the id (authoritative)."""
    UNAVAILABLE = "unavailable"
    """No usable answer; ``reason`` says why. Fall back to the local list."""


@dataclass(frozen=True)
class RemoteBooking:
    id: str
    office_id: str
    date: date
    status: str
    service: str = ""


@dataclass(frozen=True)
class LiveAnswer:
    status: LiveStatus
    booking: RemoteBooking | None = None
    reason: str | None = None
    attempts: int = 0
    elapsed_s: float = 0.0


def _remote_booking(body: bytes, booking_id: str, media_type: str) -> RemoteBooking:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise InputError(
            f"the answer is not JSON (Content-Type {media_type or 'missing'})"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"the answer must be a JSON object, not {type(data).__name__}")
    answered_id = _str_field(data, "id", required=True).strip().upper()
    if answered_id != booking_id:
        raise InputError(f"the answer is about booking {answered_id[:40]!r}, not {booking_id}")
    office = _str_field(data, "office_id", required=True).strip()
    if not office or len(office) > 40 or not office.isprintable():
        raise InputError(f"office_id {office[:40]!r} is not an office id")
    status = _str_field(data, "status", required=True).strip().lower()
    if status not in STATUSES:
        raise InputError(f"status {status[:40]!r} must be valid or cancelled")
    return RemoteBooking(
        id=booking_id,
        office_id=office,
        date=parse_date(_str_field(data, "date", required=True)),
        status=status,
        service=clean_service(_str_field(data, "service", required=False)),
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
        _check_base_url(base_url, "live look-up URL")
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
                f"the booking system at {_where(self.base_url)} gave no answer within "
                f"{self.deadline_s:.1f} s"
            )
        except Exception as exc:  # a bug must not keep the gate from deciding
            log.exception("live look-up of %s failed unexpectedly", logsafe.ref(booking_id))
            reason = f"live look-up failed unexpectedly ({type(exc).__name__})"
        log.warning("live look-up of %s unavailable: %s", logsafe.ref(booking_id), reason)
        return LiveAnswer(LiveStatus.UNAVAILABLE, reason=reason, elapsed_s=time.monotonic() - start)

    def _lookup_blocking(self, booking_id: str, deadline: float, start: float) -> LiveAnswer:
        url = f"{self.base_url}/bookings/{quote(booking_id, safe='')}"
        where = f"{_where(self.base_url)}/bookings/…"  # never the id: reasons end up in logs
        attempts = 0

        def answer(status: LiveStatus, **kw: Any) -> LiveAnswer:
            if status is LiveStatus.UNAVAILABLE:
                log.warning(
                    "live look-up of %s unavailable: %s", logsafe.ref(booking_id), kw.get("reason")
                )
            return LiveAnswer(status, attempts=attempts, elapsed_s=time.monotonic() - start, **kw)

        try:
            reply, attempts = _get(
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
        except _RemoteFault as exc:
            attempts = exc.attempts
            return answer(LiveStatus.UNAVAILABLE, reason=str(exc))
        if reply.status == 404:
            return answer(LiveStatus.NOT_FOUND)
        if reply.status != 200:
            return answer(LiveStatus.UNAVAILABLE, reason=_http_problem(reply.status, where))
        try:
            booking = _remote_booking(reply.body, booking_id, reply.media_type)
        except InputError as exc:
            return answer(
                LiveStatus.UNAVAILABLE,
                reason=f"the booking system at {where} sent an unusable answer: {exc}",
            )
        return answer(LiveStatus.FOUND, booking=booking)


def facts_for_answer(
    conn: sqlite3.Connection,
    text: str,
    answer: LiveAnswer,
    *,
    business_day: date,
    keyring: KeyRing | None = None,
) -> tuple[BookingFacts, str]:
    """Booking facts from a live ``answer`` (``"live"``), or from the local list (``"cache"``).

    Split from :func:`facts_with_fallback` so a caller can ask the booking
    system before opening its database transaction and only read locally
    inside it. ``admitted_at`` always comes from the local database.
    """
    booking_id = parse_plain_code(text)
    remote = answer.booking
    if booking_id is None or answer.status is LiveStatus.UNAVAILABLE:
        return lookup_facts(conn, text, business_day=business_day, keyring=keyring), CACHE
    if answer.status is LiveStatus.NOT_FOUND or remote is None:
        return BookingFacts(booking_id=booking_id, problem=Reason.BOOKING_UNKNOWN), LIVE
    if remote.id != booking_id:
        raise ValueError(f"live answer for {remote.id} used for scanned {booking_id}")
    if remote.status == "cancelled":
        return BookingFacts(booking_id=booking_id, problem=Reason.BOOKING_CANCELLED), LIVE
    facts = genuine_facts(
        conn,
        booking_id,
        business_day,
        office_id=remote.office_id,
        valid_from=remote.date,
        valid_until=remote.date,
    )
    return facts, LIVE


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
    :func:`kiosk.bookings.lookup_facts` and reported as ``"cache"``.
    Takes at most ``live.deadline_s`` (+0.2 s) plus local reads — but call it
    outside a write transaction, or use :meth:`LiveLookup.lookup` then
    :func:`facts_for_answer` so the network wait holds no database lock.
    """
    booking_id = parse_plain_code(text)
    if live is None or booking_id is None:
        return lookup_facts(conn, text, business_day=business_day, keyring=keyring), CACHE
    answer = live.lookup(booking_id)
    return facts_for_answer(conn, text, answer, business_day=business_day, keyring=keyring)


__all__ = [
    "CACHE",
    "LIVE",
    "MAX_LOOKUP_BYTES",
    "MAX_SYNC_BYTES",
    "BookingSyncConflict",
    "LiveAnswer",
    "LiveLookup",
    "LiveStatus",
    "RemoteBooking",
    "SyncResult",
    "SyncState",
    "facts_for_answer",
    "facts_with_fallback",
    "read_sync_state",
    "sync_day_list",
]
