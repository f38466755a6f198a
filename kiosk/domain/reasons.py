"""The fixed enumeration of gate outcomes and reason codes.

Tests and clients assert on these codes, never on wording. Codes are stable
strings: they are stored in the database and returned by the HTTP API.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the gate does."""

    ADMITTED = "admitted"
    """Gate opens."""
    DENIED = "denied"
    """Gate stays closed; the visitor is told why."""
    REFER = "refer"
    """Gate stays closed; the visitor is sent to the officer (health or device reason)."""


class Reason(StrEnum):
    """Why the gate decided what it did. See ``kiosk.domain.admission`` for precedence."""

    # admitted
    ADMITTED = "admitted"
    READMITTED = "readmitted"
    """Same booking admitted earlier today, within the re-entry window: no new slot."""
    WALKIN = "walkin"
    """Officer-entered walk-in; uses a slot."""
    PRIORITY = "priority"
    """Officer override with a priority reason; slot use configurable."""
    STAFF = "staff"
    """Recognised staff member; never uses a citizen slot."""

    # denied or referred
    CLOSED_HOURS = "closed_hours"
    QR_INVALID = "qr_invalid"
    """Text that is not a booking code at all (junk, binary, oversized)."""
    BOOKING_UNKNOWN = "booking_unknown"
    BOOKING_CANCELLED = "booking_cancelled"
    BOOKING_WRONG_OFFICE = "booking_wrong_office"
    BOOKING_WRONG_DATE = "booking_wrong_date"
    BOOKING_USED = "booking_used"
    BAD_SIGNATURE = "bad_signature"
    KEY_UNKNOWN = "key_unknown"
    KEY_REVOKED = "key_revoked"
    UNSUPPORTED_VERSION = "unsupported_version"
    SENSOR_FAULT = "sensor_fault"
    NO_READING = "no_reading"
    """No person in front of the thermometer (reading outside the skin window): step closer."""
    AMBIENT_OUT_OF_RANGE = "ambient_out_of_range"
    TEMPERATURE_RECHECK = "temperature_recheck"
    """First elevated estimate: wait and measure again."""
    MOVE_CLOSER = "move_closer"
    """Interim only (nothing stored): the forehead is too far to fill the view — come closer."""
    MOVE_BACK = "move_back"
    """Interim only: the forehead is closer than the working range — a little back."""
    FEVER = "fever"
    """Elevated temperature confirmed: see the officer."""
    CAP_REACHED = "cap_reached"
    SERVICE_CLOSED = "service_closed"
    """The visit's service does not run today (its ``closed_weekdays``)."""
    SERVICE_FULL = "service_full"
    """The visit's service has used its own daily cap."""
    PLACES_HELD = "places_held"
    """Before the walk-in release time, every free place is held by a booking not yet used."""
    TOO_EARLY = "too_early"
    """A booking scanned before its arrival window (minus the grace): come back later."""
    REENTRY_TOO_SOON = "reentry_too_soon"
    """The same booking scanned again within ``reentry_min_minutes`` of its admission."""
    REENTRY_LIMIT = "reentry_limit"
    """The booking has used its re-entries for today (``reentries_per_day``)."""
    CANNOT_RECORD = "cannot_record"
    """The decision could not be stored: the gate stays closed."""
    DEGRADED = "degraded"
    """The shared database is unreachable and this gate's reserved slots are used up (or the
    code cannot be checked offline): see the officer."""
    OUT_OF_SERVICE = "out_of_service"
    """A device the gate needs (thermometer, gate outputs, camera) is missing or not
    answering: the gate stays closed and refers every citizen until it answers again."""
    SAFE_MODE = "safe_mode"
    """The database is damaged: automatic admission is off, officers admit manually."""
    CLOCK_UNCONFIRMED = "clock_unconfirmed"
    """The business date is not trusted (unsynchronised or jumped clock): an officer confirms it."""
    LIVENESS_FAILED = "liveness_failed"
    OFFICER_DENIED = "officer_denied"
