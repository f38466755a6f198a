"""Capacity rules (#15), table-driven: services, held places, arrival windows, re-entry."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.domain.admission import BookingFacts, Kind, Policy, PriorityReason, Visit, decide
from kiosk.domain.capacity import (
    ServiceRule,
    format_queue_number,
    queue_series,
    walkin_places,
)
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading

WIB = ZoneInfo("Asia/Jakarta")
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=WIB)
SATURDAY_9 = datetime(2026, 11, 28, 9, 0, tzinfo=WIB)
TODAY = MONDAY_9.date()
NORMAL = TemperatureReading(ReadingState.OK, 34.5, 25.0, 36.6)
KTP = ServiceRule("KTP-EL", "Perekaman KTP-el", 3, frozenset({"sat"}))
KK = ServiceRule("KK", "Kartu Keluarga", 10)
POLICY = Policy(
    office_id="3314-SRG",
    zone=WIB,
    daily_cap=10,
    services=(KTP, KK),
    walkin_release_minute=11 * 60,
)


def booking(service: str = "KTP-EL", **kw: object) -> Visit:
    facts = {
        "booking_id": "BK-1",
        "office_id": "3314-SRG",
        "valid_from": TODAY,
        "valid_until": TODAY + timedelta(days=6),
        "service": service,
        **kw,
    }
    return Visit(Kind.BOOKING, booking=BookingFacts(**facts))  # type: ignore[arg-type]


def walkin(service: str = "KTP-EL") -> Visit:
    return Visit(Kind.WALKIN, officer="Budi", service=service)


def run(visit: Visit, now: datetime = MONDAY_9, policy: Policy = POLICY, **counts: int) -> Reason:
    used = counts.pop("used", 0)
    return decide(
        visit=visit, reading=NORMAL, used_today=used, policy=policy, now=now, **counts
    ).reason


@pytest.mark.parametrize(
    "visit, now, expected",
    [
        (booking(), MONDAY_9, Reason.ADMITTED),
        (booking(), SATURDAY_9, Reason.SERVICE_CLOSED),
        (booking("ktp-el"), SATURDAY_9, Reason.SERVICE_CLOSED),  # codes are case-insensitive
        (booking("KK"), SATURDAY_9, Reason.ADMITTED),  # other services stay open
        (booking(""), SATURDAY_9, Reason.ADMITTED),  # no service: building cap only
        (walkin(), SATURDAY_9, Reason.SERVICE_CLOSED),
        (walkin("KK"), SATURDAY_9, Reason.WALKIN),
    ],
)
def test_rule_closed_service(visit: Visit, now: datetime, expected: Reason) -> None:
    assert run(visit, now) is expected


def test_rule_closed_service_names_it() -> None:
    d = decide(visit=booking(), reading=NORMAL, used_today=0, policy=POLICY, now=SATURDAY_9)
    assert (d.outcome, dict(d.detail)) == (
        Outcome.DENIED,
        {"service": "KTP-EL", "name": "Perekaman KTP-el"},
    )


@pytest.mark.parametrize(
    "used, service_used, expected",
    [
        (0, 2, Reason.ADMITTED),
        (0, 3, Reason.SERVICE_FULL),
        (10, 0, Reason.CAP_REACHED),
        (10, 3, Reason.CAP_REACHED),  # the building-wide cap comes first
    ],
)
def test_rule_service_cap_inside_building_cap(
    used: int, service_used: int, expected: Reason
) -> None:
    assert run(booking(), used=used, service_used=service_used) is expected


# held places: cap 10, KTP-EL cap 3; release at 11:00
@pytest.mark.parametrize(
    "visit, hour, used, held, service_used, held_service, expected",
    [
        # before the release time
        (walkin(), 9, 0, 3, 0, 3, Reason.PLACES_HELD),  # all 3 KTP places booked
        (walkin(), 9, 0, 3, 0, 2, Reason.WALKIN),  # one KTP place not booked
        (walkin(), 9, 1, 2, 1, 2, Reason.PLACES_HELD),  # 1 used + 2 held = the service cap
        (walkin("KK"), 9, 2, 8, 0, 0, Reason.PLACES_HELD),  # overall: 2 used + 8 held = 10
        (walkin("KK"), 9, 2, 7, 0, 0, Reason.WALKIN),
        (walkin(""), 9, 0, 10, 0, 0, Reason.PLACES_HELD),
        (booking(), 9, 0, 3, 0, 3, Reason.ADMITTED),  # a booking uses its own held place
        # at and after the release time no-shows release their places
        (walkin(), 11, 0, 3, 0, 3, Reason.WALKIN),
        (walkin("KK"), 12, 2, 8, 0, 0, Reason.WALKIN),
        (walkin(), 11, 0, 3, 3, 0, Reason.SERVICE_FULL),  # but the caps still hold
        (walkin(), 11, 10, 0, 0, 0, Reason.CAP_REACHED),
    ],
)
def test_rule_held_places_before_and_after_release(
    visit: Visit,
    hour: int,
    used: int,
    held: int,
    service_used: int,
    held_service: int,
    expected: Reason,
) -> None:
    now = MONDAY_9.replace(hour=hour)
    counts = {"used": used, "held": held, "service_used": service_used}
    assert run(visit, now, held_service=held_service, **counts) is expected


def test_rule_held_places_without_release_time_never_hold() -> None:
    policy = Policy(office_id="3314-SRG", zone=WIB, daily_cap=10, services=(KTP,))
    assert run(walkin(), policy=policy, held=10, held_service=3) is Reason.WALKIN


def test_rule_held_places_bind_slot_using_priority_admissions() -> None:
    policy = Policy(
        office_id="3314-SRG",
        zone=WIB,
        daily_cap=10,
        services=(KTP,),
        walkin_release_minute=11 * 60,
        priority_uses_slot=True,
    )
    visit = Visit(Kind.PRIORITY, officer="Budi", priority=PriorityReason.TNI_POLRI)
    assert run(visit, policy=policy, held=10) is Reason.PLACES_HELD
    assert run(visit, policy=Policy(office_id="3314-SRG", zone=WIB), held=10) is Reason.PRIORITY


def test_places_held_says_until_when() -> None:
    d = decide(visit=walkin(), reading=NORMAL, used_today=0, policy=POLICY, now=MONDAY_9, held=10)
    assert d.detail["release"] == "11:00"


# arrival window 10:00–11:00, grace 15 minutes
@pytest.mark.parametrize(
    "hh, mm, expected, late",
    [
        (9, 0, Reason.TOO_EARLY, False),
        (9, 44, Reason.TOO_EARLY, False),
        (9, 45, Reason.ADMITTED, False),  # within the grace
        (10, 30, Reason.ADMITTED, False),
        (11, 0, Reason.ADMITTED, False),
        (11, 1, Reason.ADMITTED, True),  # late: admitted while places are free
        (14, 0, Reason.ADMITTED, True),
    ],
)
def test_rule_arrival_window_early_and_late(hh: int, mm: int, expected: Reason, late: bool) -> None:
    visit = booking(arrive_from=time(10, 0), arrive_until=time(11, 0))
    now = MONDAY_9.replace(hour=hh, minute=mm)
    d = decide(visit=visit, reading=NORMAL, used_today=0, policy=POLICY, now=now)
    assert d.reason is expected
    assert ("late" in d.detail) is late
    if expected is Reason.TOO_EARLY:
        assert d.detail["come_back"] == "10:00"


def test_rule_late_booking_is_refused_when_the_day_is_full() -> None:
    visit = booking(arrive_from=time(8, 0), arrive_until=time(8, 30))
    assert run(visit, used=10) is Reason.CAP_REACHED
    assert run(visit, service_used=3) is Reason.SERVICE_FULL


@pytest.mark.parametrize(
    "minutes_ago, reentries, policy, expected",
    [
        (1, 0, POLICY, Reason.REENTRY_TOO_SOON),
        (4, 0, POLICY, Reason.REENTRY_TOO_SOON),
        (5, 0, POLICY, Reason.READMITTED),
        (60, 1, POLICY, Reason.REENTRY_LIMIT),  # the one re-entry of the day is used
        (60, 1, Policy(office_id="3314-SRG", zone=WIB, reentries_per_day=2), Reason.READMITTED),
        (60, 0, Policy(office_id="3314-SRG", zone=WIB, reentries_per_day=0), Reason.BOOKING_USED),
        (0, 0, Policy(office_id="3314-SRG", zone=WIB, reentry_min_minutes=0), Reason.READMITTED),
        # Gates racing for one code: this visit's instant precedes the admission it lost to.
        (-1, 0, Policy(office_id="3314-SRG", zone=WIB, reentry_min_minutes=0), Reason.READMITTED),
        (-1, 0, POLICY, Reason.REENTRY_TOO_SOON),
    ],
)
def test_rule_reentry_cannot_be_shared(
    minutes_ago: int, reentries: int, policy: Policy, expected: Reason
) -> None:
    earlier = MONDAY_9 - timedelta(minutes=minutes_ago)
    visit = booking(admitted_at=earlier, last_admitted_at=earlier, reentries=reentries)
    assert run(visit, policy=policy) is expected


def test_rule_reentry_too_soon_counts_from_the_latest_admission() -> None:
    first = MONDAY_9 - timedelta(hours=2)
    visit = booking(
        admitted_at=first, last_admitted_at=MONDAY_9 - timedelta(minutes=2), reentries=0
    )
    d = decide(visit=visit, reading=NORMAL, used_today=0, policy=POLICY, now=MONDAY_9)
    assert (d.outcome, d.reason, d.detail["again_at"]) == (
        Outcome.DENIED,
        Reason.REENTRY_TOO_SOON,
        "09:03",
    )


def test_readmission_is_numbered() -> None:
    earlier = MONDAY_9 - timedelta(hours=1)
    visit = booking(admitted_at=earlier, reentries=0)
    d = decide(visit=visit, reading=NORMAL, used_today=0, policy=POLICY, now=MONDAY_9)
    assert (d.reason, d.uses_slot, d.detail["reentry"]) == (Reason.READMITTED, False, "1")


@pytest.mark.parametrize(
    "rule, number, expected",
    [(KTP, 1, "KTP-EL-001"), (None, 7, "A-007"), (KK, 1234, "KK-1234")],
)
def test_queue_number_format(rule: ServiceRule | None, number: int, expected: str) -> None:
    assert format_queue_number(queue_series(rule), number) == expected


def test_walkin_places_figure() -> None:
    p = walkin_places(
        cap=10, used=2, held=5, rule=KTP, service_used=1, held_service=1, holding_now=True
    )
    assert (p.overall, p.service, p.now) == (3, 1, 1)
    p = walkin_places(cap=10, used=2, held=5, holding_now=False)
    assert (p.overall, p.service, p.now) == (8, None, 8)
