"""Simulator routes (sim mode only; 404 otherwise): present a code or a staff photo, set the
temperature, inject thermometer faults."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request

from kiosk.errors import InputError
from kiosk.faces.images import decode_photo
from kiosk.services.runtime import NoCodeInView, simulate_present
from kiosk.services.simface import simulate_face
from kiosk.storage import repository as repo
from ui.helpers import json_body, kiosk, lang, number, text
from ui.security import public

bp = Blueprint("sim", __name__)

MAX_QR_CHARS = 1200
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_LISTED_PHOTOS = 200


@bp.before_request
def sim_only() -> None:
    if kiosk().simulator is None:
        abort(404)


@bp.get("/sim")
@public
def panel() -> str:
    k = kiosk()
    assert k.simulator is not None
    return render_template(
        "sim.html",
        faults=k.simulator.faults,
        today=k.gate.today(),
        walkin_body_c=k.simulator.walkin_body_c,
    )


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


@bp.post("/api/sim/body")
@public
def body() -> Any:
    """The panel's body temperature: the person an officer's walk-in places at the sensor."""
    body_c = number(json_body(), "temperature_c", 20.0, 45.0, required=True)
    sim = kiosk().simulator
    assert sim is not None and body_c is not None
    sim.walkin_body_c = body_c
    return jsonify(ok=True, temperature_c=body_c)


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


@bp.post("/api/sim/thermometer")
@public
def thermometer() -> Any:
    """Somebody at ``temperature_c`` (body) in front of the thermometer, or nobody (null);
    optional ``ambient_c``. For the PIN keypad, which measures whoever stands there."""
    data = json_body()
    body_c = number(data, "temperature_c", 20.0, 45.0, required=False)
    ambient_c = number(data, "ambient_c", 0.0, 50.0, required=False)
    sim = kiosk().simulator
    assert sim is not None
    with sim.lock:
        sim.set_body_temperature(body_c, ambient_c)
    return jsonify(ok=True, temperature_c=body_c, ambient_c=sim.ambient_c)


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


def photo_folder() -> Path:
    return Path(kiosk().config.attendance.sim_photos_dir).expanduser()


def folder_photos() -> list[str]:
    """The photos of the configured folder (relative paths, sorted; subfolders searched)."""
    root = photo_folder()
    if not root.is_dir():
        return []
    found = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()
    )
    return found[:MAX_LISTED_PHOTOS]


@bp.get("/api/sim/faces")
@public
def faces() -> Any:
    """The photos the panel can pick from (the folder ``attendance.sim_photos_dir``)."""
    return jsonify(folder=str(photo_folder()), photos=folder_photos())


@bp.post("/api/sim/face")
@public
def face() -> Any:
    """A staff photo in front of the gate camera: multipart ``image`` (JPEG/PNG) or ``photo``
    (a name from ``/api/sim/faces``), optional ``skin_c`` (the forehead's temperature; omitted:
    living skin). Runs the real attendance path; answers ``result`` and ``name``."""
    try:
        skin_c = _skin(request.form.get("skin_c"))
        upload = request.files.get("image")
        if upload is not None and upload.filename:
            rgb = decode_photo(upload.read(), name=upload.filename)
        elif chosen := request.form.get("photo"):
            if chosen not in folder_photos():  # only what the listing offers: no paths
                raise InputError(f"no photo {chosen!r} in the simulator's folder")
            rgb = decode_photo((photo_folder() / chosen).read_bytes(), name=chosen)
        else:
            raise InputError("send a photo: file field 'image' (JPEG or PNG) or 'photo'")
        outcome = simulate_face(kiosk(), rgb, skin_c)
    except InputError as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(outcome.as_json(lang()))


def _skin(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        skin = float(value)
    except ValueError:
        raise InputError("skin_c must be a number (°C)") from None
    if not 0.0 <= skin <= 45.0:
        raise InputError("skin_c must be between 0 and 45 °C")
    return skin
