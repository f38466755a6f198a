"""The business day rolls over at local midnight in the configured zone, whatever TZ says."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.clock import business_date
from tests.conftest import FakeClock

WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Jakarta"])
def host_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_business_date_uses_the_office_zone_not_the_host(host_tz: str) -> None:
    before = datetime(2026, 11, 22, 23, 59, 59, tzinfo=WIB)
    after = datetime(2026, 11, 23, 0, 0, 1, tzinfo=WIB)
    assert business_date(before, WIB) == date(2026, 11, 22)
    assert business_date(after, WIB) == date(2026, 11, 23)
    # The same instants expressed in UTC (16:59:59 and 17:00:01 the day before).
    assert business_date(before.astimezone(UTC), WIB) == date(2026, 11, 22)
    assert business_date(after.astimezone(UTC), WIB) == date(2026, 11, 23)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        business_date(datetime(2026, 11, 22, 12, 0), WIB)


def test_day_rolls_exactly_once_across_midnight(make_kiosk, host_tz: str) -> None:  # type: ignore[no-untyped-def]
    """Walk-ins every second from 23:59:50 to 00:00:10 WIB: two days, cap counted per day."""
    clock = FakeClock(datetime(2026, 11, 22, 23, 59, 50, tzinfo=WIB).astimezone(UTC))
    kiosk = make_kiosk(clock=clock, admission={"daily_cap": 100})
    kiosk.simulator.set_body_temperature(36.6)
    days = []
    for _ in range(21):
        result = kiosk.gate.admit_walkin("ani")
        assert result.decision.admitted
        days.append(result.business_date)
        clock.now += timedelta(seconds=1)
    assert days.count(date(2026, 11, 22)) == 10  # 23:59:50 … 23:59:59
    assert days.count(date(2026, 11, 23)) == 11  # 00:00:00 … 00:00:10
    changes = sum(1 for a, b in pairwise(days) if a != b)
    assert changes == 1
    clock.now = datetime(2026, 11, 23, 0, 0, 1, tzinfo=WIB).astimezone(UTC)
    assert kiosk.gate.today()["date"] == "2026-11-23"
    assert kiosk.gate.today()["admitted"] == 11


def test_business_date_in_a_process_started_with_tz_utc() -> None:
    code = (
        "from datetime import datetime, UTC; from zoneinfo import ZoneInfo;"
        "from kiosk.domain.clock import business_date;"
        "z = ZoneInfo('Asia/Jakarta');"
        "print(business_date(datetime(2026, 11, 22, 16, 59, 59, tzinfo=UTC), z),"
        " business_date(datetime(2026, 11, 22, 17, 0, 1, tzinfo=UTC), z))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["2026-11-22", "2026-11-23"]
