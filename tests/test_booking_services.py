"""Bookings carry their service and arrival window: CSV import, day-list sync, CLI, signed codes."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.bookings import import_bookings, merge_bookings, read_booking_csv
from kiosk.bookings.rows import validate_rows
from kiosk.cli import main
from kiosk.cli.common import open_database
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.bookingcode import VERSION, WINDOW_VERSION, Accepted, authenticate_code
from kiosk.errors import BookingImportError
from kiosk.services.gate import load_gate_keyring
from kiosk.storage import Booking, Database
from kiosk.storage import repository as repo

OFFICE = "3314-SRG"
SERVICES = ("KTP-EL", "KK")


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bookings.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


def test_csv_window_and_service_are_stored(tmp_path: Path, db: Database) -> None:
    path = csv_file(
        tmp_path,
        "id,date,name,service,arrive_from,arrive_until\n"
        "BK-W001,2026-11-23,Siti,ktp-el,09:00,10:30\n"
        "BK-W002,2026-11-23,Budi,KK,,\n"
        "BK-W003,2026-11-23,Dewi,KK,8:15,\n",
    )
    rows = read_booking_csv(path, office_id=OFFICE, services=SERVICES)
    with db.transaction() as conn:
        assert import_bookings(conn, rows) == (3, 0)
    conn = db.connection()
    siti = repo.get_booking(conn, "BK-W001")
    assert siti is not None
    assert (siti.service, siti.arrive_from, siti.arrive_until) == ("ktp-el", "09:00", "10:30")
    budi = repo.get_booking(conn, "BK-W002")
    assert budi is not None and (budi.arrive_from, budi.arrive_until) == (None, None)
    dewi = repo.get_booking(conn, "BK-W003")
    assert dewi is not None and (dewi.arrive_from, dewi.arrive_until) == ("08:15", None)
    # The gate's rules read the window the import stored.
    from kiosk.bookings import lookup_facts

    facts = lookup_facts(conn, "BK-W001", business_day=date(2026, 11, 23))
    assert (facts.arrive_from, facts.arrive_until) == (time(9, 0), time(10, 30))


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2026-11-23,Siti,PASPOR,,", "service 'PASPOR' is not a configured service"),
        ("2026-11-23,Siti,KK,9.00,", "arrive_from '9.00' is not a time HH:MM"),
        ("2026-11-23,Siti,KK,,25:00", "arrive_until '25:00' is not a time HH:MM"),
        ("2026-11-23,Siti,KK,11:00,10:00", "arrive_from 11:00 is not before arrive_until 10:00"),
    ],
)
def test_bad_service_or_window_names_line_and_field(tmp_path: Path, row: str, problem: str) -> None:
    path = csv_file(
        tmp_path,
        f"date,name,service,arrive_from,arrive_until\n2026-11-23,Ok,KK,,\n{row}\n",
    )
    with pytest.raises(BookingImportError) as err:
        read_booking_csv(path, office_id=OFFICE, services=SERVICES)
    assert len(err.value.errors) == 1
    line, message = err.value.errors[0]
    assert line == 3 and problem in message, message
    assert "KK, KTP-EL" in message or "service" not in problem


def test_without_configured_services_any_service_is_accepted(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "date,name,service\n2026-11-23,Siti,PASPOR\n")
    assert read_booking_csv(path, office_id=OFFICE)[0][1].service == "PASPOR"


def test_sync_changes_the_window_and_a_sheet_may_not(db: Database) -> None:
    first = [{"id": "BK-S1", "date": "2026-11-23", "name": "Siti", "service": "KK"}]
    later = [{**first[0], "arrive_from": "13:00", "arrive_until": "14:00"}]

    def rows(entries: list[dict[str, str]], source: str) -> list[tuple[int, Booking]]:
        good, errors = validate_rows(
            list(enumerate(entries, 1)),
            office_id=OFFICE,
            source=source,
            derive_id=False,
            services=SERVICES,
        )
        assert errors == []
        return good

    with db.transaction() as conn:
        assert merge_bookings(conn, rows(first, "sync")).added == 1
    with db.transaction() as conn:
        assert merge_bookings(conn, rows(later, "sync")).updated == 1
    with db.transaction() as conn:
        assert merge_bookings(conn, rows(later, "sync")).unchanged == 1
    stored = repo.get_booking(db.connection(), "BK-S1")
    assert stored is not None and (stored.arrive_from, stored.arrive_until) == ("13:00", "14:00")
    # A spreadsheet row with another window is a conflict naming the field.
    with db.transaction() as conn:
        result = merge_bookings(conn, rows(first, "csv"))
    assert "arrive_from" in result.conflicts[0][1]


def test_sync_rejects_an_unknown_service_by_row() -> None:
    entries = [{"id": "BK-S2", "date": "2026-11-23", "name": "Siti", "service": "SIM"}]
    good, errors = validate_rows(
        list(enumerate(entries, 1)),
        office_id=OFFICE,
        source="sync",
        derive_id=False,
        unit="row",
        services=SERVICES,
    )
    assert good == [] and errors[0][0] == 1 and "'SIM' is not a configured service" in errors[0][1]


# -- the CLI ------------------------------------------------------------------


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def with_services(path: Path, *, signed_key: Path | None = None) -> Path:
    text = path.read_text()
    if signed_key is not None:
        text = text.replace('private_key = ""', f'private_key = "{signed_key}"')
    text += (
        '\n[services.KTP-EL]\nname = "Perekaman KTP-el"\ndaily_cap = 3\n'
        '\n[services.KK]\nname = "Kartu Keluarga"\ndaily_cap = 3\n'
    )
    path.write_text(text)
    return path


@pytest.fixture
def plain_config(tmp_path: Path) -> Path:
    return with_services(init_data_dir(tmp_path / "data"))


@pytest.fixture
def signed_config(tmp_path: Path) -> Path:
    (tmp_path / "secret").mkdir()
    path = with_services(
        init_data_dir(tmp_path / "data"), signed_key=tmp_path / "secret" / "signing.pem"
    )
    result = invoke("keys", "generate", "--config", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_booking_add_stores_the_window(plain_config: Path) -> None:
    result = invoke(
        "booking", "add", "--config", str(plain_config), "--date", "2026-11-23",
        "--name", "Siti", "--service", "KTP-EL", "--arrive-from", "09:00",
        "--arrive-until", "10:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    booking_id = result.output.strip().splitlines()[-1]
    with open_database(load_config(plain_config)) as db:
        stored = repo.get_booking(db.connection(), booking_id)
    assert stored is not None
    assert (stored.service, stored.arrive_from, stored.arrive_until) == ("KTP-EL", "09:00", "10:00")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (["--service", "PASPOR"], "--service: service 'PASPOR' is not a configured service"),
        (["--arrive-from", "10:00", "--arrive-until", "09:00"], "--arrive-from/--arrive-until"),
    ],
)
def test_booking_add_refuses_unknown_service_and_bad_window(
    plain_config: Path, extra: list[str], problem: str
) -> None:
    result = invoke(
        "booking", "add", "--config", str(plain_config), "--date", "2026-11-23",
        "--name", "Siti", *extra,
    )  # fmt: skip
    assert result.exit_code != 0
    assert problem in result.output


def test_issue_with_a_window_signs_the_window_version(signed_config: Path, tmp_path: Path) -> None:
    common = ["--config", str(signed_config), "--date", "2026-11-23", "--name", "Siti"]
    windowed = invoke(
        "booking", "issue", *common, "--service", "KTP-EL", "--arrive-from", "09:00",
        "--arrive-until", "10:30", "--out", str(tmp_path / "t"),
    )  # fmt: skip
    plain = invoke("booking", "add", *common, "--service", "KK")
    assert windowed.exit_code == 0, windowed.output
    assert plain.exit_code == 0, plain.output
    keyring = load_gate_keyring(load_config(signed_config))
    assert keyring is not None
    first = authenticate_code(windowed.output.strip().splitlines()[-1], keyring=keyring)
    second = authenticate_code(plain.output.strip().splitlines()[-1], keyring=keyring)
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert first.booking.version == WINDOW_VERSION
    assert (first.booking.arrive_from, first.booking.arrive_until) == (time(9), time(10, 30))
    assert first.booking.service == "KTP-EL"
    # Without a window the code keeps the format already printed on tickets.
    assert second.booking.version == VERSION and second.booking.arrive_from is None
    refused = invoke("booking", "issue", *common, "--service", "SIM")
    assert refused.exit_code != 0 and "'SIM' is not a configured service" in refused.output
