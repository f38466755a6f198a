"""When the booking list is pulled: daily times and before opening, in the office's zone."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.services.sync_scheduler import SyncScheduler, daily_slots, next_run

WIB = ZoneInfo("Asia/Jakarta")


def test_slots_include_fifteen_minutes_before_opening() -> None:
    assert daily_slots(["05:00"], opens_minute=7 * 60 + 30) == [300, 435]
    assert daily_slots(["05:00", "05:00"], opens_minute=0) == [300]  # always open: no extra slot


@pytest.mark.parametrize(
    "local_now, expected_local",
    [
        (datetime(2026, 11, 23, 4, 59, tzinfo=WIB), datetime(2026, 11, 23, 5, 0, tzinfo=WIB)),
        (datetime(2026, 11, 23, 5, 0, tzinfo=WIB), datetime(2026, 11, 23, 7, 15, tzinfo=WIB)),
        (datetime(2026, 11, 23, 23, 0, tzinfo=WIB), datetime(2026, 11, 24, 5, 0, tzinfo=WIB)),
    ],
)
def test_next_run(local_now: datetime, expected_local: datetime) -> None:
    slots = daily_slots(["05:00"], opens_minute=7 * 60 + 30)
    assert next_run(local_now.astimezone(UTC), WIB, slots) == expected_local.astimezone(UTC)


def test_scheduler_syncs_at_start_and_survives_a_failing_sync() -> None:
    days: list[date] = []
    ran = threading.Event()

    def sync(day: date) -> None:
        days.append(day)
        ran.set()
        raise RuntimeError("booking system down")

    now = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 WIB on the 23rd
    scheduler = SyncScheduler(sync, zone=WIB, slots=[300], clock=lambda: now)
    scheduler.start()
    assert ran.wait(5)
    scheduler.stop()
    assert days == [date(2026, 11, 23)]
