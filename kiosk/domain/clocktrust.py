"""Clock trust: when may the wall clock start a new business day on its own?

A Raspberry Pi has no battery clock. It can boot on yesterday's date
(fake-hwclock restores the last shutdown time) and jump when NTP syncs; a
misconfigured time server can step it by days. Because the daily cap is
keyed by business date, a wrong date means a second cap in one day (a
"double reset") or admissions counted against the wrong day.

So the gate only trusts a business date that it can justify, and otherwise
asks an officer to confirm the date (automatic admission refers meanwhile).
This module is the pure rule set: :func:`observe` folds one clock
observation into a :class:`ClockState`; :func:`confirm` applies an officer's
confirmation. The service layer supplies wall time, monotonic time and
whether the clock is synchronised; it persists ``high_water`` (the latest
instant ever recorded by this gate) across restarts.

Rules
-----
1. At start-up the date is trusted only with a trusted time source (NTP
   synchronised, or a battery RTC): otherwise ``unsynchronised``.
2. The first synchronisation resolves ``unsynchronised`` (that is what it is
   for), unless rule 4 applies.
3. While running, a jump between the wall and the monotonic clock larger
   than ``max_jump_s`` raises an alert. It also suspends the date
   (``jumped``) unless the clock is synchronised and the business date is
   unchanged (a small NTP correction). A jump over midnight needs an officer.
4. A wall clock earlier than ``high_water`` by more than ``max_jump_s`` is
   ``behind_records``: the clock went backwards across a restart.
5. An officer's confirmation sets a whole-day offset from the wall clock's
   date; time of day still comes from the wall clock. When the clock later
   synchronises, the offset is dropped if the synchronised date agrees with
   the confirmed one, else the date is suspended again (``conflict``).
6. While the date is suspended, the day in effect does not change, so the
   day's counter can never reset without a trusted date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kiosk.domain.clock import business_date


class ClockProblem(StrEnum):
    UNSYNCHRONISED = "unsynchronised"
    """Started without a synchronised clock or RTC: the date may be yesterday's."""
    JUMPED = "jumped"
    """The wall clock jumped against the monotonic clock (either direction)."""
    BEHIND_RECORDS = "behind_records"
    """The wall clock is earlier than entries this gate has already recorded."""
    CONFLICT = "conflict"
    """The synchronised clock disagrees with the date an officer confirmed."""


@dataclass(frozen=True)
class ClockObservation:
    wall: datetime
    """Aware wall-clock instant."""
    mono: float
    """Monotonic seconds (never jumps)."""
    trusted_source: bool
    """NTP synchronised, or a battery-backed RTC is fitted."""


@dataclass(frozen=True)
class ClockEvent:
    kind: str
    """``jump``, ``suspended``, ``resolved`` or ``confirmed``."""
    detail: str


@dataclass(frozen=True)
class ClockState:
    ref_wall: datetime | None = None
    ref_mono: float | None = None
    offset_days: int = 0
    problem: ClockProblem | None = None
    day: date | None = None
    """The business date in effect (``None`` until one is trusted)."""
    high_water: datetime | None = None

    @property
    def trusted(self) -> bool:
        return self.problem is None and self.day is not None


def _local_day(wall: datetime, offset_days: int, zone: ZoneInfo) -> date:
    return business_date(wall, zone) + timedelta(days=offset_days)


def observe(
    state: ClockState,
    obs: ClockObservation,
    *,
    zone: ZoneInfo,
    max_jump_s: float,
    trust_always: bool = False,
) -> tuple[ClockState, list[ClockEvent]]:
    """Fold one observation into the state; returns the new state and events to log."""
    events: list[ClockEvent] = []
    first = state.ref_wall is None or state.ref_mono is None
    jump_s = 0.0
    if not first:
        assert state.ref_wall is not None and state.ref_mono is not None
        jump_s = (obs.wall - state.ref_wall).total_seconds() - (obs.mono - state.ref_mono)
    jumped = abs(jump_s) > max_jump_s
    if jumped:
        events.append(
            ClockEvent("jump", f"wall clock jumped {jump_s:+.0f} s against the monotonic clock")
        )
    state = replace(state, ref_wall=obs.wall, ref_mono=obs.mono)
    if trust_always:
        return replace(
            state, problem=None, offset_days=0, day=business_date(obs.wall, zone)
        ), events

    problem = state.problem
    offset = state.offset_days
    if first:
        problem = None if obs.trusted_source else ClockProblem.UNSYNCHRONISED
    elif jumped and problem is None:
        unchanged = obs.trusted_source and _local_day(obs.wall, offset, zone) == state.day
        if not unchanged:
            problem = ClockProblem.JUMPED
    if obs.trusted_source and offset != 0 and not first:
        # Rule 5: a synchronised clock replaces the officer's correction.
        if business_date(obs.wall, zone) == state.day:
            offset, problem = 0, None
        else:
            problem = ClockProblem.CONFLICT
    if problem is ClockProblem.UNSYNCHRONISED and obs.trusted_source:
        problem = None  # rule 2
    candidate_wall = obs.wall + timedelta(days=offset)
    if (
        problem is None
        and state.high_water is not None
        and candidate_wall < state.high_water - timedelta(seconds=max_jump_s)
    ):
        problem = ClockProblem.BEHIND_RECORDS
    day: date | None = state.day
    high_water = state.high_water
    if problem is None:
        day = _local_day(obs.wall, offset, zone)
        high_water = candidate_wall if high_water is None else max(high_water, candidate_wall)
    if problem is not state.problem:
        if problem is None:
            events.append(ClockEvent("resolved", f"business date {day} trusted again"))
        else:
            events.append(ClockEvent("suspended", f"business date suspended: {problem.value}"))
    new = replace(state, problem=problem, offset_days=offset, day=day, high_water=high_water)
    return new, events


def confirm(
    state: ClockState, obs: ClockObservation, day: date, *, zone: ZoneInfo
) -> tuple[ClockState, list[ClockEvent]]:
    """An officer confirms today's business date; the wall clock keeps the time of day."""
    offset = (day - business_date(obs.wall, zone)).days
    # The officer's word replaces the high-water mark (earlier records may be the wrong ones).
    high_water = obs.wall + timedelta(days=offset)
    new = replace(
        state,
        ref_wall=obs.wall,
        ref_mono=obs.mono,
        offset_days=offset,
        problem=None,
        day=day,
        high_water=high_water,
    )
    detail = f"business date {day} confirmed (wall clock date {business_date(obs.wall, zone)})"
    return new, [ClockEvent("confirmed", detail)]
