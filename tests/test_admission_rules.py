"""One test per gate rule, and the documented precedence between them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.admission import (
    BookingFacts,
    Kind,
    Policy,
    PriorityReason,
    Visit,
    decide,
)
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)  # Monday 09:00 local
TODAY = NOW.date()
POLICY = Policy(office_id="3314-SRG", zone=WIB, daily_cap=50)
NORMAL = TemperatureReading(ReadingState.OK, 34.5, 25.0, 36.6)
FEVERISH = TemperatureReading(ReadingState.OK, 36.4, 25.0, 38.9)


def booking(**kw: object) -> Visit:
    facts = {"booking_id": "BK-1", "office_id": "3314-SRG", "valid_from": TODAY, **kw}
    return Visit(Kind.BOOKING, booking=BookingFacts(**facts))  # type: ignore[arg-type]


def run(
    visit: Visit,
    reading: TemperatureReading | None = NORMAL,
    used: int = 0,
    policy: Policy = POLICY,
    now: datetime = NOW,
) -> tuple[Outcome, Reason, bool]:
    d = decide(visit=visit, reading=reading, used_today=used, policy=policy, now=now)
    return d.outcome, d.reason, d.uses_slot


def test_rule_valid_booking_is_admitted_and_uses_a_slot() -> None:
    assert run(booking()) == (Outcome.ADMITTED, Reason.ADMITTED, True)


@pytest.mark.parametrize(
    "now, open_days, opens, closes, expected",
    [
        (NOW, None, 7 * 60 + 30, 15 * 60, Reason.ADMITTED),
        (NOW.replace(hour=7, minute=29), None, 7 * 60 + 30, 15 * 60, Reason.CLOSED_HOURS),
        (NOW.replace(hour=7, minute=30), None, 7 * 60 + 30, 15 * 60, Reason.ADMITTED),
        (NOW.replace(hour=15, minute=0), None, 7 * 60 + 30, 15 * 60, Reason.CLOSED_HOURS),
        (NOW, frozenset({"tue"}), 0, 1440, Reason.CLOSED_HOURS),
    ],
)
def test_rule_closed_hours(
    now: datetime, open_days: frozenset[str] | None, opens: int, closes: int, expected: Reason
) -> None:
    policy = Policy(
        office_id="3314-SRG",
        zone=WIB,
        opens_minute=opens,
        closes_minute=closes,
        open_days=open_days or POLICY.open_days,
    )
    assert run(booking(), policy=policy, now=now)[1] is expected


@pytest.mark.parametrize(
    "problem",
    [
        Reason.QR_INVALID,
        Reason.UNSUPPORTED_VERSION,
        Reason.KEY_UNKNOWN,
        Reason.KEY_REVOKED,
        Reason.BAD_SIGNATURE,
        Reason.BOOKING_UNKNOWN,
        Reason.BOOKING_CANCELLED,
    ],
)
def test_rule_lookup_problems_deny(problem: Reason) -> None:
    visit = Visit(Kind.BOOKING, booking=BookingFacts(booking_id=None, problem=problem))
    assert run(visit) == (Outcome.DENIED, problem, False)


def test_rule_booking_for_another_office() -> None:
    d = decide(
        visit=booking(office_id="3313-KRA"), reading=NORMAL, used_today=0, policy=POLICY, now=NOW
    )
    assert (d.outcome, d.reason) == (Outcome.DENIED, Reason.BOOKING_WRONG_OFFICE)
    assert d.detail["office_id"] == "3313-KRA"


@pytest.mark.parametrize(
    "valid_from, valid_until, expected",
    [
        (TODAY, None, Reason.ADMITTED),
        (TODAY + timedelta(days=1), None, Reason.BOOKING_WRONG_DATE),
        (TODAY - timedelta(days=1), None, Reason.BOOKING_WRONG_DATE),
        (TODAY - timedelta(days=1), TODAY + timedelta(days=1), Reason.ADMITTED),
        (TODAY - timedelta(days=3), TODAY - timedelta(days=1), Reason.BOOKING_WRONG_DATE),
    ],
)
def test_rule_booking_wrong_date(
    valid_from: date, valid_until: date | None, expected: Reason
) -> None:
    assert run(booking(valid_from=valid_from, valid_until=valid_until))[1] is expected


def test_rule_wrong_date_says_which_date() -> None:
    tomorrow = TODAY + timedelta(days=1)
    d = decide(
        visit=booking(valid_from=tomorrow), reading=NORMAL, used_today=0, policy=POLICY, now=NOW
    )
    assert d.detail["valid_from"] == tomorrow.isoformat()


def test_rule_reentry_same_day_uses_no_slot() -> None:
    earlier = NOW - timedelta(hours=1)
    assert run(booking(admitted_at=earlier), used=50) == (
        Outcome.ADMITTED,
        Reason.READMITTED,
        False,
    )


@pytest.mark.parametrize(
    "window, earlier, expected",
    [
        (480, NOW - timedelta(hours=7), Reason.READMITTED),
        (480, NOW - timedelta(hours=9), Reason.BOOKING_USED),
        (0, NOW - timedelta(minutes=1), Reason.BOOKING_USED),
    ],
)
def test_rule_booking_used_outside_reentry_window(
    window: int, earlier: datetime, expected: Reason
) -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, reentry_window_minutes=window)
    assert run(booking(admitted_at=earlier), policy=policy)[1] is expected


def test_rule_booking_used_says_when_and_where() -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, reentry_window_minutes=0)
    earlier = datetime(2026, 11, 23, 1, 5, tzinfo=UTC)  # 08:05 WIB
    d = decide(
        visit=booking(admitted_at=earlier, admitted_gate="gate-2"),
        reading=NORMAL,
        used_today=0,
        policy=policy,
        now=NOW,
    )
    assert d.reason is Reason.BOOKING_USED
    assert dict(d.detail) == {"admitted_at": "08:05", "gate": "gate-2"}


@pytest.mark.parametrize(
    "reading, outcome, reason",
    [
        (None, Outcome.REFER, Reason.SENSOR_FAULT),
        (TemperatureReading.sensor_fault("no answer"), Outcome.REFER, Reason.SENSOR_FAULT),
        (
            TemperatureReading(ReadingState.AMBIENT_OUT_OF_RANGE, 30.0, 10.0, 34.0),
            Outcome.REFER,
            Reason.AMBIENT_OUT_OF_RANGE,
        ),
        (
            TemperatureReading(ReadingState.NO_PERSON, 24.0, 24.0, 24.3),
            Outcome.DENIED,
            Reason.NO_READING,
        ),
        (
            TemperatureReading(ReadingState.IMPLAUSIBLE, 60.0, 24.0, 77.0),
            Outcome.DENIED,
            Reason.NO_READING,
        ),
        (TemperatureReading(ReadingState.OK, 35.2, 25.0, 37.49), Outcome.ADMITTED, Reason.ADMITTED),
        (TemperatureReading(ReadingState.OK, 35.2, 25.0, 37.5), Outcome.REFER, Reason.FEVER),
        (FEVERISH, Outcome.REFER, Reason.FEVER),
    ],
)
def test_rule_temperature(
    reading: TemperatureReading | None, outcome: Outcome, reason: Reason
) -> None:
    assert run(booking(), reading=reading)[:2] == (outcome, reason)


def test_rule_elevated_is_rechecked_once_when_policy_asks() -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, recheck_elevated=True)
    assert run(booking(), FEVERISH, policy=policy)[1] is Reason.TEMPERATURE_RECHECK
    second = TemperatureReading(ReadingState.OK, 36.4, 25.0, 38.9, is_recheck=True)
    assert run(booking(), second, policy=policy)[1] is Reason.FEVER


def test_rule_cap_reached_when_slot_needed() -> None:
    assert run(booking(), used=49)[:2] == (Outcome.ADMITTED, Reason.ADMITTED)
    assert run(booking(), used=50) == (Outcome.DENIED, Reason.CAP_REACHED, False)


def test_rule_walkin_uses_a_slot_and_is_measured() -> None:
    walkin = Visit(Kind.WALKIN, officer="ani")
    assert run(walkin) == (Outcome.ADMITTED, Reason.WALKIN, True)
    assert run(walkin, used=50)[1] is Reason.CAP_REACHED
    assert run(walkin, FEVERISH)[1] is Reason.FEVER


@pytest.mark.parametrize("reason", list(PriorityReason))
def test_rule_priority_override_does_not_use_a_slot_by_default(reason: PriorityReason) -> None:
    note = "surat rujukan RS" if reason is PriorityReason.OTHER else None
    visit = Visit(Kind.PRIORITY, officer="ani", priority=reason, note=note)
    assert run(visit, reading=None, used=50) == (Outcome.ADMITTED, Reason.PRIORITY, False)


def test_rule_priority_uses_a_slot_when_configured() -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, priority_uses_slot=True)
    visit = Visit(Kind.PRIORITY, officer="ani", priority=PriorityReason.TNI_POLRI)
    assert run(visit, policy=policy) == (Outcome.ADMITTED, Reason.PRIORITY, True)
    assert run(visit, policy=policy, used=50)[1] is Reason.CAP_REACHED


def test_rule_priority_is_not_bound_by_opening_hours() -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, open_days=frozenset({"sun"}))
    visit = Visit(Kind.PRIORITY, officer="ani", priority=PriorityReason.MEDICAL_BPJS)
    assert run(visit, policy=policy)[1] is Reason.PRIORITY


def test_rule_staff_never_use_a_citizen_slot_but_are_screened() -> None:
    staff = Visit(Kind.STAFF)
    assert run(staff, used=50) == (Outcome.ADMITTED, Reason.STAFF, False)
    assert run(staff, FEVERISH)[1] is Reason.FEVER


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": Kind.BOOKING}, "booking facts"),
        ({"kind": Kind.WALKIN}, "officer"),
        ({"kind": Kind.PRIORITY, "officer": "ani"}, "priority reason"),
        (
            {"kind": Kind.PRIORITY, "officer": "ani", "priority": PriorityReason.OTHER},
            "note",
        ),
    ],
)
def test_rule_override_needs_officer_and_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Visit(**kwargs)  # type: ignore[arg-type]


# -- precedence ------------------------------------------------------------------
PRECEDENCE = [
    # (closed, lookup problem, wrong office, wrong date, used, reading, used slots) → reason
    ({"closed": True, "problem": Reason.BOOKING_UNKNOWN}, Reason.CLOSED_HOURS),
    ({"problem": Reason.QR_INVALID, "reading": FEVERISH, "used": 50}, Reason.QR_INVALID),
    ({"office": "X", "tomorrow": True, "reading": FEVERISH}, Reason.BOOKING_WRONG_OFFICE),
    ({"tomorrow": True, "reading": FEVERISH, "used": 50}, Reason.BOOKING_WRONG_DATE),
    ({"used_booking": True, "reading": None}, Reason.BOOKING_USED),
    ({"reading": None, "used": 50}, Reason.SENSOR_FAULT),
    ({"reading": FEVERISH, "used": 50}, Reason.FEVER),
    ({"used": 50}, Reason.CAP_REACHED),
]


@pytest.mark.parametrize("case, expected", PRECEDENCE)
def test_precedence_first_applicable_rule_wins(case: dict[str, object], expected: Reason) -> None:
    policy = Policy(
        office_id="3314-SRG",
        zone=WIB,
        reentry_window_minutes=0,
        open_days=frozenset({"sun"}) if case.get("closed") else POLICY.open_days,
    )
    facts = BookingFacts(
        booking_id="BK-1",
        problem=case.get("problem"),  # type: ignore[arg-type]
        office_id=str(case.get("office", "3314-SRG")),
        valid_from=TODAY + timedelta(days=1) if case.get("tomorrow") else TODAY,
        admitted_at=NOW - timedelta(minutes=5) if case.get("used_booking") else None,
    )
    reading = case.get("reading", NORMAL)
    d = decide(
        visit=Visit(Kind.BOOKING, booking=facts),
        reading=reading,  # type: ignore[arg-type]
        used_today=int(case.get("used", 0)),  # type: ignore[call-overload]
        policy=policy,
        now=NOW,
    )
    assert d.reason is expected


def test_decide_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        run(booking(), now=datetime(2026, 11, 23, 9, 0))
