"""Simulator routes (sim mode only; 404 otherwise): present a code, set the temperature."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request

from kiosk.services.runtime import NoCodeInView, simulate_present
from kiosk.storage import repository as repo
from ui.helpers import json_body, kiosk, lang, number, text
from ui.security import public

bp = Blueprint("sim", __name__)

MAX_QR_CHARS = 1200


@bp.before_request
def sim_only() -> None:
    if kiosk().simulator is None:
        abort(404)


@bp.get("/sim")
@public
def panel() -> str:
    k = kiosk()
    assert k.simulator is not None
    return render_template("sim.html", faults=k.simulator.faults, today=k.gate.today())


@bp.post("/api/sim/present")
@public
def present() -> Any:
    data = json_body()
    qr = text(data, "qr", max_len=MAX_QR_CHARS)
    assert qr is not None
    body_c = number(data, "temperature_c", 20.0, 45.0, required=False)
    ambient_c = number(data, "ambient_c", 0.0, 50.0, required=False)
    distance = number(data, "distance_cm", 0.5, 300.0, required=False)
    recheck_c = number(data, "recheck_temperature_c", 20.0, 45.0, required=False)
    recheck_distance = number(data, "recheck_distance_cm", 0.5, 300.0, required=False)
    key = text(data, "idempotency_key", max_len=100, required=False)
    key = key or request.headers.get("Idempotency-Key") or None
    try:
        result = simulate_present(
            kiosk(),
            qr,
            body_c,
            ambient_c=ambient_c,
            idempotency_key=key,
            distance_cm=distance,
            recheck_c=recheck_c,
            recheck_distance_cm=recheck_distance,
        )
    except NoCodeInView as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(result.as_json(lang()))


@bp.post("/api/sim/fault")
@public
def fault() -> Any:
    data = json_body()
    name = text(data, "fault", max_len=40, required=False)
    count = number(data, "count", 1, 1000, required=False)
    sim = kiosk().simulator
    assert sim is not None
    sim.inject_fault(name or None, int(count) if count else None)
    return jsonify(ok=True, fault=name or None)


@bp.get("/api/sim/state")
@public
def state() -> Any:
    k = kiosk()
    assert k.simulator is not None
    day = date.fromisoformat(k.gate.today()["date"])
    bookings = repo.bookings_on(k.db.connection(), k.config.site.office_id, day)
    return jsonify(
        simulator=k.simulator.state(),
        bookings=[{"id": b.id, "service": b.service, "status": b.status} for b in bookings],
    )
