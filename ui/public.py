"""Public routes: the citizen page, health and today's status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from ui.helpers import kiosk, lang
from ui.security import public

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def index() -> str:
    k = kiosk()
    return render_template("kiosk.html", today=k.gate.today(), sim=k.simulator is not None)


@bp.get("/healthz")
@public
def healthz() -> Any:
    k = kiosk()
    db_ok = k.db.integrity_ok()
    status = "ok" if db_ok else "degraded"
    cal = k.gate.last_calibration()
    return jsonify(
        status=status,
        database="ok" if db_ok else "integrity check failed",
        mode=k.config.hardware.mode,
        gate_id=k.config.site.gate_id,
        scanner=k.scanner_status(),
        calibration=None
        if cal is None
        else {"date": cal.ts.date().isoformat(), "operator": cal.operator, "pairs": cal.pairs},
    ), 200


@bp.get("/api/today")
@public
def today() -> Any:
    return jsonify(kiosk().gate.today())


@bp.get("/api/last")
@public
def last() -> Any:
    k = kiosk()
    result = k.gate.last_result
    return jsonify(
        result=result.as_json(lang()) if result else None,
        scanner=k.scanner_status()["status"],
    )
