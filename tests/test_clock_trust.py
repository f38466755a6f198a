"""Clock safety: the day's counter never resets on an untrusted date.

Pure rules (kiosk.domain.clocktrust) as a table, then whole-gate scenarios with
a fake wall clock, a fake monotonic clock and a fake timesyncd flag file:
unsynchronised boot on yesterday's date, backwards step, forward jump.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.clocktrust import (
    ClockObservation,
    ClockProblem,
    ClockState,
    confirm,
    observe,
)
from kiosk.services.runtime import Kiosk, simulate_present
from kiosk.storage import repository as repo

WIB = ZoneInfo("Asia/Jakarta")
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 09:00 WIB
DAY = date(2026, 11, 23)


def run(steps: list[tuple[float, float, bool]], state: ClockState | None = None) -> ClockState:
    """Apply (wall offset s from T0, monotonic s, synchronised) observations in order."""
    state = state or ClockState()
    for wall_s, mono, synced in steps:
        obs = ClockObservation(T0 + timedelta(seconds=wall_s), mono, synced)
        state, _ = observe(state, obs, zone=WIB, max_jump_s=120)
    return state


@pytest.mark.parametrize(
    "steps, problem, day",
    [
        # Synchronised start: trusted at once.
        ([(0, 0, True)], None, DAY),
        # Unsynchronised start: suspended, no day in effect.
        ([(0, 0, False)], ClockProblem.UNSYNCHRONISED, None),
        # ... resolved by the first sync, even when it steps the clock.
        ([(-86_400, 0, False), (60, 60, True)], None, DAY),
        # Running normally across midnight (synchronised): the day rolls over.
        ([(0, 0, True), (16 * 3600, 16 * 3600, True)], None, DAY + timedelta(days=1)),
        # Small NTP correction within the day: alert only, the date stays trusted.
        ([(0, 0, True), (400, 100, True)], None, DAY),
        # Forward jump over midnight: suspended, the old day stays in effect.
        ([(0, 0, True), (86_400, 60, True)], ClockProblem.JUMPED, DAY),
        # Backwards step: suspended.
        ([(0, 0, True), (-86_400, 60, True)], ClockProblem.JUMPED, DAY),
        # Jump while unsynchronised and nothing trusted yet: still suspended.
        ([(0, 0, False), (86_400, 60, False)], ClockProblem.UNSYNCHRONISED, None),
    ],
)
def test_rule_table(
    steps: list[tuple[float, float, bool]], problem: ClockProblem | None, day: date | None
) -> None:
    state = run(steps)
    assert state.problem is problem
    assert state.day == day


def test_a_clock_behind_the_records_is_suspended_even_when_synchronised() -> None:
    state = ClockState(high_water=T0)
    state = run([(-3 * 3600, 0, True)], state)
    assert state.problem is ClockProblem.BEHIND_RECORDS
    assert state.day is None


def test_a_jump_raises_an_alert_event_both_ways() -> None:
    state = run([(0, 0, True)])
    for wall in (T0 + timedelta(seconds=500), T0 - timedelta(seconds=500)):
        _, events = observe(state, ClockObservation(wall, 10, True), zone=WIB, max_jump_s=120)
        assert next(e.kind for e in events) == "jump"


def test_officer_confirmation_offsets_the_wall_date_until_sync_agrees() -> None:
    # Booted on yesterday's date, unsynchronised; the officer confirms today.
    state = run([(-86_400, 0, False)])
    obs = ClockObservation(T0 - timedelta(days=1), 5, False)
    state, events = confirm(state, obs, DAY, zone=WIB)
    assert events[0].kind == "confirmed"
    assert state.trusted and state.day == DAY and state.offset_days == 1
    # Time passes (still unsynchronised): same day.
    state = run([(-86_400 + 600, 605, False)], state)
    assert state.trusted and state.day == DAY
    # NTP syncs and steps the clock to the real time: agrees → offset dropped, no suspension.
    state = run([(700, 705, True)], state)
    assert state.trusted and state.day == DAY and state.offset_days == 0


def test_sync_that_disagrees_with_the_confirmed_date_suspends() -> None:
    state = run([(-86_400, 0, False)])
    state, _ = confirm(state, ClockObservation(T0 - timedelta(days=1), 5, False), DAY, zone=WIB)
    state = run([(86_400 * 3, 10, True)], state)  # time server says three days later
    assert state.problem is ClockProblem.CONFLICT
    assert state.day == DAY


# -- the whole gate ------------------------------------------------------------------


@dataclass
class Clocks:
    """A settable wall clock (the gate's monotonic clock stays real) and a timesyncd flag."""

    wall: datetime
    flag: Path

    def step(self, seconds: float, *, wall_jump: float = 0.0) -> None:
        """Real time barely passes; the wall clock moves ``seconds`` plus ``wall_jump``."""
        self.wall += timedelta(seconds=seconds + wall_jump)

    def sync(self, on: bool = True) -> None:
        if on:
            self.flag.write_text("")
        else:
            self.flag.unlink(missing_ok=True)


@pytest.fixture
def gate_with_clocks(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> Callable[..., tuple[Kiosk, Clocks]]:
    def build(*, wall: datetime = T0, synced: bool = True, **sections: Any) -> tuple[Kiosk, Clocks]:
        clocks = Clocks(wall, tmp_path / "synchronized")
        clocks.sync(synced)
        kiosk = make_kiosk(
            clock=lambda: clocks.wall,
            clock_section={"trust": "ntp", "sync_flag": str(clocks.flag)},
            **sections,
        )
        return kiosk, clocks

    return build


def admit(kiosk: Kiosk, code: str, temp: float = 36.6) -> Any:
    return simulate_present(kiosk, code, temp)


def add_booking(kiosk: Kiosk, booking_id: str, day: date) -> str:
    with kiosk.db.transaction() as conn:
        repo.insert_booking(
            conn, repo.Booking(booking_id, kiosk.config.site.office_id, day, "Warga")
        )
    return booking_id


def test_unsynchronised_boot_on_yesterdays_date_needs_an_officer(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    yesterday_evening = T0 - timedelta(hours=14)  # Sunday 19:00 WIB, as fake-hwclock restores
    kiosk, _clocks = gate_with_clocks(wall=yesterday_evening, synced=False)
    code = add_booking(kiosk, "B-CLOCK-1", DAY)
    result = admit(kiosk, code)
    assert result.decision.reason.value == "clock_unconfirmed"
    assert result.decision.outcome.value == "refer"
    status = kiosk.gate.clock_guard.status()
    assert status["trusted"] is False and status["problem"] == "unsynchronised"
    # Nothing was counted on any day.
    with kiosk.db.transaction(write=False) as conn:
        assert repo.slots_used(conn, kiosk.config.site.office_id, DAY) == 0
        assert repo.slots_used(conn, kiosk.config.site.office_id, DAY - timedelta(days=1)) == 0
    kiosk.gate.clock_guard.confirm(DAY, "officer-ani")
    result = admit(kiosk, code)
    assert result.decision.reason.value == "admitted"
    assert result.business_date == DAY
    with kiosk.db.transaction(write=False) as conn:
        assert repo.slots_used(conn, kiosk.config.site.office_id, DAY) == 1
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log").fetchall()]
    assert "confirm_date" in actions and "clock_suspended" in actions


def test_backwards_step_keeps_the_day_and_asks_for_confirmation(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    kiosk, clocks = gate_with_clocks(admission={"daily_cap": 2})
    a, b = add_booking(kiosk, "B-BACK-1", DAY), add_booking(kiosk, "B-BACK-2", DAY)
    assert admit(kiosk, a).decision.reason.value == "admitted"
    assert admit(kiosk, b).decision.reason.value == "admitted"
    # The clock steps back a day: yesterday's (empty) counter must not open a second cap.
    clocks.step(30, wall_jump=-86_400)
    c = add_booking(kiosk, "B-BACK-3", DAY - timedelta(days=1))
    result = admit(kiosk, c)
    assert result.decision.reason.value == "clock_unconfirmed"
    assert kiosk.gate.today()["date"] == DAY.isoformat()
    assert kiosk.gate.today()["date_trusted"] is False
    assert any(a["kind"] == "jump" for a in kiosk.gate.clock_guard.status()["alerts"])


def test_forward_jump_does_not_open_a_new_day_without_an_officer(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    kiosk, clocks = gate_with_clocks(admission={"daily_cap": 1})
    assert admit(kiosk, add_booking(kiosk, "B-FWD-1", DAY)).decision.reason.value == "admitted"
    clocks.step(10, wall_jump=86_400)  # one day ahead
    tomorrow = DAY + timedelta(days=1)
    result = admit(kiosk, add_booking(kiosk, "B-FWD-2", tomorrow))
    assert result.decision.reason.value == "clock_unconfirmed"
    with kiosk.db.transaction(write=False) as conn:
        assert repo.slots_used(conn, kiosk.config.site.office_id, tomorrow) == 0
    # The officer says it really is tomorrow: the new day starts, once.
    kiosk.gate.clock_guard.confirm(tomorrow, "officer-budi")
    assert admit(kiosk, add_booking(kiosk, "B-FWD-3", tomorrow)).decision.reason.value == "admitted"
    assert kiosk.gate.today()["date"] == tomorrow.isoformat()


def test_restart_with_a_clock_behind_the_records_is_suspended(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]], make_kiosk: Callable[..., Kiosk]
) -> None:
    kiosk, clocks = gate_with_clocks()
    assert admit(kiosk, add_booking(kiosk, "B-HW-1", DAY)).decision.reason.value == "admitted"
    # Same database, new process whose (synchronised!) clock says yesterday.
    from kiosk.services.clockguard import ClockGuard

    guard = ClockGuard(
        kiosk.config.replace(clock={"trust": "ntp", "sync_flag": str(clocks.flag)}),
        kiosk.db,
        wall=lambda: T0 - timedelta(days=1),
        mono=lambda: 5.0,
    )
    _instant, trusted = guard.now()
    assert not trusted
    assert guard.status()["problem"] == "behind_records"


def test_sim_mode_trusts_the_host_clock_by_default(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = make_kiosk()
    assert kiosk.gate.clock_guard.status()["trust"] == "always"
    assert kiosk.gate.today()["date_trusted"] is True


def test_confirming_a_silly_date_is_refused(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    from kiosk.errors import InputError

    kiosk, _ = gate_with_clocks(synced=False)
    with pytest.raises(InputError, match="check the date"):
        kiosk.gate.clock_guard.confirm(date(2000, 1, 1), "officer")


def test_officer_console_shows_the_alert_and_confirms_the_date(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    from tests.conftest import add_staff, login, web_client

    kiosk, _ = gate_with_clocks(wall=T0 - timedelta(hours=14), synced=False)
    add_staff(kiosk, "admin", "admin")
    add_staff(kiosk, "ani", "officer")
    client = web_client(kiosk)
    assert login(client, "ani").status_code == 302
    page = client.get("/officer").get_data(as_text=True)
    assert 'id="confirm-date-form"' in page
    data = client.get("/officer/api/today").get_json()
    assert data["clock"]["trusted"] is False
    assert "clock_unconfirmed" in {a["code"] for a in data["alerts"]}
    bad = client.post("/officer/api/confirm-date", json={"date": "23-11-2026"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["error"]
    assert (
        client.post(
            "/officer/api/confirm-date", json={"date": "2026-11-23"}, csrf=False
        ).status_code
        == 400
    )
    done = client.post("/officer/api/confirm-date", json={"date": "2026-11-23"})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["today"]["date"] == "2026-11-23"
    assert done.get_json()["clock"]["trusted"] is True
    with kiosk.db.transaction(write=False) as conn:
        row = conn.execute(
            "SELECT actor, subject FROM audit_log WHERE action = 'confirm_date'"
        ).fetchone()
    assert (row[0], row[1]) == ("ani", "2026-11-23")
    # Anonymous callers cannot confirm a date.
    assert (
        web_client(kiosk).post("/officer/api/confirm-date", json={"date": "2026-11-23"}).status_code
        == 401
    )
