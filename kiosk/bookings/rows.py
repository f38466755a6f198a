"""Booking rows: field validation and the one CSV reader.

Every booking that enters the kiosk from outside — a spreadsheet imported
with ``kiosk booking import``, the booking system's day list (JSON or CSV) —
is validated here, by :func:`booking_from_record`, and every CSV is read by
:func:`read_csv_records`. A CSV has a header row with ``date`` and ``name``
and optionally ``id``, ``service``, ``office_id``, ``status``, ``arrive_from`` and
``arrive_until`` (the arrival window, local ``HH:MM``), each once; unknown
columns are an error. When the office configures services (``[services.CODE]``),
a row's service must be one of their codes (any case) or empty. UTF-8 (a byte order mark is allowed); the
separator (comma, semicolon or tab) is sniffed; blank lines are skipped.
Problems are reported by line number, the header being line 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from kiosk.bookings.codes import BOOKING_ID, derived_booking_id
from kiosk.errors import BookingImportError, InputError
from kiosk.storage import Booking

MAX_NAME = 120
MAX_SERVICE = 40
STATUSES = ("valid", "cancelled")
REQUIRED_COLUMNS = ("date", "name")
OPTIONAL_COLUMNS = ("id", "service", "office_id", "status", "arrive_from", "arrive_until")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXPECTED = (
    f"expected {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)} "
    "(each once)"
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


def check_service(service: str, services: Collection[str]) -> str:
    """``service`` when it names a configured service (case-insensitive) or is empty.

    ``services`` are the configured codes; none configured accepts any service.
    """
    if services and service and service.strip().upper() not in services:
        raise InputError(
            f"service {service[:40]!r} is not a configured service "
            f"(expected one of {', '.join(sorted(services))})"
        )
    return service


def parse_window(arrive_from: str, arrive_until: str) -> tuple[str | None, str | None]:
    """The arrival window as ``HH:MM`` texts (either may be empty = open-ended)."""
    window: list[str | None] = []
    for key, value in (("arrive_from", arrive_from), ("arrive_until", arrive_until)):
        text = value.strip()
        if text and len(text) == 4 and text[1] == ":":
            text = "0" + text
        if text and not _HHMM.match(text):
            raise InputError(f"{key} {value[:20]!r} is not a time HH:MM")
        window.append(text or None)
    start, end = window
    if start and end and start >= end:
        raise InputError(f"arrive_from {start} is not before arrive_until {end}")
    return start, end


def parse_date(value: str) -> date:
    """``YYYY-MM-DD`` or ``DD/MM/YYYY`` (as Indonesian spreadsheets write it)."""
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InputError(f"date {value!r} is not YYYY-MM-DD or DD/MM/YYYY")


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
    arrive_from: str = "",
    arrive_until: str = "",
    services: Collection[str] = (),
) -> Booking:
    """Validate one booking row given as text (CSV import and booking-system sync).

    An empty ``booking_id`` gets a stable id derived from the row, an empty
    ``row_office`` means this office and an empty ``status`` means valid.
    ``services`` are the configured service codes (empty: any service).
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
    service = check_service(clean_service(service), services)
    window = parse_window(arrive_from, arrive_until)
    return Booking(
        id=clean_id or derived_booking_id(office_id, when, clean, service),
        office_id=office_id,
        date=when,
        name=clean,
        service=service,
        status=clean_status,
        source=source,
        arrive_from=window[0],
        arrive_until=window[1],
    )


