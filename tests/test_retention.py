"""Retention: citizen entries, temperatures and bookings purged after the configured period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.services.retention import purge_expired
from kiosk.services.runtime import Kiosk
from kiosk.storage import Entry
from kiosk.storage import repository as repo
from tests.conftest import FakeClock

DAY0 = date(2026, 10, 1)


def fill(kiosk: Kiosk, days: int = 40, per_day: int = 3) -> None:
    """``per_day`` citizen entries (with temperatures) and bookings on each of ``days`` days."""
    office = kiosk.config.site.office_id
    with kiosk.db.transaction() as conn:
        for d in range(days):
            day = DAY0 + timedelta(days=d)
            for i in range(per_day):
                booking_id = f"B{d:03d}-{i}"
                repo.insert_booking(conn, repo.Booking(booking_id, office, day, f"Warga {d}-{i}"))
                repo.take_slot(conn, office, day, 50)
                repo.insert_entry(
                    conn,
                    Entry(
                        ts=datetime(day.year, day.month, day.day, 2, i, tzinfo=UTC),
                        business_date=day,
                        office_id=office,
                        gate_id="gate-1",
                        kind="booking",
                        outcome="admitted",
                        reason="admitted",
                        uses_slot=True,
                        booking_id=booking_id,
                        temp_object_c=35.1,
                        temp_ambient_c=24.0,
                        temp_estimated_c=36.7,
                        temp_source="sensor",
                    ),
                )


def remaining_dates(kiosk: Kiosk, table: str, column: str) -> list[str]:
    with kiosk.db.transaction(write=False) as conn:
        rows = conn.execute(f"SELECT DISTINCT {column} FROM {table} ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def test_purge_at_plus_31_days_removes_exactly_the_expired_rows(kiosk: Kiosk) -> None:
    fill(kiosk, days=40)
    today = DAY0 + timedelta(days=31)
    result = purge_expired(kiosk.db, today, 30)
    # Kept: business dates today-30 … (DAY0+1 …); purged: DAY0 only.
    assert result.cutoff == DAY0 + timedelta(days=1)
    assert (result.entries, result.bookings) == (3, 3)
    assert (
        remaining_dates(kiosk, "entries", "business_date")[0]
        == (DAY0 + timedelta(days=1)).isoformat()
    )
    assert len(remaining_dates(kiosk, "entries", "business_date")) == 39
    assert remaining_dates(kiosk, "bookings", "date")[0] == (DAY0 + timedelta(days=1)).isoformat()
    assert (
        remaining_dates(kiosk, "day_counters", "business_date")[0]
        == (DAY0 + timedelta(days=1)).isoformat()
    )
    # A second run the same day finds nothing more.
    assert purge_expired(kiosk.db, today, 30).entries == 0
    with kiosk.db.transaction(write=False) as conn:
        audits = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'retention_purge' ORDER BY id"
        ).fetchall()
    assert audits[0][0].startswith("3 entries, 3 bookings")
    assert "Warga" not in " ".join(a[0] for a in audits)  # counts only, never the data


def test_staff_attendance_entries_are_not_citizen_data(kiosk: Kiosk) -> None:
    fill(kiosk, days=2)
    with kiosk.db.transaction() as conn:
        repo.insert_entry(
            conn,
            Entry(
                ts=datetime(2026, 10, 1, 1, tzinfo=UTC),
                business_date=DAY0,
                office_id=kiosk.config.site.office_id,
                gate_id="gate-1",
                kind="staff",
                outcome="admitted",
                reason="staff",
            ),
        )
    result = purge_expired(kiosk.db, DAY0 + timedelta(days=100), 30)
    assert result.entries == 6
    assert remaining_dates(kiosk, "entries", "kind") == ["staff"]


def test_the_running_kiosk_purges_only_on_a_trusted_date(make_kiosk: Callable[..., Kiosk]) -> None:
    clock = FakeClock(datetime(2026, 11, 2, 2, tzinfo=UTC))  # DAY0 + 32 days
    kiosk = make_kiosk(clock=clock)
    fill(kiosk, days=5)
    result = kiosk.purge_expired()
    assert result is not None and result.cutoff == date(2026, 10, 3)
    assert result.entries == 6


def test_purge_is_skipped_while_the_date_awaits_confirmation(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2027, 3, 1, 2, tzinfo=UTC))  # far ahead: would purge everything
    kiosk = make_kiosk(
        clock=clock, clock_section={"trust": "ntp", "sync_flag": str(tmp_path / "no-such-flag")}
    )
    fill(kiosk, days=3)
    assert kiosk.purge_expired() is None
    assert len(remaining_dates(kiosk, "entries", "business_date")) == 3


def test_cli_purge_and_dry_run(kiosk: Kiosk) -> None:
    fill(kiosk, days=2)
    config = str(kiosk.config.source)
    runner = CliRunner()
    dry = runner.invoke(main, ["db", "purge", "--dry-run", "--config", config])
    assert dry.exit_code == 0, dry.output
    assert dry.output.startswith("6 entries before")
    done = runner.invoke(main, ["db", "purge", "--config", config])
    assert done.exit_code == 0, done.output
    assert done.output.startswith("purged 6 entries and 6 bookings")
