"""Places and queue numbers inside the recorder's write transaction (issue #15).

:class:`~kiosk.services.recorder.Recorder` calls these between reading the fresh booking
facts and inserting the entry, all in one transaction:

1. :func:`counts_for` — today's counts the decision needs: the building's slots used, the
   visit's service's places used, and the places held by today's unused bookings;
2. :func:`take_places` — the conditional counter updates for a slot-using admission: the
   service's counter first, then the building's (always in that order, so two gates never
   wait on each other's rows crosswise); a walk-in before the release time may not go
   below the held places. When a counter is full the decision is made again with that
   counter full, so the refusal carries the right reason;
3. :func:`queue_number` — the next number of the visit's series, from the counter row
   bumped in the same transaction (a rolled-back admission gives its number back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from kiosk.domain.admission import Decision, Kind, Policy, Visit
from kiosk.domain.capacity import (
    format_queue_number,
    holding,
    queue_series,
    service_key,
)
from kiosk.domain.reasons import Reason
from kiosk.storage import capacity
from kiosk.storage import repository as repo
from kiosk.storage.base import Connection


@dataclass(frozen=True)
class Counts:
    """What :func:`~kiosk.domain.admission.decide` is told about today."""

    used: int
    service_used: int = 0
    held: int = 0
    held_service: int = 0

    def decide_kwargs(self) -> dict[str, int]:
        return {
            "used_today": self.used,
            "service_used": self.service_used,
            "held": self.held,
            "held_service": self.held_service,
        }


def counts_for(conn: Connection, policy: Policy, visit: Visit, day: date) -> Counts:
    """Today's counts for ``visit``, read inside the recording transaction."""
    used = repo.slots_used(conn, policy.office_id, day)
    rule = policy.service(visit.service_code)
    service_used = 0
    if rule is not None:
        service_used = capacity.service_used(conn, policy.office_id, day).get(rule.code, 0)
    held = held_service = 0
    if visit.kind is not Kind.BOOKING and policy.walkin_release_minute is not None:
        per_service = capacity.held_places(conn, policy.office_id, day)
        held = sum(per_service.values())
        held_service = per_service.get(rule.code, 0) if rule is not None else 0
    return Counts(used, service_used, held, held_service)


def take_places(
    conn: Connection,
    policy: Policy,
    visit: Visit,
    day: date,
    counts: Counts,
    now: datetime,
    *,
    reserve: Callable[[], bool] = lambda: False,
) -> Reason | None:
    """Take the service's and the building's place; ``None`` when taken, else what was full.

    Returns :attr:`Reason.SERVICE_FULL`, :attr:`Reason.PLACES_HELD` or
    :attr:`Reason.CAP_REACHED` (nothing taken then). ``reserve`` is asked for one of the
    gate's partition reserve slots when the building's cap is reached.
    """
    office = policy.office_id
    rule = policy.service(visit.service_code)
    held_now = visit.kind is not Kind.BOOKING and holding(
        policy.walkin_release_minute, now, policy.zone
    )
    if rule is not None:
        below = rule.daily_cap - counts.held_service if held_now else None
        if capacity.take_service_slot(conn, office, day, rule.code, rule.daily_cap, below=below):
            pass
        elif held_now and counts.service_used < rule.daily_cap:
            return Reason.PLACES_HELD
        else:
            return Reason.SERVICE_FULL
    below = policy.daily_cap - counts.held if held_now else None
    if repo.take_slot(conn, office, day, policy.daily_cap, below=below) is not None:
        return None
    if (counts.used >= policy.daily_cap or not held_now) and reserve():
        return None
    if rule is not None:
        capacity.return_service_slot(conn, office, day, rule.code)
    return Reason.PLACES_HELD if held_now and counts.used < policy.daily_cap else Reason.CAP_REACHED


def refused_counts(policy: Policy, visit: Visit, counts: Counts, full: Reason) -> Counts:
    """The counts to decide again with when ``full`` was found at the counter."""
    rule = policy.service(visit.service_code)
    if full is Reason.SERVICE_FULL and rule is not None:
        return Counts(counts.used, rule.daily_cap, counts.held, counts.held_service)
    if full is Reason.PLACES_HELD:
        service_cap = rule.daily_cap if rule is not None else 0
        return Counts(counts.used, counts.service_used, policy.daily_cap, service_cap)
    return Counts(policy.daily_cap, counts.service_used, counts.held, counts.held_service)


def entry_service(policy: Policy, visit: Visit) -> str:
    """The service stored with the entry: the configured code, or the visit's own key."""
    rule = policy.service(visit.service_code)
    return rule.code if rule is not None else service_key(visit.service_code)


def gets_queue_number(visit: Visit, decision: Decision) -> bool:
    """Admissions that need a number inside: not re-entries, not staff."""
    return decision.admitted and decision.reason in (
        Reason.ADMITTED,
        Reason.WALKIN,
        Reason.PRIORITY,
    )


def queue_number(conn: Connection, policy: Policy, visit: Visit, day: date) -> str:
    """The next queue number of ``visit``'s series today, e.g. ``KTP-EL-007`` or ``A-012``."""
    series = queue_series(policy.service(visit.service_code))
    return format_queue_number(
        series, capacity.next_queue_number(conn, policy.office_id, day, series)
    )
