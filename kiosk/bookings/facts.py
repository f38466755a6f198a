"""What the admission rules learn about a scanned code: :class:`BookingFacts`.

From the local booking list (:func:`lookup_facts`) or from the booking
system's live answer (:func:`facts_for_answer`, the answer types are defined
here so the live client and the gate share them). An earlier admission today
always comes from the local database (:func:`genuine_facts`), never from the
booking system.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from kiosk.bookings.codes import is_signed_code, parse_plain_code
from kiosk.domain.admission import BookingFacts
from kiosk.domain.bookingcode import Accepted, KeyRing, authenticate_code
from kiosk.domain.reasons import Reason
from kiosk.storage import capacity
from kiosk.storage import repository as repo

LIVE = "live"
"""Facts came from the booking system's live answer."""
CACHE = "cache"
"""Facts came from the local booking list (no live look-up, or it was unavailable)."""


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
    arrive_from: time | None = None
    arrive_until: time | None = None


@dataclass(frozen=True)
class LiveAnswer:
    status: LiveStatus
    booking: RemoteBooking | None = None
    reason: str | None = None
    attempts: int = 0
    elapsed_s: float = 0.0


def lookup_facts(
    conn: sqlite3.Connection,
    text: str,
    *,
    business_day: date,
    keyring: KeyRing | None = None,
) -> BookingFacts:
    """Everything the rules need to know about a scanned text, on ``business_day``.

    Signed codes (``KB:…``) are checked offline against ``keyring``: genuine
    codes need no local booking row, but a local row marked cancelled wins.
    Plain booking ids must be in the local booking list.
    """
    if is_signed_code(text):
        return _signed_facts(conn, text, business_day, keyring)
    booking_id = parse_plain_code(text)
    if booking_id is None:
        return BookingFacts(booking_id=None, problem=Reason.QR_INVALID)
    booking = repo.get_booking(conn, booking_id)
    if booking is None:
        return BookingFacts(booking_id=booking_id, problem=Reason.BOOKING_UNKNOWN)
    if booking.status == "cancelled":
        return BookingFacts(booking_id=booking_id, problem=Reason.BOOKING_CANCELLED)
    return genuine_facts(
        conn,
        booking_id,
        business_day,
        office_id=booking.office_id,
        valid_from=booking.date,
        valid_until=booking.date,
        service=booking.service,
        window=_parse_window(capacity.arrival_window(conn, booking_id)),
    )


def _parse_window(window: tuple[str | None, str | None]) -> tuple[time | None, time | None]:
    def parse(text: str | None) -> time | None:
        try:
            return time.fromisoformat(text) if text else None
        except ValueError:
            return None

    return parse(window[0]), parse(window[1])


def genuine_facts(
    conn: sqlite3.Connection,
    booking_id: str,
    business_day: date,
    *,
    office_id: str,
    valid_from: date,
    valid_until: date,
    service: str = "",
    window: tuple[time | None, time | None] = (None, None),
) -> BookingFacts:
    """A genuine booking's facts, with its earlier admission today (if any) from the local database."""
    earlier = repo.last_admission(conn, booking_id, business_day)
    reentries, last_ts = (
        capacity.reentries(conn, booking_id, business_day) if earlier else (0, None)
    )
    return BookingFacts(
        booking_id=booking_id,
        office_id=office_id,
        valid_from=valid_from,
        valid_until=valid_until,
        admitted_at=earlier[0] if earlier else None,
        admitted_gate=earlier[1] if earlier else None,
        admission_undone=earlier[2] if earlier else False,
        service=service,
        arrive_from=window[0],
        arrive_until=window[1],
        reentries=reentries,
        last_admitted_at=datetime.fromisoformat(last_ts) if last_ts else None,
    )


def _signed_facts(
    conn: sqlite3.Connection, text: str, business_day: date, keyring: KeyRing | None
) -> BookingFacts:
    if keyring is None:
        return BookingFacts(booking_id=None, problem=Reason.KEY_UNKNOWN)
    verdict = authenticate_code(text, keyring=keyring)
    if not isinstance(verdict, Accepted):
        return BookingFacts(booking_id=None, problem=verdict.reason)
    code = verdict.booking
    local = repo.get_booking(conn, code.booking_id)
    if local is not None and local.status == "cancelled":
        return BookingFacts(booking_id=code.booking_id, problem=Reason.BOOKING_CANCELLED)
    return genuine_facts(
        conn,
        code.booking_id,
        business_day,
        office_id=code.office_id,
        valid_from=code.valid_from,
        valid_until=code.valid_until,
        service=code.service,
        window=(code.arrive_from, code.arrive_until),
    )


def facts_for_answer(
    conn: sqlite3.Connection,
    text: str,
    answer: LiveAnswer,
    *,
    business_day: date,
    keyring: KeyRing | None = None,
) -> tuple[BookingFacts, str]:
    """Booking facts from a live ``answer`` (``"live"``), or from the local list (``"cache"``).

    Split from :func:`kiosk.bookings.live.facts_with_fallback` so a caller can
    ask the booking system before opening its database transaction and only
    read locally inside it. ``admitted_at`` always comes from the local database.
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
        service=remote.service,
        window=(remote.arrive_from, remote.arrive_until),
    )
    return facts, LIVE
