"""Words for the codes the staff pages show: outcomes, reasons, kinds, weekdays, audit actions.

The database keeps the codes (``refer``, ``fever``, ``setting_changed``); a page shows
the words in its language: ``{{ r.reason|label('reason') }}`` → "Suhu tinggi". A code
without a label (one added later) is shown as it is, never hidden.

Errors the services raise in English carry their catalog message
(:class:`kiosk.errors.LocalizedInputError`, :class:`kiosk.services.settings.SettingsInvalid`):
:func:`error_text` words them in the page's language; the command line keeps the English.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from kiosk.domain.admission import Kind, PriorityReason
from kiosk.domain.reasons import Outcome, Reason
from kiosk.errors import LocalizedInputError
from kiosk.services import settings as settings_service

OUTCOMES: dict[str, Any] = {
    Outcome.ADMITTED: _l("Admitted"),
    Outcome.DENIED: _l("Denied"),
    Outcome.REFER: _l("Referred"),
}

REASONS: dict[str, Any] = {
    Reason.ADMITTED: _l("valid booking"),
    Reason.READMITTED: _l("re-entry"),
    Reason.WALKIN: _l("walk-in"),
    Reason.PRIORITY: _l("priority service"),
    Reason.STAFF: _l("staff"),
    Reason.CLOSED_HOURS: _l("office closed"),
    Reason.QR_INVALID: _l("not a booking code"),
    Reason.BOOKING_UNKNOWN: _l("booking not found"),
    Reason.BOOKING_CANCELLED: _l("booking cancelled"),
    Reason.BOOKING_WRONG_OFFICE: _l("booking for another office"),
    Reason.BOOKING_WRONG_DATE: _l("booking for another day"),
    Reason.BOOKING_USED: _l("booking already used"),
    Reason.BAD_SIGNATURE: _l("code not genuine"),
    Reason.KEY_UNKNOWN: _l("unknown signing key"),
    Reason.KEY_REVOKED: _l("signing key revoked"),
    Reason.UNSUPPORTED_VERSION: _l("unsupported code version"),
    Reason.SENSOR_FAULT: _l("thermometer fault"),
    Reason.NO_READING: _l("no reading"),
    Reason.AMBIENT_OUT_OF_RANGE: _l("room too hot or cold"),
    Reason.TEMPERATURE_RECHECK: _l("measured again"),
    Reason.FEVER: _l("elevated temperature"),
    Reason.CAP_REACHED: _l("daily quota reached"),
    Reason.SERVICE_CLOSED: _l("service closed today"),
    Reason.SERVICE_FULL: _l("service quota reached"),
    Reason.PLACES_HELD: _l("places held for bookings"),
    Reason.TOO_EARLY: _l("too early"),
    Reason.REENTRY_TOO_SOON: _l("re-entry too soon"),
    Reason.REENTRY_LIMIT: _l("re-entry limit reached"),
    Reason.CANNOT_RECORD: _l("could not record"),
    Reason.DEGRADED: _l("gate offline"),
    Reason.OUT_OF_SERVICE: _l("gate out of service"),
    Reason.SAFE_MODE: _l("safe mode"),
    Reason.CLOCK_UNCONFIRMED: _l("date not confirmed"),
    Reason.LIVENESS_FAILED: _l("face not verified"),
    Reason.OFFICER_DENIED: _l("denied by the officer"),
}

KINDS: dict[str, Any] = {
    Kind.BOOKING: _l("Booking"),
    Kind.WALKIN: _l("Walk-in"),
    Kind.PRIORITY: _l("Priority"),
    Kind.STAFF: _l("Staff"),
}

PRIORITY_REASONS: dict[str, Any] = {
    PriorityReason.TNI_POLRI: _l("TNI/Polri registration"),
    PriorityReason.MEDICAL_BPJS: _l("Medical / BPJS"),
    PriorityReason.ELDERLY_DISABLED: _l("Elderly or disabled"),
    PriorityReason.OTHER: _l("Other"),
}

WEEKDAYS: dict[str, Any] = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}

ROLES: dict[str, Any] = {"officer": _l("Officer"), "admin": _l("Administrator")}

AUDIT_ACTIONS: dict[str, Any] = {
    "setting_changed": _l("Setting changed"),
    "admission_undone": _l("Admission undone"),
    "admit_walkin": _l("Walk-in admitted"),
    "admit_priority": _l("Priority admitted"),
    "admit_booking": _l("Admitted by the officer"),
    "remeasure": _l("Measured again"),
    "clinical_reading": _l("Clinical reading"),
    "referral_confirmed": _l("Referral confirmed"),
    "referral_decided": _l("Referral decided"),
    "referral_denied": _l("Referral denied"),
    "confirm_date": _l("Date confirmed"),
    "entry_log_viewed": _l("Visit log viewed"),
    "entries_exported": _l("Visits exported"),
    "daily_report_viewed": _l("Daily report viewed"),
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "login_locked": _l("Login locked"),
    "setup_admin_created": _l("First administrator created"),
    "user_added": _l("User added"),
    "user_disabled": _l("User disabled"),
    "user_enabled": _l("User enabled"),
    "user_role": _l("Role changed"),
    "user_unlocked": _l("User unlocked"),
    "password_reset": _l("Password reset"),
    "retention_purge": _l("Old entries deleted"),
    "offline_reconciled": _l("Offline entries reconciled"),
    "calibrate": _l("Thermometer calibrated"),
    "attendance_report": _l("Attendance report viewed"),
    "staff_added": _l("Staff member added"),
    "staff_deleted": _l("Staff member deleted"),
    "face_enrolled": _l("Face enrolled"),
    "face_consent_withdrawn": _l("Face consent withdrawn"),
    "roster_imported": _l("Duty roster imported"),
    "pin_set": _l("PIN set"),
    "pin_cleared": _l("PIN removed"),
    "clock_jump": _l("Clock jumped"),
    "clock_unconfirmed": _l("Date not confirmed"),
    "clock_confirmed": _l("Date confirmed"),
    "clock_resolved": _l("Clock problem resolved"),
}

SETTINGS: dict[str, Any] = {
    "admission.daily_cap": _l("Daily cap (citizens per day)"),
    "admission.fever_threshold_c": _l("Fever threshold (°C)"),
    "admission.opens": _l("Opens (HH:MM)"),
    "admission.closes": _l("Closes (HH:MM)"),
    "admission.open_days": _l("Open days"),
    "admission.undo_window_minutes": _l("Undo window (minutes)"),
    "retention.days": _l("Keep citizen entries (days)"),
}

CHECKS: dict[str, Any] = {
    "clock": _l("clock"),
    "disk": _l("disk"),
    "database": _l("database"),
}

ALERTS: dict[str, Any] = {
    "safe_mode": _l("Safe mode"),
    "device_missing": _l("Device missing: gate closed"),
    "device_optional": _l("Optional device missing"),
    "clock_unconfirmed": _l("Date not confirmed"),
    "clock_jump": _l("Clock jumped"),
    "degraded": _l("Shared database unreachable"),
    "cannot_record": _l("Cannot record"),
    "disk_low": _l("Disk almost full"),
    "disk_full": _l("Disk almost full"),
    "disk_unreadable": _l("Disk unreadable"),
    "login_locked": _l("Logins locked"),
    "printer_fault": _l("Receipt printer not printing"),
    "calibration_rejected": _l("Calibration not used"),
    "ambient_drift": _l("Thermometer runs warm"),
}

DEVICES: dict[str, Any] = {
    "thermometer": _l("thermometer"),
    "camera": _l("camera"),
    "gpio": _l("gate relay, lights and buzzer"),
    "inputs": _l("officer button"),
}

PHOTO_REJECTIONS: dict[str, Any] = {
    "unreadable": _l("photo unreadable"),
    "no_face": _l("no face found"),
    "several_faces": _l("several faces"),
    "face_too_small": _l("face too small"),
    "too_blurred": _l("too blurred"),
    "different_people": _l("different people"),
    "already_enrolled": _l("already enrolled"),
}

SERVICE_STATES: dict[str, Any] = {
    "ok": _l("working"),
    "disabled": _l("switched off"),
    "unavailable": _l("unavailable"),
    "starting": _l("starting"),
}

GROUPS: dict[str, dict[str, Any]] = {
    "photo": PHOTO_REJECTIONS,
    "state": SERVICE_STATES,
    "alert": ALERTS,
    "device": DEVICES,
    "outcome": OUTCOMES,
    "reason": REASONS,
    "kind": KINDS,
    "priority": PRIORITY_REASONS,
    "weekday": WEEKDAYS,
    "role": ROLES,
    "audit": AUDIT_ACTIONS,
    "setting": SETTINGS,
    "check": CHECKS,
}


def label(code: Any, group: str) -> str:
    """The words for ``code`` in ``group`` (the code itself when it has none)."""
    if code is None or code == "":
        return ""
    found = GROUPS[group].get(str(code))
    return str(found) if found is not None else str(code)


def alert_title(alert: dict[str, Any]) -> str:
    """An alert's short title in the page's language (the message stays the detail)."""
    title = label(alert.get("code"), "alert")
    if alert.get("device"):
        title = f"{title}: {label(alert['device'], 'device')}"
    return title


_GATE = re.compile(r"^gate[-_ ]?(\d+)$", re.IGNORECASE)


def gate_name(gate_id: str | None) -> str:
    """``gate-1`` → "Gerbang 1" / "Gate 1"; any other gate id as it is."""
    m = _GATE.match(gate_id or "")
    return _("Gate %(n)s", n=int(m.group(1))) if m else (gate_id or "")


def setting_value(key: str, value: Any) -> str:
    """A setting's value for a page: weekdays as words, numbers as they are."""
    if isinstance(value, list | tuple):
        return ", ".join(label(v, "weekday") for v in value) if value else "—"
    return str(value)


