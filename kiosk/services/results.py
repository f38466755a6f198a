"""What one recorded gate decision looks like to the rest of the kiosk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from kiosk.config import Config
from kiosk.domain.admission import Decision, Kind, Policy, Visit
from kiosk.domain.capacity import ServiceRule
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading
from kiosk.messages import message
from kiosk.storage import Entry


def policy_from(config: Config) -> Policy:
    a = config.admission
    return Policy(
        office_id=config.site.office_id,
        zone=config.site.zone,
        daily_cap=a.daily_cap,
        fever_threshold_c=a.fever_threshold_c,
        reentry_window_minutes=a.reentry_window_minutes,
        priority_uses_slot=a.priority_uses_slot,
        opens_minute=a.minutes("opens"),
        closes_minute=a.minutes("closes"),
        open_days=frozenset(a.open_days),
        recheck_elevated=config.temperature.recheck_elevated,
        services=service_rules(config),
        reentry_min_minutes=a.reentry_min_minutes,
        reentries_per_day=a.reentries_per_day,
        walkin_release_minute=a.release_minute(),
        early_grace_minutes=a.early_grace_minutes,
    )


def service_rules(config: Config) -> tuple[ServiceRule, ...]:
    """The configured services, in code order."""
    return tuple(
        ServiceRule(code, s.name, s.daily_cap, frozenset(s.closed_weekdays))
        for code, s in sorted(config.services.items())
    )


@dataclass(frozen=True)
class GateResult:
    decision: Decision
    entry_id: int | None
    reading: TemperatureReading | None
    business_date: date
    ts: datetime
    kind: Kind
    replayed: bool = False
    offline: bool = False
    """Recorded in the degraded gate's journal (uploaded when the shared database returns)."""
    visit: Visit | None = field(default=None, compare=False, repr=False)
    """The visit as decided (for the referral queue); not part of any API answer."""
    text: str | None = field(default=None, compare=False, repr=False)
    """The booking code's text, when the visit came from a scan (never logged or shown)."""
    queue_number: str | None = None
    """The number given at admission (``KTP-EL-007``; ``A-012`` without a service)."""
    service: str = ""

    def as_json(self, lang: str = "id") -> dict[str, Any]:
        d = self.decision
        reading = self.reading
        return {
            "decision": d.outcome.value,
            "code": d.reason.value,
            "message": message(d.reason, d.detail, lang),
            "message_en": message(d.reason, d.detail, "en"),
            "detail": dict(d.detail),
            "kind": self.kind.value,
            "entry_id": self.entry_id,
            "business_date": self.business_date.isoformat(),
            "ts": self.ts.isoformat(),
            "temperature": None
            if reading is None
            else {
                "state": reading.state.value,
                "object_c": reading.object_c,
                "ambient_c": reading.ambient_c,
                "estimated_c": reading.estimated_c,
                "source": reading.source,
                "distance_cm": reading.distance_cm,
                "first_estimated_c": reading.first.estimated_c if reading.first else None,
                "recheck_trusted": reading.recheck_trusted if reading.first else None,
            },
            "replayed": self.replayed,
            "queue_number": self.queue_number,
            "service": self.service,
        }


def result_from_entry(entry: Entry) -> GateResult:
    """A stored entry answered again (an idempotent retry)."""
    reading = None
    if entry.temp_estimated_c is not None:
        reading = TemperatureReading(
            ReadingState.OK,
            entry.temp_object_c,
            entry.temp_ambient_c,
            entry.temp_estimated_c,
            source=entry.temp_source or "sensor",
        )
    detail = {"reentry": str(entry.reentry)} if entry.reentry else {}
    decision = Decision(
        Outcome(entry.outcome),
        Reason(entry.reason),
        uses_slot=entry.uses_slot,
        detail=MappingProxyType(detail),
    )
    return GateResult(
        decision,
        entry.id,
        reading,
        entry.business_date,
        entry.ts,
        Kind(entry.kind),
        replayed=True,
        queue_number=entry.queue_number,
        service=entry.service,
    )