def text_field(record: Mapping[str, Any], key: str, *, required: bool) -> str:
    """``record[key]`` as a string: missing or ``null`` is ``""`` (or an error if required)."""
    value = record.get(key)
    if value is None:
        if required:
            raise InputError(f"{key} is missing")
        return ""
    if not isinstance(value, str):
        raise InputError(f"{key} must be a string, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class BrokenRow:
    """A CSV line that could not even be split into the header's fields."""

    problem: str


def read_csv_records(raw: bytes, *, label: str) -> list[tuple[int, dict[str, str] | BrokenRow]]:
    """The one booking CSV reader: ``(line number, {column: text} or BrokenRow)`` per data line.

    ``label`` names the file in messages. Raises :class:`InputError` when the
    whole file is unusable (not UTF-8, binary, empty, malformed CSV) and
    :class:`BookingImportError` (line 1) for a bad header. A line with the
    wrong number of fields becomes a :class:`BrokenRow`, so every bad line is
    reported, not only the first.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{label}: not UTF-8 text (save the sheet as CSV UTF-8)") from None
    if "\x00" in text:
        raise InputError(f"{label}: binary file, not a CSV")
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
            raise InputError(f"{label}: empty file (expected a header row: date,name[,service,id])")
        columns = [h.strip().lower() for h in header]
        _check_header(columns)
        records: list[tuple[int, dict[str, str] | BrokenRow]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(columns):
                problem = f"expected {len(columns)} fields, found {len(values)}"
                records.append((reader.line_num, BrokenRow(problem)))
                continue
            records.append((reader.line_num, dict(zip(columns, values, strict=True))))
    except csv.Error as exc:
        raise InputError(f"{label}: malformed CSV near line {reader.line_num} ({exc})") from None
    return records


def _check_header(columns: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        raise BookingImportError([(1, f"{'; '.join(problems)} — {_EXPECTED}")])


def booking_from_record(
    record: object,
    *,
    office_id: str,
    source: str,
    derive_id: bool,
    day: date | None = None,
    services: Collection[str] = (),
) -> Booking:
    """Validate one CSV record or JSON entry; raises :class:`InputError` naming the problem.

    ``derive_id``: a missing or empty ``id`` gets a stable derived id (CSV)
    instead of being an error (JSON). ``day``, when given, is the only date
    accepted (a day list).
    """
    if isinstance(record, BrokenRow):
        raise InputError(record.problem)
    if not isinstance(record, dict):
        raise InputError(f"entry must be an object, not {type(record).__name__}")
    raw_id = text_field(record, "id", required=not derive_id)
    if not raw_id.strip() and not derive_id:
        raise InputError("id is empty")
    booking = booking_from_fields(
        booking_id=raw_id,
        day=text_field(record, "date", required=True),
        name=text_field(record, "name", required=True),
        service=text_field(record, "service", required=False),
        row_office=text_field(record, "office_id", required=False),
        status=text_field(record, "status", required=False),
        office_id=office_id,
        source=source,
        arrive_from=text_field(record, "arrive_from", required=False),
        arrive_until=text_field(record, "arrive_until", required=False),
        services=services,
    )
    if day is not None and booking.date != day:
        raise InputError(f"date {booking.date} is not the requested day {day}")
    return booking


def validate_rows(
    rows: list[tuple[int, Any]],
    *,
    office_id: str,
    source: str,
    derive_id: bool,
    day: date | None = None,
    unit: str = "line",
    services: Collection[str] = (),
) -> tuple[list[tuple[int, Booking]], list[tuple[int, str]]]:
    """``(good rows, errors)``: every row validated, a repeated booking id is an error.

    ``unit`` names the row numbers in messages (``"line"`` for CSV, ``"row"``
    for JSON entries).
    """
    good: list[tuple[int, Booking]] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for ref, record in rows:
        try:
            booking = booking_from_record(
                record,
                office_id=office_id,
                source=source,
                derive_id=derive_id,
                day=day,
                services=services,
            )
        except InputError as exc:
            errors.append((ref, str(exc)))
            continue
        if booking.id in seen:
            if str(record.get("id") or "").strip():
                problem = f"booking id {booking.id} repeats {unit} {seen[booking.id]}"
            else:
                problem = (
                    f"same date, name and service as {unit} {seen[booking.id]} "
                    "(add an id column to tell two such bookings apart)"
                )
            errors.append((ref, problem))
            continue
        seen[booking.id] = ref
        good.append((ref, booking))
    return good, errors


def read_booking_csv(
    path: Path, *, office_id: str, services: Collection[str] = ()
) -> list[tuple[int, Booking]]:
    """Parse and validate a bookings spreadsheet; every error is collected with its line number.

    Raises :class:`BookingImportError` listing every bad row (nothing is
    returned then, so nothing can be half-imported), :class:`InputError` for
    a file that is not a CSV at all.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    records = read_csv_records(raw, label=str(path))
    good, errors = validate_rows(
        records, office_id=office_id, source="csv", derive_id=True, services=services
    )
    if errors:
        raise BookingImportError(errors)
    return good