def audit_details(action: str, subject: str | None, details: str | None) -> str:
    """What an audit row's details say, with a setting change as "old → new"."""
    if action == "setting_changed" and subject:
        change = settings_service.changed_values(details)
        if change is not None:
            old, new = change
            return f"{setting_value(subject, old)} → {setting_value(subject, new)}"
    return details or ""


def audit_subject(action: str, subject: str | None) -> str:
    """The audit row's subject; a setting's key as its label."""
    if action == "setting_changed" and subject in SETTINGS:
        return str(SETTINGS[subject])
    return subject or ""


# -- errors the services raise in English -----------------------------------------------
SCHEMA_ERRORS: dict[str, Any] = {
    "greater_than_equal": _l("must be at least {ge}"),
    "greater_than": _l("must be more than {gt}"),
    "less_than_equal": _l("must be at most {le}"),
    "less_than": _l("must be less than {lt}"),
    "int_parsing": _l("must be a whole number"),
    "int_from_float": _l("must be a whole number"),
    "float_parsing": _l("must be a number"),
    "too_short": _l("choose at least {min_length}"),
}


def error_text(exc: Exception) -> str:
    """``exc``'s message in the page's language when its catalog message is known."""
    if isinstance(exc, settings_service.SettingsInvalid) and exc.problems:
        parts = []
        for field, kind, ctx, _input, english in exc.problems:
            name = label(field, "setting")
            template = SCHEMA_ERRORS.get(kind)
            if template is not None:
                values = {k: _number(v) for k, v in ctx.items()}
                parts.append(f"{name}: {str(template).format_map(_Values(values))}")
            else:
                invalid = _("invalid value")
                parts.append(f"{name}: {invalid} ({english})")
        return "; ".join(parts)
    if isinstance(exc, LocalizedInputError):
        return str(_(exc.template)).format(**exc.params)
    return str(exc)


def _number(value: Any) -> Any:
    """A bound in the page's number format (39,5 in Indonesian)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_decimal(value)
    return value


class _Values(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def init_app(app: Flask) -> None:
    app.add_template_filter(label, "label")
    app.add_template_filter(gate_name, "gate_name")
    app.add_template_global(audit_details, "audit_details")
    app.add_template_global(audit_subject, "audit_subject")
    app.add_template_global(setting_value, "setting_value")
