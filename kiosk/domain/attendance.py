"""Staff attendance rules: pure functions, times and facts passed in.

Marks (one business day = the calendar date in the office zone, as for the citizen cap):

* the first counted recognition of a staff member on a business day is the **clock-in**;
* every later one is a **clock-out**, and the last one wins (the report shows the latest);
* a recognition less than ``repeat_minutes`` after the previous counted one is a **repeat**
  and is ignored (someone lingering at the gate, or going out and straight back in);
* a clock-in later than ``work_starts`` + ``late_grace_minutes`` (local time) is **late**;
* a staff member on the duty roster ("piket") for a day without a clock-in is
  **absent on duty**.

Staff go through the same screening as citizens, in this order (first match wins):

0. an untrusted business date or a database in safe mode refers everyone (see
   :mod:`kiosk.domain.admission`);
1. a device problem (``sensor_fault``, ``ambient_out_of_range``) → refer, as for anyone;
2. **liveness** (``liveness_failed``, denied): the thermometer must see skin, at least
   ``skin_above_ambient_c`` warmer than the room, at the moment of recognition (a photo or a
   phone screen reads near room temperature), and the face must have moved naturally over
   several frames (see :mod:`kiosk.faces.liveness`);
3. the admission rules for :attr:`~kiosk.domain.admission.Kind.STAFF`: the fever rule exactly as
   for citizens, never a citizen slot.

Only admitted recognitions count as marks; refusals are recorded apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from kiosk.domain.admission import Decision, Kind, Policy, Visit, decide, precheck
from kiosk.domain.clock import business_date, minute_of_day
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading


class Mark(StrEnum):
    CLOCK_IN = "in"
    CLOCK_OUT = "out"
    REPEAT = "repeat"
    """Too soon after the previous mark: ignored, nothing stored."""


class Check(StrEnum):
    """Liveness checks; the ones that passed are recorded with every staff decision."""

    SKIN = "skin"
    MOTION = "motion"


@dataclass(frozen=True)
class AttendancePolicy:
    zone: ZoneInfo
    work_starts_minute: int = 8 * 60
    late_grace_minutes: int = 0
    repeat_minutes: int = 10
    skin_above_ambient_c: float = 1.5

    def day_of(self, instant: datetime) -> date:
        return business_date(instant, self.zone)


def classify(now: datetime, earlier: Iterable[datetime], policy: AttendancePolicy) -> Mark:
    """The mark a recognition at ``now`` makes, given the staff member's earlier marks.

    ``earlier`` may hold marks of any day; only those on ``now``'s business day count.
    """
    today = policy.day_of(now)
    same_day = [t for t in earlier if policy.day_of(t) == today and t <= now]
    if not same_day:
        return Mark.CLOCK_IN
    if now - max(same_day) < timedelta(minutes=policy.repeat_minutes):
        return Mark.REPEAT
    return Mark.CLOCK_OUT


def is_late(clock_in: datetime, policy: AttendancePolicy) -> bool:
    """Whether a clock-in is after the start of work plus the grace period (local time)."""
    limit = policy.work_starts_minute + policy.late_grace_minutes
    return minute_of_day(clock_in, policy.zone) > limit


# -- liveness and the staff decision ------------------------------------------------
def skin_seen(reading: TemperatureReading | None, policy: AttendancePolicy) -> bool:
    """The thermometer saw skin: a settled reading clearly warmer than the room."""
    if reading is None or reading.state is not ReadingState.OK or reading.source != "sensor":
        return False
    if reading.object_c is None or reading.ambient_c is None:
        return False
    return reading.object_c - reading.ambient_c >= policy.skin_above_ambient_c


def passed_checks(
    reading: TemperatureReading | None, motion_natural: bool, policy: AttendancePolicy
) -> frozenset[Check]:
    checks = set()
    if skin_seen(reading, policy):
        checks.add(Check.SKIN)
    if motion_natural:
        checks.add(Check.MOTION)
    return frozenset(checks)


DEVICE_PROBLEMS = (ReadingState.FAULT, ReadingState.AMBIENT_OUT_OF_RANGE)


def decide_staff(
    *,
    reading: TemperatureReading | None,
    checks: frozenset[Check],
    policy: Policy,
    now: datetime,
    date_trusted: bool = True,
    safe_mode: bool = False,
) -> Decision:
    """A recognised staff member at the gate. See the module docstring for the order.

    ``date_trusted`` and ``safe_mode`` refuse staff exactly as
    :func:`~kiosk.domain.admission.precheck` refuses everyone: a mark needs a sure date and a
    sound database.
    """
    visit = Visit(Kind.STAFF)
    if refused := precheck(
        visit=visit, policy=policy, now=now, date_trusted=date_trusted, safe_mode=safe_mode
    ):
        return refused
    if reading is None or reading.state not in DEVICE_PROBLEMS:
        missing = [c.value for c in Check if c not in checks]
        if missing:
            detail = {"failed": ",".join(missing), "passed": ",".join(sorted(checks))}
            return Decision(Outcome.DENIED, Reason.LIVENESS_FAILED, detail=MappingProxyType(detail))
    # Staff never use a slot, so today's count does not matter to the decision.
    return decide(
        visit=visit,
        reading=reading,
        used_today=0,
        policy=policy,
        now=now,
        date_trusted=date_trusted,
        safe_mode=safe_mode,
    )


# -- reports -----------------------------------------------------------------------
@dataclass(frozen=True)
class MarkRecord:
    """A stored attendance mark (clock-in or clock-out) or refusal."""

    staff_id: int
    ts: datetime
    kind: str
    """``in``, ``out`` or ``refused``."""


@dataclass(frozen=True)
class DayRecord:
    staff_id: int
    name: str
    day: date
    first_in: datetime | None
    last_out: datetime | None
    late: bool
    on_duty: bool
    refused: int

    @property
    def present(self) -> bool:
        return self.first_in is not None

    @property
    def absent_on_duty(self) -> bool:
        return self.on_duty and not self.present


def day_records(
    day: date,
    staff: Mapping[int, str],
    marks: Sequence[MarkRecord],
    on_duty: Iterable[int],
    policy: AttendancePolicy,
) -> list[DayRecord]:
    """One row per staff member who was seen, refused or on duty on ``day``, by name."""
    duty = set(on_duty)
    todays = [m for m in marks if policy.day_of(m.ts) == day]
    people = {m.staff_id for m in todays} | duty
    rows = []
    for staff_id in people:
        mine = sorted((m for m in todays if m.staff_id == staff_id), key=lambda m: m.ts)
        ins = [m.ts for m in mine if m.kind == Mark.CLOCK_IN.value]
        outs = [m.ts for m in mine if m.kind == Mark.CLOCK_OUT.value]
        first_in = ins[0] if ins else None
        rows.append(
            DayRecord(
                staff_id=staff_id,
                name=staff.get(staff_id, f"#{staff_id}"),
                day=day,
                first_in=first_in,
                last_out=outs[-1] if outs else None,
                late=first_in is not None and is_late(first_in, policy),
                on_duty=staff_id in duty,
                refused=sum(1 for m in mine if m.kind == "refused"),
            )
        )
    return sorted(rows, key=lambda r: (r.name.casefold(), r.staff_id))


def month_days(year: int, month: int) -> list[date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return [first + timedelta(days=i) for i in range((following - first).days)]


def month_records(
    year: int,
    month: int,
    staff: Mapping[int, str],
    marks: Sequence[MarkRecord],
    roster: Iterable[tuple[date, int]],
    policy: AttendancePolicy,
) -> list[DayRecord]:
    """:func:`day_records` for every day of a month, by staff member then date."""
    duty: dict[date, set[int]] = {}
    for day, staff_id in roster:
        duty.setdefault(day, set()).add(staff_id)
    by_day: dict[date, list[MarkRecord]] = {}
    for m in marks:
        by_day.setdefault(policy.day_of(m.ts), []).append(m)
    rows = []
    for day in month_days(year, month):
        rows += day_records(day, staff, by_day.get(day, []), duty.get(day, set()), policy)
    return sorted(rows, key=lambda r: (r.name.casefold(), r.staff_id, r.day))
