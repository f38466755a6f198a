"""The gate decision: one pure function, one reason code.

``decide()`` takes everything it needs as arguments — who is at the gate
(:class:`Visit`), the temperature measurement, how many slots today's cap has
used, the site policy and the current instant — and returns a
:class:`Decision` with an :class:`~kiosk.domain.reasons.Outcome` and a
:class:`~kiosk.domain.reasons.Reason`. It never reads the clock, the hardware
or the database; the service layer calls it inside the storage transaction
that records the result, so the facts it decides on are the facts stored.

Precedence (the first rule that applies wins)
----------------------------------------------
0. ``clock_unconfirmed`` → refer — the business date cannot be trusted (see
   :mod:`kiosk.domain.clocktrust`) until an officer confirms it; applies to
   every kind, because every admission is counted against a date.
   ``safe_mode`` → refer — the database was found damaged at start-up; only
   officer-entered walk-ins and priority admissions are recorded (into a
   separate journal) until a backup is restored.
   ``out_of_service`` → refer — a device the visit needs is missing or not
   answering (``detail["devices"]`` names them); citizen bookings and walk-ins
   only (an officer's priority admission and staff attendance do not open the
   gate through the kiosk's measurement).
1. ``closed_hours`` — outside opening hours or on a closed day (citizen
   bookings and walk-ins only; officer priority admissions and staff are not
   bound by opening hours).
2. Booking problems, in the order a citizen can fix them: ``qr_invalid``,
   ``unsupported_version``, ``key_unknown``, ``key_revoked``,
   ``bad_signature``, ``booking_unknown``, ``booking_cancelled`` (all from
   the look-up), then ``booking_wrong_office``, ``booking_wrong_date`` and
   ``booking_used`` (already admitted today and outside the re-entry window,
   or re-entry disabled), ``reentry_too_soon`` (scanned again within
   ``reentry_min_minutes`` of its latest admission: a shared code never opens
   the gate twice in a row) and ``reentry_limit`` (``reentries_per_day``
   re-entries already used). Booking checks come before the thermometer so a
   visitor with an invalid code is not measured for nothing.
2b. ``service_closed`` — the visit's service (the booking's, or the one the
   officer chose for a walk-in) is closed today (``closed_weekdays``); citizen
   bookings and walk-ins only.
2c. ``too_early`` — a booking with an arrival window, scanned earlier than its
   start minus ``early_grace_minutes``; ``detail["come_back"]`` says when. A late
   booking is not refused: it is admitted while places are free and the
   decision carries ``detail["late"]`` for the officer.
3. Temperature (everyone but officer priority admissions, whose officer has
   taken responsibility): ``sensor_fault`` → refer; ``ambient_out_of_range``
   → refer (we refuse to screen); a re-measurement that was not a valid in-place
   reading (``TemperatureReading.recheck_trusted`` false) → ``fever`` refer (it cannot
   clear the elevated first reading); ``no_reading`` → denied (step closer: nobody,
   unstable, too far — estimate below the floor — or too close); elevated estimate
   → ``temperature_recheck`` the first time when the policy asks for a
   re-measurement, else ``fever`` → refer. Health comes before the cap: a
   feverish visitor is referred even on a full day.
4. Capacity, only when the admission would use a slot: ``cap_reached`` (the
   building-wide cap), then ``service_full`` (the service's own cap), then
   ``places_held`` (a walk-in or slot-using officer admission before the walk-in
   release time, when the free places are all held by today's unused bookings,
   per service or overall; see :mod:`kiosk.domain.capacity`).
5. Admitted: ``admitted``, ``readmitted`` (re-entry, no slot), ``walkin``,
   ``priority`` or ``staff``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from kiosk.domain.capacity import ServiceRule, find_service, holding, walkin_places
from kiosk.domain.clock import business_date, minute_of_day, weekday_name
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading


class Kind(StrEnum):
    BOOKING = "booking"
    """A citizen scanning a booking code."""
    WALKIN = "walkin"
    """A citizen without booking, entered by an officer; uses a slot."""
    PRIORITY = "priority"
    """Officer override with a priority reason."""
    STAFF = "staff"
    """A recognised staff member; never uses a citizen slot."""


class PriorityReason(StrEnum):
    TNI_POLRI = "tni_polri"
    """TNI/Polri registration."""
    MEDICAL_BPJS = "medical_bpjs"
    """Hospital or BPJS needs."""
    ELDERLY_DISABLED = "elderly_disabled"
    OTHER = "other"
    """Other: a free-text note is required."""


# Problems the booking look-up itself reports, in precedence order.
LOOKUP_PROBLEMS: tuple[Reason, ...] = (
    Reason.QR_INVALID,
    Reason.UNSUPPORTED_VERSION,
    Reason.KEY_UNKNOWN,
    Reason.KEY_REVOKED,
    Reason.BAD_SIGNATURE,
    Reason.BOOKING_UNKNOWN,
    Reason.BOOKING_CANCELLED,
)

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class BookingFacts:
    """What the look-up knows about a scanned booking code.

    ``problem`` is set when the look-up already rejected the code (one of
    :data:`LOOKUP_PROBLEMS`); otherwise the remaining fields describe a
    genuine booking. ``admitted_at``/``admitted_gate`` describe an earlier
    admission of this booking on the current business day, if any.
    """

    booking_id: str | None
    problem: Reason | None = None
    office_id: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    admitted_at: datetime | None = None
    admitted_gate: str | None = None
    admission_undone: bool = False
    """An officer undid that admission (its slot went back): no re-entry, the booking is used."""
    service: str = ""
    """The booked service code (``""``: none; counted against the building cap only)."""
    arrive_from: time | None = None
    arrive_until: time | None = None
    """The optional arrival window, local business time."""
    reentries: int = 0
    """Re-entries of this booking already recorded today."""
    last_admitted_at: datetime | None = None
    """Its latest admission today (first admission or re-entry); ``None``: ``admitted_at``."""

    def __post_init__(self) -> None:
        if self.problem is not None and self.problem not in LOOKUP_PROBLEMS:
            raise ValueError(f"{self.problem} is not a look-up problem")


@dataclass(frozen=True)
class Visit:
    kind: Kind
    booking: BookingFacts | None = None
    officer: str | None = None
    priority: PriorityReason | None = None
    note: str | None = None
    service: str = ""
    """The service an officer chose for a walk-in or priority admission (bookings: theirs)."""

    @property
    def service_code(self) -> str:
        if self.booking is not None:
            return self.booking.service
        return self.service

    def __post_init__(self) -> None:
        if self.kind is Kind.BOOKING and self.booking is None:
            raise ValueError("a booking visit needs booking facts")
        if self.kind in (Kind.WALKIN, Kind.PRIORITY) and not self.officer:
            raise ValueError(f"a {self.kind} admission needs the officer's name")
        if self.kind is Kind.PRIORITY and self.priority is None:
            raise ValueError("a priority admission needs a priority reason")
        if self.priority is PriorityReason.OTHER and not (self.note and self.note.strip()):
            raise ValueError("priority reason 'other' needs a note saying why")


@dataclass(frozen=True)
class Policy:
    office_id: str
    zone: ZoneInfo
    daily_cap: int = 50
    fever_threshold_c: float = 37.5
    reentry_window_minutes: int = 480
    priority_uses_slot: bool = False
    opens_minute: int = 0
    closes_minute: int = 1440
    open_days: frozenset[str] = frozenset({"mon", "tue", "wed", "thu", "fri", "sat", "sun"})
    recheck_elevated: bool = False
    services: tuple[ServiceRule, ...] = ()
    reentry_min_minutes: int = 5
    reentries_per_day: int = 1
    walkin_release_minute: int | None = None
    """Booked places are held for walk-ins until this local minute (``None``: never held)."""
    early_grace_minutes: int = 15

    def service(self, code: str | None) -> ServiceRule | None:
        return find_service(self.services, code)

    def is_open(self, now: datetime) -> bool:
        if weekday_name(now, self.zone) not in self.open_days:
            return False
        return self.opens_minute <= minute_of_day(now, self.zone) < self.closes_minute


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    uses_slot: bool = False
    detail: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    @property
    def admitted(self) -> bool:
        return self.outcome is Outcome.ADMITTED


def _deny(reason: Reason, **detail: str) -> Decision:
    return Decision(Outcome.DENIED, reason, detail=MappingProxyType(detail))


def _refer(reason: Reason, **detail: str) -> Decision:
    return Decision(Outcome.REFER, reason, detail=MappingProxyType(detail))


def is_reentry(facts: BookingFacts, policy: Policy, now: datetime) -> bool:
    """Whether an earlier admission today lets this booking back in without a slot."""
    if facts.admitted_at is None or facts.admission_undone or policy.reentry_window_minutes == 0:
        return False
    if policy.reentries_per_day == 0:
        return False
    if business_date(facts.admitted_at, policy.zone) != business_date(now, policy.zone):
        return False
    return now - facts.admitted_at <= timedelta(minutes=policy.reentry_window_minutes)


def booking_problem(facts: BookingFacts, policy: Policy, now: datetime) -> Decision | None:
    """Rule 2: the booking's own problems, or ``None`` when it may proceed."""
    if facts.problem is not None:
        return _deny(facts.problem)
    if facts.office_id is not None and facts.office_id != policy.office_id:
        return _deny(Reason.BOOKING_WRONG_OFFICE, office_id=facts.office_id)
    today = business_date(now, policy.zone)
    start = facts.valid_from
    end = facts.valid_until or start
    if start is None or end is None or not start <= today <= end:
        detail = {"valid_from": start.isoformat() if start else ""}
        detail["valid_until"] = end.isoformat() if end else ""
        return _deny(Reason.BOOKING_WRONG_DATE, **detail)
    if facts.admitted_at is not None and not is_reentry(facts, policy, now):
        local = facts.admitted_at.astimezone(policy.zone)
        return _deny(
            Reason.BOOKING_USED,
            admitted_at=local.strftime("%H:%M"),
            gate=facts.admitted_gate or "",
        )
    if facts.admitted_at is not None:
        last = facts.last_admitted_at or facts.admitted_at
        again = last + timedelta(minutes=policy.reentry_min_minutes)
        # 0 = no minimum; ``now`` may even precede ``last`` when gates race for one code.
        if policy.reentry_min_minutes and now < again:
            return _deny(
                Reason.REENTRY_TOO_SOON, again_at=again.astimezone(policy.zone).strftime("%H:%M")
            )
        if facts.reentries >= policy.reentries_per_day:
            return _deny(Reason.REENTRY_LIMIT, reentries=str(facts.reentries))
    return None


