"""Attendance reports (CSV for Excel/LibreOffice), the duty roster, and the PIN alternative."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.domain.reasons import Outcome, Reason
from kiosk.errors import InputError
from kiosk.faces.report import day_report, month_report
from kiosk.services.runtime import Kiosk
from kiosk.storage import Database
from kiosk.storage import staff as store
from tests.conftest import FakeClock

WIB = ZoneInfo("Asia/Jakarta")


def wib(day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=WIB).astimezone(UTC)


def invoke(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, input=input)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    assert invoke("init", str(tmp_path / "d")).exit_code == 0
    return tmp_path / "d" / "kiosk.toml"


def add_marks(config_path: Path) -> None:
    config = load_config(config_path)
    db = Database(config.database_path)
    db.migrate()
    with db.transaction() as conn:
        ani = store.add_staff(conn, "Ani Suryani")
        formula = store.add_staff(conn, "=HYPERLINK(evil)")
        store.add_staff(conn, "Dédi")
        for staff_id, ts, kind in [
            (ani, wib(23, 8, 20), "in"),
            (ani, wib(23, 16, 45), "out"),
            (formula, wib(23, 7, 50), "in"),
            (ani, wib(24, 7, 55), "in"),
        ]:
            store.add_mark(
                conn,
                store.AttendanceMark(
                    staff_id=staff_id,
                    ts=ts,
                    business_date=ts.astimezone(WIB).date(),
                    gate_id="gate-1",
                    kind=kind,
                    method="face",
                    reason="staff",
                ),
            )
    db.close()


def test_day_report_csv_opens_cleanly_in_a_spreadsheet(config_path: Path, tmp_path: Path) -> None:
    add_marks(config_path)
    roster = tmp_path / "piket.csv"
    roster.write_text("date,name\n2026-11-23,Dédi\n2026-11-23,Ani Suryani\n", encoding="utf-8")
    assert (
        "2 duty day(s) read, 2 new"
        in invoke("faces", "roster", "import", "--config", str(config_path), str(roster)).output
    )
    out = tmp_path / "day.csv"
    result = invoke(
        "faces", "report", "--config", str(config_path), "--day", "2026-11-23", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the accents right
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    by_name = {r["name"]: r for r in rows}
    ani = by_name["Ani Suryani"]
    # Local (WIB) times, not UTC: 08:20 WIB is 01:20 UTC.
    assert (ani["date"], ani["first_in"], ani["last_out"], ani["late"]) == (
        "2026-11-23",
        "08:20",
        "16:45",
        "yes",
    )
    assert (ani["on_duty"], ani["absent_on_duty"]) == ("yes", "no")
    assert by_name["Dédi"]["absent_on_duty"] == "yes"
    assert "'=HYPERLINK(evil)" in by_name  # never run as a formula
    assert by_name["'=HYPERLINK(evil)"]["late"] == "no"


def test_month_report_and_audit(config_path: Path) -> None:
    add_marks(config_path)
    result = invoke(
        "faces", "report", "--config", str(config_path), "--month", "2026-11", "--by", "Admin Sari"
    )
    text = result.stdout_bytes.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["name"], r["date"]) for r in rows if r["name"] == "Ani Suryani"] == [
        ("Ani Suryani", "2026-11-23"),
        ("Ani Suryani", "2026-11-24"),
    ]
    config = load_config(config_path)
    db = Database(config.database_path)
    row = db.connection().execute("SELECT actor, action, details FROM audit_log").fetchall()[-1]
    db.close()
    assert tuple(row) == ("Admin Sari", "attendance_report", "month 2026-11")


def test_report_needs_exactly_one_period(config_path: Path) -> None:
    result = CliRunner().invoke(main, ["faces", "report", "--config", str(config_path)])
    assert result.exit_code == 1
    assert "exactly one of --day" in result.output


def test_roster_import_reports_every_bad_row_and_imports_nothing(
    config_path: Path, tmp_path: Path
) -> None:
    add_marks(config_path)
    roster = tmp_path / "piket.csv"
    roster.write_text(
        "date,name\n2026-11-23,Ani Suryani\n23/11/2026,Ani Suryani\n2026-11-24,Nobody\n"
    )
    result = CliRunner().invoke(
        main, ["faces", "roster", "import", "--config", str(config_path), str(roster)]
    )
    assert result.exit_code == 1
    assert "line 3: date must be YYYY-MM-DD" in result.output
    assert "line 4: no staff member 'Nobody'" in result.output
    config = load_config(config_path)
    db = Database(config.database_path)
    assert store.roster_between(db.connection(), date(2026, 1, 1), date(2027, 1, 1)) == []
    db.close()


def test_report_functions_for_the_admin_pages(config_path: Path) -> None:
    add_marks(config_path)
    config = load_config(config_path)
    db = Database(config.database_path)
    try:
        day = day_report(config, db, date(2026, 11, 24), actor="admin")
        assert [(r[2], r[3]) for r in day.table()] == [("Ani Suryani", "07:55")]
        month = month_report(config, db, 2026, 11, actor="admin")
        totals = {t["name"]: t for t in month.totals()}
        assert totals["Ani Suryani"]["present"] == 2 and totals["Ani Suryani"]["late"] == 1
    finally:
        db.close()


# -- the PIN alternative --------------------------------------------------------------
def test_pin_is_stored_hashed_and_clocks_in_without_face_data(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk(attendance={"enabled": False}, clock=FakeClock())
    result = invoke(
        "faces",
        "pin",
        "--config",
        str(kiosk.config.source),
        "Budi",
        "--pin-stdin",
        input="482913\n",
    )
    assert "PIN set" in result.output
    registry = kiosk.attendance.registry
    budi = registry.find("Budi")
    assert budi.has_pin and budi.encodings == 0 and budi.consent_at is None
    stored = store.pin_hash(kiosk.db.connection(), budi.id)
    assert stored is not None and "482913" not in stored and stored.startswith("scrypt$")
    kiosk.simulator.set_body_temperature(36.6)
    done = kiosk.attendance.clock_with_pin(budi.id, "482913")
    assert (done.decision.outcome, done.decision.reason) == (Outcome.ADMITTED, Reason.STAFF)
    [mark] = store.marks_of(kiosk.db.connection(), budi.id)
    assert (mark.kind, mark.method) == ("in", "pin")


def test_wrong_pins_are_refused_then_locked_out(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = make_kiosk()
    registry = kiosk.attendance.registry
    staff_id = registry.add_staff("Citra", actor="admin")
    registry.set_pin(staff_id, "1234", actor="admin")
    for _ in range(5):
        with pytest.raises(InputError, match="wrong staff number or PIN"):
            kiosk.attendance.clock_with_pin(staff_id, "9999")
    with pytest.raises(InputError, match="too many wrong PINs"):
        kiosk.attendance.clock_with_pin(staff_id, "1234")
    with pytest.raises(InputError, match="4 to 8 digits"):
        registry.set_pin(staff_id, "12a4", actor="admin")
