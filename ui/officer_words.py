"""The officer console's words for stored codes: outcome, reason, kind and priority reason.

The database and the API keep the codes (``refer`` · ``fever``); the console shows them as
short words in the page's language ("Ke petugas · suhu tinggi"). Every code of the enums has
a word (tests/test_officer_console.py checks), so a new reason cannot appear raw.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

from kiosk.domain.admission import Kind, PriorityReason
from kiosk.domain.reasons import Outcome, Reason

_l = lazy_gettext

OUTCOMES = {
    Outcome.ADMITTED: _l("Admitted"),
    Outcome.DENIED: _l("Refused"),
    Outcome.REFER: _l("To the officer"),
}

REASONS = {
    Reason.ADMITTED: _l("booking"),
    Reason.READMITTED: _l("re-entry"),
    Reason.WALKIN: _l("walk-in"),
    Reason.PRIORITY: _l("priority"),
    Reason.STAFF: _l("staff"),
    Reason.CLOSED_HOURS: _l("outside opening hours"),
    Reason.QR_INVALID: _l("not a booking code"),
    Reason.BOOKING_UNKNOWN: _l("booking not found"),
    Reason.BOOKING_CANCELLED: _l("booking cancelled"),
    Reason.BOOKING_WRONG_OFFICE: _l("booking for another office"),
    Reason.BOOKING_WRONG_DATE: _l("booking for another day"),
    Reason.BOOKING_USED: _l("booking already used"),
    Reason.BAD_SIGNATURE: _l("code not genuine"),
    Reason.KEY_UNKNOWN: _l("unknown signing key"),
    Reason.KEY_REVOKED: _l("revoked signing key"),
    Reason.UNSUPPORTED_VERSION: _l("unsupported code version"),
    Reason.SENSOR_FAULT: _l("thermometer fault"),
    Reason.NO_READING: _l("no reading"),
    Reason.AMBIENT_OUT_OF_RANGE: _l("room temperature out of range"),
    Reason.TEMPERATURE_RECHECK: _l("measuring again"),
    Reason.FEVER: _l("high temperature"),
    Reason.CAP_REACHED: _l("daily quota full"),
    Reason.SERVICE_CLOSED: _l("service closed today"),
    Reason.SERVICE_FULL: _l("service full"),
    Reason.PLACES_HELD: _l("places held for bookings"),
    Reason.TOO_EARLY: _l("too early"),
    Reason.REENTRY_TOO_SOON: _l("re-entry too soon"),
    Reason.REENTRY_LIMIT: _l("re-entries used up"),
    Reason.CANNOT_RECORD: _l("could not record"),
    Reason.DEGRADED: _l("database offline"),
    Reason.OUT_OF_SERVICE: _l("gate out of service"),
    Reason.SAFE_MODE: _l("safe mode"),
    Reason.CLOCK_UNCONFIRMED: _l("date not confirmed"),
    Reason.LIVENESS_FAILED: _l("face not verified"),
    Reason.OFFICER_DENIED: _l("denied by the officer"),
}

KINDS = {
    Kind.BOOKING: _l("booking"),
    Kind.WALKIN: _l("walk-in"),
    Kind.PRIORITY: _l("priority"),
    Kind.STAFF: _l("staff"),
}

PRIORITY_REASONS = {
    PriorityReason.TNI_POLRI: _l("TNI/Polri registration"),
    PriorityReason.MEDICAL_BPJS: _l("Medical / BPJS"),
    PriorityReason.ELDERLY_DISABLED: _l("Elderly or disabled"),
    PriorityReason.OTHER: _l("Other (write why)"),
}


def words() -> dict[str, dict[str, str]]:
    """Every code's word in the request's language, for the page (a JSON island)."""
    return {
        "outcome": {str(k): str(v) for k, v in OUTCOMES.items()},
        "reason": {str(k): str(v) for k, v in REASONS.items()},
        "kind": {str(k): str(v) for k, v in KINDS.items()},
        "priority": {str(k): str(v) for k, v in PRIORITY_REASONS.items()},
    }


__all__ = ["KINDS", "OUTCOMES", "PRIORITY_REASONS", "REASONS", "words"]
