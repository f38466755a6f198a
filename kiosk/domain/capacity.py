"""Capacity by service: the arithmetic the gate decision and the screens share.

An office plans by service (KTP-el recording, KK, birth certificates, …), each with its own
daily cap and closed days, all inside the building-wide cap. Booked citizens hold their
place until the walk-in release time; before it a walk-in (or an officer admission that
uses a slot) may take only places that no unused booking of today holds — per service and
overall. After it, no-shows release their places.

Pure: counts and time are passed in. The same :func:`walkin_places` gives the decision's
``places_held`` refusal and the "places for walk-ins now" figure on the screens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.domain.clock import minute_of_day, weekday_name

GENERAL_SERIES = "A"
"""Queue-number series of admissions without a configured service."""


@dataclass(frozen=True)
class ServiceRule:
    """One configured service: ``[services.CODE]`` in the configuration."""

    code: str
    name: str
    daily_cap: int
    closed_days: frozenset[str] = frozenset()

    def open_on(self, now: datetime, zone: ZoneInfo) -> bool:
        return weekday_name(now, zone) not in self.closed_days


def service_key(code: str | None) -> str:
    """The canonical (upper-case, trimmed) form of a service code; ``""`` for none."""
    return (code or "").strip().upper()


def find_service(services: tuple[ServiceRule, ...], code: str | None) -> ServiceRule | None:
    """The configured service for ``code`` (case-insensitive), or ``None`` (general)."""
    key = service_key(code)
    if not key:
        return None
    return next((s for s in services if s.code == key), None)


def queue_series(rule: ServiceRule | None) -> str:
    """The queue-number series: the service code, or :data:`GENERAL_SERIES`."""
    return rule.code if rule is not None else GENERAL_SERIES


def format_queue_number(series: str, number: int) -> str:
    """``KTP-EL-007``: series, dash, the day's number with at least three digits."""
    return f"{series}-{number:03d}"


def holding(release_minute: int | None, now: datetime, zone: ZoneInfo) -> bool:
    """Whether booked places are still held at ``now`` (``None``: never held)."""
    return release_minute is not None and minute_of_day(now, zone) < release_minute


@dataclass(frozen=True)
class Places:
    """What is free for walk-ins now: overall and in one service (``None``: no service)."""

    overall: int
    service: int | None = None

    @property
    def now(self) -> int:
        return self.overall if self.service is None else min(self.overall, self.service)


def walkin_places(
    *,
    cap: int,
    used: int,
    held: int,
    rule: ServiceRule | None = None,
    service_used: int = 0,
    held_service: int = 0,
    holding_now: bool,
) -> Places:
    """Places a walk-in may take now. ``held``/``held_service`` count today's unused
    bookings (overall / in ``rule``'s service); they only count while ``holding_now``."""
    held_all = held if holding_now else 0
    overall = max(0, cap - used - held_all)
    if rule is None:
        return Places(overall)
    held_here = held_service if holding_now else 0
    return Places(overall, max(0, rule.daily_cap - service_used - held_here))


def held_total(held: Mapping[str, int]) -> int:
    return sum(held.values())