_NO_READING = frozenset(
    {
        ReadingState.NO_PERSON,
        ReadingState.IMPLAUSIBLE,
        ReadingState.UNSTABLE,
        ReadingState.TOO_FAR,
        ReadingState.TOO_CLOSE,
    }
)


def service_problem(visit: Visit, policy: Policy, now: datetime) -> Decision | None:
    """Rules 2b–2c: a closed service, a booking scanned before its arrival window."""
    rule = policy.service(visit.service_code)
    if rule is not None and not rule.open_on(now, policy.zone):
        return _deny(Reason.SERVICE_CLOSED, service=rule.code, name=rule.name)
    facts = visit.booking
    if facts is None or facts.arrive_from is None or facts.admitted_at is not None:
        return None
    start = facts.arrive_from.hour * 60 + facts.arrive_from.minute
    if minute_of_day(now, policy.zone) < start - policy.early_grace_minutes:
        return _deny(Reason.TOO_EARLY, come_back=facts.arrive_from.strftime("%H:%M"))
    return None


def is_late(facts: BookingFacts | None, policy: Policy, now: datetime) -> bool:
    """Whether a booking arrives after the end of its arrival window."""
    if facts is None or facts.arrive_until is None:
        return False
    end = facts.arrive_until.hour * 60 + facts.arrive_until.minute
    return minute_of_day(now, policy.zone) > end


