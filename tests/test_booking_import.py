"""CSV booking import: every bad row reported by line number, nothing half-imported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kiosk.bookings import import_bookings, read_booking_csv
from kiosk.errors import BookingImportError, InputError
from kiosk.storage import Database
from kiosk.storage import repository as repo

OFFICE = "3314-SRG"


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "bookings.csv"
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


def test_good_file_imports_all_rows(tmp_path: Path, db: Database) -> None:
    path = csv_file(
        tmp_path,
        "\ufeffid,date,name,service\n"
        "BK-A001,2026-11-23,Siti Rahayu,KTP-el\n"
        "BK-A002,23/11/2026,Budi Santoso,KK\n"
        ",2026-11-24,Dewi Lestari,\n",
    )
    rows = read_booking_csv(path, office_id=OFFICE)
    with db.transaction() as conn:
        assert import_bookings(conn, rows) == (3, 0)
    conn = db.connection()
    assert repo.get_booking(conn, "BK-A002").date == date(2026, 11, 23)  # type: ignore[union-attr]
    assert len(repo.bookings_on(conn, OFFICE, date(2026, 11, 24))) == 1
    # Importing the same file again changes nothing and is not an error.
    with db.transaction() as conn:
        assert import_bookings(conn, read_booking_csv(path, office_id=OFFICE))[0] == 0


def test_semicolon_separated_sheet(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "date;name;service\n2026-11-23;Siti;KTP-el\n")
    assert read_booking_csv(path, office_id=OFFICE)[0][1].service == "KTP-el"


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    tmp_path: Path, db: Database
) -> None:
    path = csv_file(
        tmp_path,
        "id,date,name,service\n"
        "BK-B001,2026-11-23,Siti,KTP-el\n"  # line 2 ok
        "BK-B002,2026-13-45,Budi,KK\n"  # line 3 bad date
        "BK-B003,2026-11-23,,KK\n"  # line 4 empty name
        "BK-B001,2026-11-23,Siti,KTP-el\n"  # line 5 duplicate id
        "bad id!,2026-11-23,Rina,KK\n"  # line 6 bad id
        "BK-B006,2026-11-23\n",  # line 7 missing fields
    )
    with pytest.raises(BookingImportError) as info:
        read_booking_csv(path, office_id=OFFICE)
    lines = [n for n, _ in info.value.errors]
    assert lines == [3, 4, 5, 6, 7]
    assert "line 3" in str(info.value)
    assert "nothing was imported" in str(info.value)
    assert repo.get_booking(db.connection(), "BK-B001") is None


def test_conflict_with_existing_booking_rolls_back_everything(tmp_path: Path, db: Database) -> None:
    first = csv_file(tmp_path, "id,date,name\nBK-C001,2026-11-23,Siti\n")
    with db.transaction() as conn:
        import_bookings(conn, read_booking_csv(first, office_id=OFFICE))
    second = csv_file(tmp_path, "id,date,name\nBK-C002,2026-11-23,Budi\nBK-C001,2026-11-24,Siti\n")
    rows = read_booking_csv(second, office_id=OFFICE)
    with pytest.raises(BookingImportError) as info, db.transaction() as conn:
        import_bookings(conn, rows)
    assert info.value.errors[0][0] == 3
    assert repo.get_booking(db.connection(), "BK-C002") is None


@pytest.mark.parametrize(
    "content, hint",
    [
        ("", "empty file"),
        ("name,when\nSiti,2026-11-23\n", "missing column"),
        ("date,name,nik\n2026-11-23,Siti,3314\n", "unknown column"),
    ],
)
def test_bad_header(tmp_path: Path, content: str, hint: str) -> None:
    with pytest.raises((BookingImportError, InputError), match=hint):
        read_booking_csv(csv_file(tmp_path, content), office_id=OFFICE)


def test_binary_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"date,name\n2026-11-23,Sit\xe9\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_booking_csv(path, office_id=OFFICE)
    path.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        read_booking_csv(path, office_id=OFFICE)


def test_other_office_row_is_an_error(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "date,name,office_id\n2026-11-23,Siti,9999-XXX\n")
    with pytest.raises(BookingImportError, match="not this office"):
        read_booking_csv(path, office_id=OFFICE)
