"""Bookings: plain booking ids, scan look-up, and CSV import.

A plain booking code is the booking id itself (``BK-7K4Q2M9X``); signed,
offline-verifiable codes are handled by :mod:`kiosk.domain.bookingcode`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import sqlite3
from datetime import date, datetime
from pathlib import Path

from kiosk.domain.admission import BookingFacts
from kiosk.domain.bookingcode import Accepted, KeyRing, authenticate_code
from kiosk.domain.reasons import Reason
from kiosk.errors import BookingImportError, InputError
from kiosk.storage import Booking
from kiosk.storage import repository as repo

MAX_PAYLOAD_BYTES = 512
SIGNED_PREFIX = "KB:"
BOOKING_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 120
MAX_SERVICE = 40


def new_booking_id() -> str:
    return "BK-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def derived_booking_id(office_id: str, day: date, name: str, service: str) -> str:
    """A stable id for a CSV row that has none, so re-importing a file adds nothing twice."""
    digest = hashlib.sha256(f"{office_id}|{day}|{name.casefold()}|{service}".encode()).digest()
    number = int.from_bytes(digest[:5], "big")
    return "BK-" + "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in range(8))


def parse_plain_code(text: str) -> str | None:
    """The booking id in a scanned text, or ``None`` if it is not a plain code."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
        return None
    candidate = text.strip()
    return candidate if BOOKING_ID.match(candidate) else None


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
    )


def genuine_facts(
    conn: sqlite3.Connection,
    booking_id: str,
    business_day: date,
    *,
    office_id: str,
    valid_from: date,
    valid_until: date,
) -> BookingFacts:
    """A genuine booking's facts, with its earlier admission today (if any) from the local database."""
    earlier = repo.last_admission(conn, booking_id, business_day)
    return BookingFacts(
        booking_id=booking_id,
        office_id=office_id,
        valid_from=valid_from,
        valid_until=valid_until,
        admitted_at=earlier[0] if earlier else None,
        admitted_gate=earlier[1] if earlier else None,
        admission_undone=earlier[2] if earlier else False,
    )


def is_signed_code(text: str) -> bool:
    return text.lstrip()[:3].upper() == SIGNED_PREFIX


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
    )


def clean_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InputError("name is empty")
    if len(name) > MAX_NAME:
        raise InputError(f"name is longer than {MAX_NAME} characters")
    if _CONTROL.search(name):
        raise InputError("name contains control characters")
    return name


def clean_service(value: str) -> str:
    service = value.strip()
    if len(service) > MAX_SERVICE or _CONTROL.search(service):
        raise InputError(f"service must be at most {MAX_SERVICE} printable characters")
    return service


def parse_date(value: str) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` (as Indonesian spreadsheets write it)."""
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InputError(f"date {value!r} is not YYYY-MM-DD or DD/MM/YYYY")


REQUIRED_COLUMNS = ("date", "name")
OPTIONAL_COLUMNS = ("id", "service", "office_id", "status")


def read_booking_csv(path: Path, *, office_id: str) -> list[tuple[int, Booking]]:
    """Parse and validate a bookings CSV; every error is collected with its line number.

    Raises :class:`BookingImportError` listing every bad row (nothing is
    returned then, so nothing can be half-imported).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text (save the sheet as CSV UTF-8)") from None
    if "\x00" in text:
        raise InputError(f"{path}: binary file, not a CSV")
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise InputError(f"{path}: empty file (expected a header row: date,name[,service,id])")
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(unknown)}")
        raise BookingImportError([(1, "; ".join(problems))])

    rows: list[tuple[int, Booking]] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(columns):
            errors.append((line, f"expected {len(columns)} fields, found {len(values)}"))
            continue
        record = dict(zip(columns, values, strict=True))
        try:
            booking = _row_to_booking(record, office_id)
        except InputError as exc:
            errors.append((line, str(exc)))
            continue
        if booking.id in seen:
            if record.get("id", "").strip():
                problem = f"booking id {booking.id} repeats line {seen[booking.id]}"
            else:
                problem = (
                    f"same date, name and service as line {seen[booking.id]} "
                    "(add an id column to tell two such bookings apart)"
                )
            errors.append((line, problem))
            continue
        seen[booking.id] = line
        rows.append((line, booking))
    if errors:
        raise BookingImportError(errors)
    return rows


def _row_to_booking(record: dict[str, str], office_id: str) -> Booking:
    return booking_from_fields(
        booking_id=record.get("id", ""),
        day=record["date"],
        name=record["name"],
        service=record.get("service", ""),
        row_office=record.get("office_id", ""),
        status=record.get("status", ""),
        office_id=office_id,
        source="csv",
    )


STATUSES = ("valid", "cancelled")


def booking_from_fields(
    *,
    booking_id: str,
    day: str,
    name: str,
    service: str,
    row_office: str,
    status: str,
    office_id: str,
    source: str,
) -> Booking:
    """Validate one booking row given as text (CSV import and booking-system sync).

    An empty ``booking_id`` gets a stable id derived from the row, an empty
    ``row_office`` means this office and an empty ``status`` means valid.
    Raises :class:`InputError` naming the first bad field.
    """
    clean_id = booking_id.strip().upper()
    if clean_id and not BOOKING_ID.match(clean_id):
        raise InputError(f"id {clean_id[:60]!r} must be 3–40 letters, digits or dashes")
    row_office = row_office.strip() or office_id
    if row_office != office_id:
        raise InputError(f"office_id {row_office[:40]!r} is not this office ({office_id})")
    clean_status = status.strip().lower() or "valid"
    if clean_status not in STATUSES:
        raise InputError(f"status {clean_status[:40]!r} must be valid or cancelled")
    when = parse_date(day)
    clean = clean_name(name)
    service = clean_service(service)
    return Booking(
        id=clean_id or derived_booking_id(office_id, when, clean, service),
        office_id=office_id,
        date=when,
        name=clean,
        service=service,
        status=clean_status,
        source=source,
    )


def import_bookings(conn: sqlite3.Connection, rows: list[tuple[int, Booking]]) -> tuple[int, int]:
    """Insert validated rows inside the caller's transaction: ``(added, unchanged)``.

    A row whose id exists with the same details is left alone (re-importing a
    file is harmless); one that exists with other details is an error, and
    the caller's transaction rolls everything back.
    """
    added = unchanged = 0
    errors: list[tuple[int, str]] = []
    for line, booking in rows:
        existing = repo.get_booking(conn, booking.id)
        if existing is None:
            repo.insert_booking(conn, booking)
            added += 1
        elif (existing.date, existing.name, existing.service, existing.status) == (
            booking.date,
            booking.name,
            booking.service,
            booking.status,
        ):
            unchanged += 1
        else:
            errors.append((line, f"booking id {booking.id} already exists with other details"))
    if errors:
        raise BookingImportError(errors)
    return added, unchanged
