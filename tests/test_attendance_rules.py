"""Attendance rules (kiosk.domain.attendance): one test per rule, table-driven, Asia/Jakarta."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.admission import Policy
from kiosk.domain.attendance import (
    AttendancePolicy,
    Check,
    Mark,
    MarkRecord,
    classify,
    day_records,
    decide_staff,
    is_late,
    month_records,
    passed_checks,
)
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading

WIB = ZoneInfo("Asia/Jakarta")  # UTC+7, no DST
POLICY = AttendancePolicy(zone=WIB, work_starts_minute=8 * 60, repeat_minutes=10)
GATE = Policy(office_id="X", zone=WIB, fever_threshold_c=37.5)
BOTH = frozenset({Check.SKIN, Check.MOTION})


def wib(day: int, hh: int, mm: int) -> datetime:
    """An instant given as local Jakarta time on 2026-11-<day>, as UTC like the kiosk stores."""
    return datetime(2026, 11, day, hh, mm, tzinfo=WIB).astimezone(UTC)


@pytest.mark.parametrize(
    ("earlier", "now", "mark"),
    [
        ([], wib(23, 7, 55), Mark.CLOCK_IN),  # first of the day
        ([wib(23, 7, 55)], wib(23, 8, 3), Mark.REPEAT),  # within 10 minutes: ignored
        ([wib(23, 7, 55)], wib(23, 8, 5), Mark.CLOCK_OUT),  # exactly 10 minutes later counts
        ([wib(23, 7, 55), wib(23, 12, 0)], wib(23, 16, 30), Mark.CLOCK_OUT),  # last one wins
        ([wib(23, 7, 55), wib(23, 16, 30)], wib(23, 16, 35), Mark.REPEAT),
        # Day boundary in Jakarta: 23:58 WIB on the 23rd, then 00:03 WIB on the 24th (UTC
        # 16:58 and 17:03 — the same UTC date) is a new business day: a clock-in, not a repeat.
        ([wib(23, 7, 55), wib(23, 23, 58)], wib(24, 0, 3), Mark.CLOCK_IN),
        # A UTC-date change inside the Jakarta day (07:00 WIB = 00:00 UTC) changes nothing.
        ([wib(24, 6, 50)], wib(24, 7, 10), Mark.CLOCK_OUT),
        # Yesterday's marks never make today's first recognition a clock-out.
        ([wib(22, 17, 0)], wib(23, 7, 0), Mark.CLOCK_IN),
    ],
)
def test_rule_first_is_clock_in_later_clock_out_repeats_ignored(
    earlier: list[datetime], now: datetime, mark: Mark
) -> None:
    assert classify(now, earlier, POLICY) is mark


def test_rule_business_day_is_jakartas_not_utcs() -> None:
    late_evening = wib(23, 23, 58)
    assert late_evening.date() == date(2026, 11, 23)  # UTC 16:58, same UTC date as below
    assert wib(24, 0, 3).date() == date(2026, 11, 23)
    assert POLICY.day_of(wib(24, 0, 3)) == date(2026, 11, 24)


@pytest.mark.parametrize(
    ("clock_in", "grace", "late"),
    [
        (wib(23, 7, 59), 0, False),
        (wib(23, 8, 0), 0, False),  # on the minute is on time
        (wib(23, 8, 1), 0, True),
        (wib(23, 8, 10), 15, False),
        (wib(23, 8, 16), 15, True),
    ],
)
def test_rule_late_against_the_configured_start_in_local_time(
    clock_in: datetime, grace: int, late: bool
) -> None:
    policy = AttendancePolicy(zone=WIB, work_starts_minute=8 * 60, late_grace_minutes=grace)
    assert is_late(clock_in, policy) is late


def reading(
    object_c: float, ambient_c: float = 25.0, estimated_c: float = 36.6
) -> TemperatureReading:
    return TemperatureReading(ReadingState.OK, object_c, ambient_c, estimated_c)


@pytest.mark.parametrize(
    ("r", "motion", "checks"),
    [
        (reading(34.5), True, BOTH),
        (reading(25.3), True, {Check.MOTION}),  # a photo or a phone reads near room air
        (TemperatureReading(ReadingState.NO_PERSON, 25.1, 25.0, 30.2), True, {Check.MOTION}),
        (reading(34.5), False, {Check.SKIN}),
        (None, False, set()),
    ],
)
def test_rule_liveness_checks_record_which_passed(
    r: TemperatureReading | None, motion: bool, checks: set[Check]
) -> None:
    assert passed_checks(r, motion, POLICY) == frozenset(checks)


@pytest.mark.parametrize(
    ("r", "checks", "outcome", "reason"),
    [
        (reading(34.5), BOTH, Outcome.ADMITTED, Reason.STAFF),
        (reading(25.3), frozenset({Check.MOTION}), Outcome.DENIED, Reason.LIVENESS_FAILED),
        (reading(34.5), frozenset({Check.SKIN}), Outcome.DENIED, Reason.LIVENESS_FAILED),
        # The same fever rule as for citizens: a feverish staff member is referred.
        (reading(36.8, estimated_c=38.4), BOTH, Outcome.REFER, Reason.FEVER),
        # A broken thermometer is a device problem first, not a liveness failure.
        (TemperatureReading.sensor_fault("nack"), frozenset(), Outcome.REFER, Reason.SENSOR_FAULT),
    ],
)
def test_rule_staff_decision_order(
    r: TemperatureReading, checks: frozenset[Check], outcome: Outcome, reason: Reason
) -> None:
    decision = decide_staff(reading=r, checks=checks, policy=GATE, now=wib(23, 8, 0))
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert not decision.uses_slot


def test_rule_liveness_failure_names_the_failed_check() -> None:
    decision = decide_staff(
        reading=reading(25.3), checks=frozenset({Check.MOTION}), policy=GATE, now=wib(23, 8, 0)
    )
    assert decision.detail["failed"] == "skin"
    assert decision.detail["passed"] == "motion"


def test_rule_staff_untrusted_date_is_referred_like_everyone() -> None:
    decision = decide_staff(
        reading=reading(34.5), checks=BOTH, policy=GATE, now=wib(23, 8, 0), date_trusted=False
    )
    assert decision.outcome is Outcome.REFER


def test_rule_day_report_first_in_last_out_late_and_absent_on_duty() -> None:
    marks = [
        MarkRecord(1, wib(23, 8, 20), "in"),
        MarkRecord(1, wib(23, 12, 0), "out"),
        MarkRecord(1, wib(23, 16, 45), "out"),
        MarkRecord(2, wib(23, 7, 40), "in"),
        MarkRecord(3, wib(23, 7, 30), "refused"),
        MarkRecord(1, wib(24, 0, 5), "in"),  # belongs to the next business day
    ]
    staff = {1: "Ani", 2: "Budi", 3: "Citra", 4: "Dedi"}
    rows = {r.name: r for r in day_records(date(2026, 11, 23), staff, marks, [2, 4], POLICY)}
    assert set(rows) == {"Ani", "Budi", "Citra", "Dedi"}
    ani = rows["Ani"]
    assert (ani.first_in, ani.last_out, ani.late) == (wib(23, 8, 20), wib(23, 16, 45), True)
    assert not ani.on_duty and not ani.absent_on_duty
    assert rows["Budi"].late is False and rows["Budi"].last_out is None
    assert rows["Citra"].refused == 1 and not rows["Citra"].present
    assert rows["Dedi"].absent_on_duty  # on the roster, never seen


def test_rule_month_report_covers_every_day_and_the_roster() -> None:
    marks = [MarkRecord(1, wib(d, 7, 50), "in") for d in (2, 3, 4)]
    roster = [(date(2026, 11, d), 1) for d in (2, 3, 4, 5)]
    rows = month_records(2026, 11, {1: "Ani"}, marks, roster, POLICY)
    assert [r.day.day for r in rows] == [2, 3, 4, 5]
    assert [r.absent_on_duty for r in rows] == [False, False, False, True]
    assert month_records(2026, 12, {1: "Ani"}, marks, roster, POLICY) == []


def test_rule_repeat_window_zero_counts_every_recognition() -> None:
    policy = AttendancePolicy(zone=WIB, repeat_minutes=0)
    t = wib(23, 8, 0)
    assert classify(t + timedelta(seconds=1), [t], policy) is Mark.CLOCK_OUT
