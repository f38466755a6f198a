"""Today's figures, from one query: used by the gate, ``kiosk today``, the screens and the
admin pages alike, so they can never disagree.

``used`` is the shared day counter (every slot taken, including slots that gates have
reserved for a network partition); ``admitted`` is what people were let in on slots
(``used`` − the reserved slots not yet spent); ``remaining`` is what this gate may still
admit: the free part of the cap plus its own reserve.

Per service (issue #15): ``services`` gives each configured service's ``admitted`` (its
counter), ``cap`` and ``remaining``, whether it is ``open`` today and the places still
``held`` by today's unused bookings; ``walkin_places`` is "places for walk-ins now": the
free places not held by bookings before the walk-in release time (all free places after
it), overall and per service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kiosk.domain.admission import Policy
from kiosk.domain.capacity import holding, walkin_places
from kiosk.storage import capacity, entry_log, reservations
from kiosk.storage import repository as repo


@dataclass(frozen=True)
class ServiceFigures:
    code: str
    name: str
    cap: int
    admitted: int
    held: int = 0
    open: bool = True
    walkin_places: int = 0

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.admitted)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "admitted": self.admitted,
            "cap": self.cap,
            "remaining": self.remaining,
            "open": self.open,
            "held": self.held,
            "walkin_places": self.walkin_places,
        }


@dataclass(frozen=True)
class DayCounts:
    day: date
    cap: int
    used: int
    reserved: int
    own_reserve: int
    outcomes: dict[str, int]
    services: dict[str, ServiceFigures] = field(default_factory=dict)
    held: int = 0
    """Places held by today's bookings not yet admitted (all services)."""
    walkin_places: int | None = None
    """Places for walk-ins now (``None``: not computed, e.g. a past day)."""

    def services_json(self) -> dict[str, dict[str, Any]]:
        return {code: figures.as_json() for code, figures in self.services.items()}

    @property
    def admitted(self) -> int:
        return self.used - self.reserved

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.used) + self.own_reserve

    @property
    def full(self) -> bool:
        return self.remaining == 0


def day_counts(
    conn: Any,
    office_id: str,
    day: date,
    *,
    gate_id: str,
    cap: int | None = None,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> DayCounts:
    """The day's figures; ``cap`` None = the cap stored with the day (past days).

    With ``policy`` the configured services are listed (their caps, closed days) and,
    with ``now`` too, the places for walk-ins now; without, the services counted that day.
    """
    counter = entry_log.day_counter(conn, office_id, day)
    if cap is None:
        cap = counter[1] if counter else 0
    used = repo.slots_used(conn, office_id, day)
    service_used = capacity.service_used(conn, office_id, day)
    held = capacity.held_places(conn, office_id, day)
    holding_now = (
        policy is not None
        and now is not None
        and holding(policy.walkin_release_minute, now, policy.zone)
    )
    overall = walkin_places(cap=cap, used=used, held=sum(held.values()), holding_now=holding_now)
    services: dict[str, ServiceFigures] = {}
    if policy is not None:
        for rule in policy.services:
            here = walkin_places(
                cap=cap,
                used=used,
                held=sum(held.values()),
                rule=rule,
                service_used=service_used.get(rule.code, 0),
                held_service=held.get(rule.code, 0),
                holding_now=holding_now,
            )
            is_open = now is None or rule.open_on(now, policy.zone)
            services[rule.code] = ServiceFigures(
                code=rule.code,
                name=rule.name,
                cap=rule.daily_cap,
                admitted=service_used.get(rule.code, 0),
                held=held.get(rule.code, 0),
                open=is_open,
                walkin_places=here.now if is_open else 0,
            )
    else:
        for code, n in sorted(capacity.service_caps(conn, office_id, day).items()):
            services[code] = ServiceFigures(code, code, n, service_used.get(code, 0))
    return DayCounts(
        day=day,
        cap=cap,
        used=used,
        reserved=reservations.total_held(conn, office_id, day),
        own_reserve=reservations.held(conn, office_id, day, gate_id),
        outcomes=repo.outcome_counts(conn, office_id, day),
        services=services,
        held=sum(held.values()),
        walkin_places=overall.overall if now is not None else None,
    )