def temperature_problem(reading: TemperatureReading | None, policy: Policy) -> Decision | None:
    """Rule 3: the measurement's verdict, or ``None`` when it allows entry."""
    if reading is None or reading.state is ReadingState.FAULT:
        return _refer(Reason.SENSOR_FAULT)
    if reading.state is ReadingState.AMBIENT_OUT_OF_RANGE:
        return _refer(Reason.AMBIENT_OUT_OF_RANGE, ambient_c=f"{reading.ambient_c:.1f}")
    if reading.first is not None and not reading.recheck_trusted:
        first = reading.first.estimated_c
        return _refer(Reason.FEVER, first_c=f"{first:.1f}" if first is not None else "")
    if reading.state in _NO_READING:
        return _deny(Reason.NO_READING, state=reading.state.value)
    assert reading.estimated_c is not None
    if reading.estimated_c >= policy.fever_threshold_c:
        if policy.recheck_elevated and not reading.is_recheck:
            return _refer(Reason.TEMPERATURE_RECHECK)
        return _refer(Reason.FEVER)
    return None


def precheck(
    *,
    visit: Visit,
    policy: Policy,
    now: datetime,
    date_trusted: bool = True,
    safe_mode: bool = False,
    out_of_service: Collection[str] = (),
) -> Decision | None:
    """Rules 0–2 alone: what refuses a visit before anyone is measured.

    The service calls this before asking the visitor to the thermometer;
    :func:`decide` applies the same rules first.
    """
    if now.tzinfo is None:
        raise ValueError("decide needs an aware datetime")
    if not date_trusted:
        return Decision(Outcome.REFER, Reason.CLOCK_UNCONFIRMED)
    if safe_mode and visit.kind in (Kind.BOOKING, Kind.STAFF):
        return Decision(Outcome.REFER, Reason.SAFE_MODE)
    if out_of_service and visit.kind in (Kind.BOOKING, Kind.WALKIN):
        return _refer(Reason.OUT_OF_SERVICE, devices=", ".join(sorted(out_of_service)))
    if visit.kind in (Kind.BOOKING, Kind.WALKIN) and not policy.is_open(now):
        return _deny(Reason.CLOSED_HOURS)
    if visit.kind is Kind.BOOKING:
        assert visit.booking is not None
        if problem := booking_problem(visit.booking, policy, now):
            return problem
    if visit.kind in (Kind.BOOKING, Kind.WALKIN):
        return service_problem(visit, policy, now)
    return None


