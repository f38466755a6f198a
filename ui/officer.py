"""The officer console: today's decisions, admit anyway, deny, undo, walk-in, clinical reading.

Made for a phone on the office LAN. The page polls ``GET /officer/api/today``
(with ``X-Kiosk-Poll: 1``, so polling does not keep an idle session alive);
every action is a JSON POST that calls one gate-service method, which records
it in the audit log with the officer's user name and the time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, jsonify, render_template

from kiosk.domain.admission import PriorityReason
from kiosk.errors import StorageError
from kiosk.services.gate import GateResult
from kiosk.services.runtime import simulate_walkin
from kiosk.storage import entry_log
from ui.helpers import json_body, kiosk, lang, number, parse_day, text
from ui.labels import alert_title
from ui.officer_words import words
from ui.security import requires, user

bp = Blueprint("officer", __name__, url_prefix="/officer")

LIST_LIMIT = 100
PRIORITY_REASONS = [p.value for p in PriorityReason]


@bp.get("")
@requires("officer")
def console() -> str:
    return render_template(
        "officer/console.html",
        today=kiosk().gate.today(),
        reasons=PRIORITY_REASONS,
        words=words(),
        services=kiosk().gate.policy.services,
    )


def _entry_json(row: entry_log.LogRow, pending: set[int], undo_minutes: int) -> dict[str, Any]:
    zone = kiosk().config.site.zone
    local = row.ts.astimezone(zone)
    undo_until = row.ts + timedelta(minutes=undo_minutes)
    undoable = (
        row.outcome == "admitted"
        and row.undone_by is None
        and undo_minutes > 0
        and kiosk().gate.clock() <= undo_until
    )
    return {
        "id": row.id,
        "time": local.strftime("%H:%M:%S"),
        "gate": row.gate_id,
        "kind": row.kind,
        "outcome": row.outcome,
        "reason": row.reason,
        "booking_id": row.booking_id,
        "name": row.name,
        "temperature_c": row.temp_estimated_c,
        "temperature_source": row.temp_source,
        "temperature_first_c": row.temp_first_estimated_c,
        "recheck_trusted": row.temp_recheck_trusted,
        "distance_cm": row.temp_distance_cm,
        "first_distance_cm": row.temp_first_distance_cm,
        "officer": row.officer,
        "note": row.note,
        "uses_slot": row.uses_slot,
        "service": row.service,
        "queue_number": row.queue_number,
        "reentry": row.reentry,
        "undone_by": row.undone_by,
        "undo_reason": row.undo_reason,
        "undoable": undoable,
        "pending": row.id in pending,
    }


@bp.get("/api/today")
@requires("officer")
def today() -> Any:
    k = kiosk()
    status = k.gate.today()
    minutes = k.config.admission.undo_window_minutes
    try:
        rows = entry_log.latest(
            k.db.connection(),
            k.config.site.office_id,
            date.fromisoformat(status["date"]),
            limit=LIST_LIMIT,
        )
    except StorageError:  # degraded or damaged: the alerts say why; keep the console alive
        rows = []
    pending = set(k.gate.pending_referrals())
    return jsonify(
        today=status,
        undo_window_minutes=minutes,
        entries=[_entry_json(r, pending, minutes) for r in rows],
        alerts=[{**a, "title": alert_title(a)} for a in k.alerts()],
        clock=k.gate.clock_guard.status(),
    )


@bp.post("/api/confirm-date")
@requires("officer")
def confirm_date() -> Any:
    """The officer confirms today's business date while the clock is untrusted (audited)."""
    raw = text(json_body(), "date", max_len=10)
    day = parse_day(raw or "", "date")
    k = kiosk()
    k.gate.clock_guard.confirm(day, user().username)
    return jsonify(clock=k.gate.clock_guard.status(), today=k.gate.today())


def _result(result: GateResult) -> Any:
    return jsonify(result.as_json(lang()))


def _entry_id(data: dict[str, Any], *, required: bool = True) -> int | None:
    value = number(data, "entry_id", 1, 2**62, required=required)
    return None if value is None else int(value)


@bp.post("/api/priority")
@requires("officer")
def admit_anyway() -> Any:
    """Admit anyway with a priority reason (optionally for a refused entry, which then closes)."""
    data = json_body()
    reason = text(data, "reason", max_len=40)
    note = text(data, "note", max_len=200, required=False) or None
    entry_id = _entry_id(data, required=False)
    assert reason is not None
    result = kiosk().gate.admit_priority(user().username, reason, note=note, entry_id=entry_id)
    return _result(result)


@bp.post("/api/deny")
@requires("officer")
def deny() -> Any:
    """Confirm the refusal of a referred visitor (they do not enter)."""
    data = json_body()
    entry_id = _entry_id(data)
    assert entry_id is not None
    note = text(data, "note", max_len=200, required=False) or None
    kiosk().gate.deny_referral(entry_id, user().username, note)
    return jsonify(ok=True, entry_id=entry_id)


@bp.post("/api/undo")
@requires("officer")
def undo() -> Any:
    data = json_body()
    entry_id = _entry_id(data)
    assert entry_id is not None
    reason = text(data, "reason", max_len=200)
    assert reason is not None
    returned = kiosk().gate.undo_admission(entry_id, user().username, reason)
    return jsonify(ok=True, entry_id=entry_id, slot_returned=returned, today=kiosk().gate.today())


@bp.post("/api/walkin")
@requires("officer")
def walkin() -> Any:
    """A walk-in citizen without booking: measured like everyone, uses a slot."""
    data = json_body()
    note = text(data, "note", max_len=200, required=False) or None
    service = text(data, "service", max_len=8, required=False) or None
    k = kiosk()
    if k.simulator is not None:  # someone steps up to the simulated thermometer
        return _result(simulate_walkin(k, user().username, note=note, service=service))
    return _result(k.gate.admit_walkin(user().username, note=note, service=service))


@bp.post("/api/clinical")
@requires("officer")
def clinical() -> Any:
    """The clinical thermometer's value decides a referred visit."""
    data = json_body()
    entry_id = _entry_id(data)
    assert entry_id is not None
    celsius = number(data, "celsius", 30.0, 45.0, required=True)
    assert celsius is not None
    return _result(kiosk().gate.clinical_reading(entry_id, celsius, user().username))
