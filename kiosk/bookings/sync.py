"""Day-list sync: pull the day's bookings from the booking system, keep the last good list.

``GET {url}?office={office_id}&date=YYYY-MM-DD`` returns the day's bookings,
in one of two formats chosen by the ``Content-Type`` of the answer:

* ``application/json`` (or any ``…+json``)::

      {"bookings": [{"id": "BK-7K4Q2M9X", "date": "2026-11-23", "name": "Siti Rahayu",
                     "service": "KTP-el", "status": "valid"}, …]}

  ``id``, ``date`` and ``name`` are required strings; ``service``,
  ``status`` (``valid`` or ``cancelled``, default ``valid``), ``office_id``
  and the arrival window ``arrive_from`` / ``arrive_until`` (local ``HH:MM``)
  are optional strings (``null`` counts as absent). Unknown
  keys are ignored so the booking system can add fields.

* ``text/csv`` (or ``application/csv``): read by the same reader as a
  spreadsheet import (:func:`kiosk.bookings.rows.read_csv_records`):
  ``date`` and ``name`` required, ``id``, ``service``, ``office_id``,
  ``status``, ``arrive_from`` and ``arrive_until`` optional, unknown columns an error. A row without ``id`` gets
  the same stable derived id as a spreadsheet import.

Every row is validated (name, service — one of the configured services when
``services`` is given —, arrival window, date, id, status, office and the
requested day); one bad row rejects the whole list. The list is then merged
all-or-nothing in one transaction by the merge rule of
:mod:`kiosk.bookings.merge`: new bookings are added, identical ones left
alone, and the booking system's changes — cancellations included — are
applied to the stored bookings (a cancelled booking is kept, marked
cancelled, and refused at the gate). Bookings are never deleted (ids missing
from the remote list are reported in :attr:`SyncResult.not_in_remote`).

Faults of the booking system or the network — timeout, refused connection,
HTTP errors, malformed or wrongly typed data, an answer over
:data:`MAX_SYNC_BYTES` — never raise: the local list stays exactly as it was
(the last good list) and :class:`SyncResult` has ``ok=False`` and an
actionable ``error``. Only problems of the kiosk's own data raise:
:class:`~kiosk.bookings.merge.BookingSyncConflict` when the remote list
lists a booking id the kiosk holds for another office (nothing imported),
and :class:`~kiosk.errors.StorageError` from the database.

The time of the last successful sync (and the last failure) is kept in a
small JSON state file written atomically (:mod:`kiosk.bookings.state`).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.bookings.http import RemoteFault, check_base_url, http_get, http_problem, where
from kiosk.bookings.merge import SYNC_SOURCE, BookingSyncConflict, merge_bookings
from kiosk.bookings.rows import read_csv_records, validate_rows
from kiosk.bookings.state import record_failure, record_success
from kiosk.errors import BookingImportError, InputError
from kiosk.storage import Backend
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

MAX_SYNC_BYTES = 5 * 1024 * 1024
"""Largest day-list answer accepted (a day of bookings is far smaller)."""
_JSON_TYPES = ("application/json",)
_CSV_TYPES = ("text/csv", "application/csv")
_KEPT = "the kiosk keeps its current list"


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


def _json_entries(body: bytes) -> list[tuple[int, Any]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"the day list is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("bookings"), list):
        raise InputError('the day list must be a JSON object {"bookings": [...]}')
    return list(enumerate(data["bookings"], start=1))


def _csv_entries(body: bytes) -> list[tuple[int, Any]]:
    return list(read_csv_records(body, label="the CSV day list"))


def sync_day_list(
    db: Backend,
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
    services: Collection[str] = (),
) -> SyncResult:
    """Fetch ``day``'s bookings for ``office_id`` and merge them all-or-nothing.

    See the module docstring for the formats, and :mod:`kiosk.bookings.merge`
    for what a remote change or cancellation does to a stored booking.
    Network and remote faults give ``SyncResult(ok=False, error=…)`` and leave
    the local list untouched; an id held for another office raises
    :class:`BookingSyncConflict` (nothing imported). ``state_path``, when
    given, records the time of the last successful sync and the last failure
    (:func:`kiosk.bookings.state.read_sync_state`). ``deadline_s`` bounds the
    whole download, retries included.
    """
    check_base_url(url, "day-list URL")
    start = time.monotonic()
    at = where(url)
    attempts = 0

    def failed(error: str, *, rejected: list[tuple[int, str]] | None = None) -> SyncResult:
        log.warning("booking day-list sync failed: %s", error)
        record_failure(state_path, error)
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
        reply, attempts = http_get(
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
    except RemoteFault as exc:
        attempts = exc.attempts
        return failed(f"day list not synced: {exc}; {_KEPT}")
    finally:
        if owned:
            http.close()

    if reply.status != 200:
        return failed(f"day list not synced: {http_problem(reply.status, at)}; {_KEPT}")
    if reply.media_type in _JSON_TYPES or reply.media_type.endswith("+json"):
        fmt, parse, unit = "json", _json_entries, "row"
    elif reply.media_type in _CSV_TYPES:
        fmt, parse, unit = "csv", _csv_entries, "line"
    else:
        return failed(
            f"day list not synced: {at} sent {reply.media_type or 'no Content-Type'}, "
            "expected application/json or text/csv — is this the booking system's "
            "day-list address?"
        )
    try:
        rows = parse(reply.body)
    except InputError as exc:
        return failed(f"day list not synced: {exc}; {_KEPT}")
    except BookingImportError as exc:  # a bad CSV header (line 1)
        header = "; ".join(msg for _, msg in exc.errors)
        return failed(f"day list not synced: the CSV day list has {header}; {_KEPT}")
    good, errors = validate_rows(
        rows,
        office_id=office_id,
        source=SYNC_SOURCE,
        derive_id=fmt == "csv",
        day=day,
        unit=unit,
        services=services,
    )
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
            merged = merge_bookings(conn, good)
            if merged.conflicts:
                raise BookingSyncConflict(list(merged.conflicts))
            remote_ids = {b.id for _, b in good}
            missing = tuple(
                b.id for b in repo.bookings_on(conn, office_id, day) if b.id not in remote_ids
            )
    except BookingSyncConflict as exc:
        record_failure(state_path, str(exc))
        raise
    synced_at = datetime.now(UTC)
    warning = record_success(state_path, synced_at, office_id, day, merged.added + merged.unchanged)
    log.info(
        "booking day list %s for %s synced: %d added, %d unchanged",
        day,
        office_id,
        merged.added,
        merged.unchanged,
    )
    return SyncResult(
        ok=True,
        office_id=office_id,
        day=day,
        added=merged.added,
        unchanged=merged.unchanged,
        updated=merged.updated,
        not_in_remote=missing,
        format=fmt,
        attempts=attempts,
        elapsed_s=time.monotonic() - start,
        synced_at=synced_at,
        warning=warning,
    )
