"""Staff attendance rules: pure functions, times and facts passed in.

Marks (one business day = the calendar date in the office zone, as for the citizen cap):

* the first counted recognition of a staff member on a business day is the **clock-in**;
* every later one is a **clock-out**, and the last one wins (the report shows the latest);
* a recognition less than ``repeat_minutes`` after the previous counted one is a **repeat**
  and is ignored (someone lingering at the gate, or going out and straight back in);
* a clock-in later than ``work_starts`` + ``late_grace_minutes`` (local time) is **late**;
* a staff member on the duty roster ("piket") for a day without a clock-in is
  **absent on duty**.

**Shifts.** A roster entry may carry a start and an end time (a :class:`Shift`); an end before
the start crosses midnight (22:00–06:00). A recognition within a shift's window — from
``shift_before_minutes`` before its start to ``shift_after_minutes`` after its end — belongs to
the business day the shift *started* on (a night shift of the 23rd clocking out at 06:05 on the
24th is the 23rd's clock-out); when two shifts' windows hold it, the nearer shift wins (then the
later one). Outside every shift the calendar date rules as above. With a shift, **late** is a
clock-in after the shift's start + ``late_grace_minutes`` and **early leave** a last clock-out
before its end − ``early_leave_grace_minutes``; without one, late is judged against
``work_starts`` and early leave is not judged (no end is known).

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
from datetime import date, datetime, time, timedelta
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
    early_leave_grace_minutes: int = 0
    shift_before_minutes: int = 3 * 60
    """A recognition this long before a shift's start already belongs to that shift."""
    shift_after_minutes: int = 6 * 60
    """… and one this long after its end still does (a late clock-out)."""

    def day_of(self, instant: datetime) -> date:
        return business_date(instant, self.zone)


# -- shifts ------------------------------------------------------------------------
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Shift:
    """A timed roster entry: ``staff_id`` works from ``start_minute`` on ``day`` (local
    minutes after midnight) to ``end_minute`` — on the next day when it is before the start."""

    staff_id: int
    day: date
    start_minute: int
    end_minute: int

    def __post_init__(self) -> None:
        for m in (self.start_minute, self.end_minute):
            if not 0 <= m < MINUTES_PER_DAY:
                raise ValueError(f"shift time out of range: {m}")
        if self.start_minute == self.end_minute:
            raise ValueError("a shift must end at another time than it starts")

    @property
    def crosses_midnight(self) -> bool:
        return self.end_minute < self.start_minute

    def starts(self, zone: ZoneInfo) -> datetime:
        return _local(self.day, self.start_minute, zone)

    def ends(self, zone: ZoneInfo) -> datetime:
        return _local(self.day + timedelta(days=self.crosses_midnight), self.end_minute, zone)

    def label(self) -> str:
        """``22:00-06:00`` (as the roster CSV writes it)."""
        return f"{hhmm(self.start_minute)}-{hhmm(self.end_minute)}"