def decide(
    *,
    visit: Visit,
    reading: TemperatureReading | None,
    used_today: int,
    policy: Policy,
    now: datetime,
    date_trusted: bool = True,
    safe_mode: bool = False,
    out_of_service: Collection[str] = (),
    service_used: int = 0,
    held: int = 0,
    held_service: int = 0,
) -> Decision:
    """Decide one visit. See the module docstring for the precedence of rules.

    ``now`` is the instant whose business date the visit counts against;
    ``date_trusted`` is False while that date awaits an officer's confirmation;
    ``safe_mode`` is True while the kiosk runs on its journal (damaged database);
    ``out_of_service`` names the devices the gate needs that are missing now;
    ``service_used`` is how many places the visit's service has used today;
    ``held``/``held_service`` count today's bookings not yet admitted (overall / in the
    visit's service), which walk-ins may not take before the release time.
    """
    if problem := precheck(
        visit=visit,
        policy=policy,
        now=now,
        date_trusted=date_trusted,
        safe_mode=safe_mode,
        out_of_service=out_of_service,
    ):
        return problem
    kind = visit.kind
    reentry = (
        kind is Kind.BOOKING
        and visit.booking is not None
        and (visit.booking.admitted_at is not None)
    )

    if kind is not Kind.PRIORITY and (problem := temperature_problem(reading, policy)):
        return problem

    uses_slot = (kind in (Kind.BOOKING, Kind.WALKIN) and not reentry) or (
        kind is Kind.PRIORITY and policy.priority_uses_slot
    )
    if uses_slot and (problem := capacity_problem(visit, policy, now, used_today, service_used)):
        return problem
    if uses_slot and kind is not Kind.BOOKING:
        places = walkin_places(
            cap=policy.daily_cap,
            used=used_today,
            held=held,
            rule=policy.service(visit.service_code),
            service_used=service_used,
            held_service=held_service,
            holding_now=holding(policy.walkin_release_minute, now, policy.zone),
        )
        if places.now == 0:
            assert policy.walkin_release_minute is not None
            hh, mm = divmod(policy.walkin_release_minute, 60)
            return _deny(Reason.PLACES_HELD, release=f"{hh:02d}:{mm:02d}")

    detail: dict[str, str] = {}
    if reentry:
        assert visit.booking is not None
        detail["reentry"] = str(visit.booking.reentries + 1)
    elif kind is Kind.BOOKING and is_late(visit.booking, policy, now):
        assert visit.booking is not None and visit.booking.arrive_until is not None
        detail["late"] = visit.booking.arrive_until.strftime("%H:%M")
    reason = {
        Kind.BOOKING: Reason.READMITTED if reentry else Reason.ADMITTED,
        Kind.WALKIN: Reason.WALKIN,
        Kind.PRIORITY: Reason.PRIORITY,
        Kind.STAFF: Reason.STAFF,
    }[kind]
    return Decision(Outcome.ADMITTED, reason, uses_slot=uses_slot, detail=MappingProxyType(detail))


def capacity_problem(
    visit: Visit, policy: Policy, now: datetime, used: int, service_used: int
) -> Decision | None:
    """Rule 4's caps: the building's, then the visit's service's."""
    if used >= policy.daily_cap:
        return _deny(Reason.CAP_REACHED, cap=str(policy.daily_cap))
    rule = policy.service(visit.service_code)
    if rule is not None and service_used >= rule.daily_cap:
        return _deny(Reason.SERVICE_FULL, service=rule.code, name=rule.name)
    return None
