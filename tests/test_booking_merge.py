"""The one merge rule and the one CSV reader, shared by `kiosk booking import` and the sync.

One test per rule of :mod:`kiosk.bookings.merge`; the spreadsheet import and the
day-list sync both merge through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.bookings import import_bookings, lookup_facts, merge_bookings, read_booking_csv
from kiosk.bookings.rows import read_csv_records, validate_rows
from kiosk.domain.reasons import Reason
from kiosk.errors import BookingImportError, InputError
from kiosk.storage import Booking, Database, Entry
from kiosk.storage import repository as repo

OFFICE = "3314-SRG"
DAY = date(2026, 11, 23)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


def booking(booking_id: str, *, source: str, name: str = "Siti", status: str = "valid") -> Booking:
    return Booking(booking_id, OFFICE, DAY, name, "KK", status, source)


def merge(db: Database, *rows: Booking) -> tuple[int, int, int, list[int]]:
    with db.transaction() as conn:
        result = merge_bookings(conn, list(enumerate(rows, start=1)))
    return result.added, result.unchanged, result.updated, [n for n, _ in result.conflicts]


def stored(db: Database, booking_id: str) -> Booking:
    found = repo.get_booking(db.connection(), booking_id)
    assert found is not None
    return found


def test_unknown_ids_are_added_and_identical_rows_left_alone(db: Database) -> None:
    assert merge(db, booking("BK-M001", source="csv")) == (1, 0, 0, [])
    assert merge(db, booking("BK-M001", source="sync")) == (0, 1, 0, [])
    assert stored(db, "BK-M001").source == "csv"  # nothing changed, not even the source


def test_an_id_held_for_another_office_is_a_conflict_for_import_too(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as conn:
        repo.insert_booking(conn, Booking("BK-M002", "OTHER", DAY, "Siti", "KK", "valid", "csv"))
    path = tmp_path / "b.csv"
    path.write_text("id,date,name,service\nBK-M002,2026-11-23,Siti,KK\n", encoding="utf-8")
    with pytest.raises(BookingImportError, match="belongs to office OTHER"), db.transaction() as c:
        import_bookings(c, read_booking_csv(path, office_id=OFFICE))


def test_the_booking_system_changes_a_stored_booking(db: Database) -> None:
    merge(db, booking("BK-M003", source="csv"))
    assert merge(db, booking("BK-M003", source="sync", name="Siti Rahayu")) == (0, 0, 1, [])
    assert (stored(db, "BK-M003").name, stored(db, "BK-M003").source) == ("Siti Rahayu", "sync")


def test_a_spreadsheet_never_changes_a_stored_booking(db: Database) -> None:
    merge(db, booking("BK-M004", source="sync"))
    with pytest.raises(BookingImportError) as caught, db.transaction() as conn:
        import_bookings(conn, [(2, booking("BK-M004", source="csv", status="cancelled"))])
    assert caught.value.errors == [
        (2, "booking id BK-M004 already exists with other details (status)")
    ]
    assert stored(db, "BK-M004").status == "valid"


def test_a_cancellation_is_kept_refused_at_the_gate_and_can_be_reinstated(db: Database) -> None:
    merge(db, booking("BK-M005", source="sync"))
    assert merge(db, booking("BK-M005", source="sync", status="cancelled"))[2] == 1
    conn = db.connection()
    facts = lookup_facts(conn, "BK-M005", business_day=DAY)
    assert facts.problem is Reason.BOOKING_CANCELLED
    merge(db, booking("BK-M005", source="sync"))
    assert lookup_facts(db.connection(), "BK-M005", business_day=DAY).problem is None


def test_a_booking_already_admitted_keeps_its_admission_but_is_refused_once_cancelled(
    db: Database,
) -> None:
    merge(db, booking("BK-M006", source="sync"))
    admitted = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    with db.transaction() as conn:
        repo.insert_entry(
            conn,
            Entry(
                ts=admitted,
                business_date=DAY,
                office_id=OFFICE,
                gate_id="gate-1",
                kind="booking",
                outcome="admitted",
                reason="admitted",
                uses_slot=True,
                booking_id="BK-M006",
            ),
        )
    merge(db, booking("BK-M006", source="sync", status="cancelled"))
    conn = db.connection()
    assert repo.last_admission(conn, "BK-M006", DAY) == (admitted, "gate-1", False)
    assert lookup_facts(conn, "BK-M006", business_day=DAY).problem is Reason.BOOKING_CANCELLED


# -- the one CSV reader -------------------------------------------------------
def test_a_repeated_column_is_refused_by_import_and_sync_alike(tmp_path: Path) -> None:
    raw = b"date,name,name\n2026-11-23,Siti,Budi\n"
    with pytest.raises(BookingImportError, match="repeated column"):
        read_csv_records(raw, label="the CSV day list")
    path = tmp_path / "b.csv"
    path.write_bytes(raw)
    with pytest.raises(BookingImportError, match="repeated column"):
        read_booking_csv(path, office_id=OFFICE)


def test_malformed_csv_is_an_input_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b"date,name\n2026-11-23," + b"x" * 200_000 + b"\n")
    with pytest.raises(InputError, match="malformed CSV near line 2"):
        read_booking_csv(path, office_id=OFFICE)


def test_csv_rows_of_a_day_list_are_named_by_line() -> None:
    records = read_csv_records(
        b"id,date,name\nBK-M007,2026-11-23,Siti\nBK-M007,2026-11-23,Budi\n", label="x"
    )
    _, errors = validate_rows(records, office_id=OFFICE, source="sync", derive_id=True, day=DAY)
    assert errors == [(3, "booking id BK-M007 repeats line 2")]