def _local(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_hhmm(text: str) -> int:
    """``"06:05"`` → 365; :class:`ValueError` for anything but ``H:MM``/``HH:MM`` 00:00–23:59."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or len(minutes) != 2 or not minutes.isdigit():
        raise ValueError(f"time must be HH:MM, got {text!r}")
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        raise ValueError(f"time must be HH:MM between 00:00 and 23:59, got {text!r}")
    return h * 60 + m


def shift_of(instant: datetime, shifts: Iterable[Shift], policy: AttendancePolicy) -> Shift | None:
    """The shift a recognition at ``instant`` belongs to (see the module docstring)."""
    before = timedelta(minutes=policy.shift_before_minutes)
    after = timedelta(minutes=policy.shift_after_minutes)
    best: tuple[timedelta, float, Shift] | None = None
    for s in shifts:
        start, end = s.starts(policy.zone), s.ends(policy.zone)
        if not start - before <= instant <= end + after:
            continue
        gap = max(start - instant, instant - end, timedelta(0))
        key = (gap, -start.timestamp(), s)
        if best is None or key[:2] < best[:2]:
            best = key
    return None if best is None else best[2]


def day_of_mark(instant: datetime, shifts: Iterable[Shift], policy: AttendancePolicy) -> date:
    """The business day a recognition counts for: its shift's day, else the calendar date."""
    shift = shift_of(instant, shifts, policy)
    return shift.day if shift else policy.day_of(instant)


def classify(
    now: datetime,
    earlier: Iterable[datetime],
    policy: AttendancePolicy,
    shifts: Sequence[Shift] = (),
) -> Mark:
    """The mark a recognition at ``now`` makes, given the staff member's earlier marks.

    ``earlier`` may hold marks of any day; only those on ``now``'s business day count (with
    ``shifts``, the staff member's timed roster entries around ``now``, that is the day of the
    shift each belongs to).
    """
    today = day_of_mark(now, shifts, policy)
    same_day = [t for t in earlier if t <= now and day_of_mark(t, shifts, policy) == today]
    if not same_day:
        return Mark.CLOCK_IN
    if now - max(same_day) < timedelta(minutes=policy.repeat_minutes):
        return Mark.REPEAT
    return Mark.CLOCK_OUT


def is_late(clock_in: datetime, policy: AttendancePolicy, shift: Shift | None = None) -> bool:
    """Whether a clock-in is after the start of work (the shift's, else ``work_starts``)
    plus the grace period (local time)."""
    if shift is not None:
        limit = shift.starts(policy.zone) + timedelta(minutes=policy.late_grace_minutes)
        return clock_in > limit
    limit_minute = policy.work_starts_minute + policy.late_grace_minutes
    return minute_of_day(clock_in, policy.zone) > limit_minute


def is_early_leave(clock_out: datetime, policy: AttendancePolicy, shift: Shift | None) -> bool:
    """Whether the last clock-out is before the shift's end minus the grace period (never
    without a shift: no end is known)."""
    if shift is None:
        return False
    limit = shift.ends(policy.zone) - timedelta(minutes=policy.early_leave_grace_minutes)
    return clock_out < limit


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
    shift: Shift | None = None
    early_leave: bool = False

    @property
    def present(self) -> bool:
        return self.first_in is not None

    @property
    def absent_on_duty(self) -> bool:
        return self.on_duty and not self.present


def _by_staff(shifts: Iterable[Shift]) -> dict[int, list[Shift]]:
    out: dict[int, list[Shift]] = {}
    for s in shifts:
        out.setdefault(s.staff_id, []).append(s)
    return out


def day_records(
    day: date,
    staff: Mapping[int, str],
    marks: Sequence[MarkRecord],
    on_duty: Iterable[int],
    policy: AttendancePolicy,
    shifts: Iterable[Shift] = (),
) -> list[DayRecord]:
    """One row per staff member who was seen, refused or on duty on ``day``, by name.

    ``marks`` may include the days before and after (a night shift's clock-out is on the next
    calendar day); each counts for the day of its shift (``shifts``: the timed roster entries
    of ``day`` and the days around it), else for its calendar date.
    """
    shift_list = list(shifts)
    mine_shifts = _by_staff(shift_list)
    todays_shift = {s.staff_id: s for s in shift_list if s.day == day}
    duty = set(on_duty) | set(todays_shift)
    todays = [m for m in marks if day_of_mark(m.ts, mine_shifts.get(m.staff_id, ()), policy) == day]
    people = {m.staff_id for m in todays} | duty
    rows = []
    for staff_id in people:
        mine = sorted((m for m in todays if m.staff_id == staff_id), key=lambda m: m.ts)
        ins = [m.ts for m in mine if m.kind == Mark.CLOCK_IN.value]
        outs = [m.ts for m in mine if m.kind == Mark.CLOCK_OUT.value]
        first_in = ins[0] if ins else None
        last_out = outs[-1] if outs else None
        shift = todays_shift.get(staff_id)
        rows.append(
            DayRecord(
                staff_id=staff_id,
                name=staff.get(staff_id, f"#{staff_id}"),
                day=day,
                first_in=first_in,
                last_out=last_out,
                late=first_in is not None and is_late(first_in, policy, shift),
                on_duty=staff_id in duty,
                refused=sum(1 for m in mine if m.kind == "refused"),
                shift=shift,
                early_leave=last_out is not None and is_early_leave(last_out, policy, shift),
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
    shifts: Iterable[Shift] = (),
) -> list[DayRecord]:
    """:func:`day_records` for every day of a month, by staff member then date."""
    shift_list = list(shifts)
    by_staff = _by_staff(shift_list)
    duty: dict[date, set[int]] = {}
    for day, staff_id in roster:
        duty.setdefault(day, set()).add(staff_id)
    by_day: dict[date, list[MarkRecord]] = {}
    for m in marks:
        by_day.setdefault(day_of_mark(m.ts, by_staff.get(m.staff_id, ()), policy), []).append(m)
    shifts_by_day: dict[date, list[Shift]] = {}
    for s in shift_list:
        shifts_by_day.setdefault(s.day, []).append(s)
    rows = []
    for day in month_days(year, month):
        rows += day_records(
            day,
            staff,
            by_day.get(day, []),
            duty.get(day, set()),
            policy,
            shifts_by_day.get(day, []),
        )
    return sorted(rows, key=lambda r: (r.name.casefold(), r.staff_id, r.day))
