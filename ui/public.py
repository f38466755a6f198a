"""Public routes: the citizen screen, its live event stream, health and today's status.

The server decides and words everything; the citizen page only shows what the
event stream (``/api/events``, see :mod:`ui.events`) tells it, in the
language of the page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import segno
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import format_date, format_decimal, get_locale, gettext
from markupsafe import Markup

from kiosk.domain.admission import Kind
from kiosk.domain.reasons import Outcome, Reason
from kiosk.errors import StorageError
from kiosk.messages import display_message, staff_message
from kiosk.serve import is_local
from kiosk.services.gate import GateResult
from kiosk.services.runtime import Kiosk
from ui.events import HEARTBEAT_S, MAX_AGE_S, Event, EventHub, stream_limit
from ui.helpers import kiosk, lang
from ui.security import public

bp = Blueprint("public", __name__)

RESULT_SECONDS = 8
"""How long the citizen screen shows a result before it returns to the idle screen."""
LANGUAGE_RESET_SECONDS = 90
"""After this long without a visitor, a screen switched to English returns to Indonesian."""


@bp.record_once
def _start_events(state: BlueprintSetupState) -> None:
    """One event hub per app, fed by the gate and stopped when the kiosk closes."""
    app = state.app
    k: Kiosk = app.extensions["kiosk"]
    hub = EventHub(
        app.config.get("KIOSK_EVENT_STREAMS") or stream_limit(k.config.server.threads),
        heartbeat_s=app.config.get("KIOSK_EVENT_HEARTBEAT_S", HEARTBEAT_S),
        max_age_s=app.config.get("KIOSK_EVENT_MAX_AGE_S", MAX_AGE_S),
        local_slots=stream_limit(k.config.server.local_threads)
        if k.config.server.local_port
        else 0,
    )
    hub.attach(k.gate)
    k.background.append(hub)
    app.extensions["kiosk_events"] = hub


def events_hub() -> EventHub:
    return current_app.extensions["kiosk_events"]  # type: ignore[no-any-return]


@bp.get("/")
@public
def index() -> str:
    k = kiosk()
    return render_template(
        "kiosk.html",
        screen=screen_today(k),
        office_name=k.config.site.office_name,
        online_url=k.config.site.online_booking_url,
        online_qr=qr_svg(k.config.site.online_booking_url),
        recheck_text=display_message(Reason.TEMPERATURE_RECHECK, None, lang()),
        closed_text=display_message(Reason.CLOSED_HOURS, None, lang()),
        result_seconds=RESULT_SECONDS,
        language_reset_seconds=LANGUAGE_RESET_SECONDS,
        sound_volume=k.config.site.sound_volume,
        voice_prompts=VOICE_PROMPTS,
        sim=k.simulator is not None,
    )


@bp.get("/api/events")
@public
def events() -> Any:
    """Server-Sent Events for the citizen screen: ``today``, ``phase`` and ``result``."""
    hub = events_hub()
    sub = hub.subscribe(local=is_local(request.environ))
    if sub is None:
        return (
            jsonify(error="too many live screens are open; the page retries by itself"),
            503,
            {"Retry-After": "10"},
        )
    k = kiosk()
    chosen = lang()

    def render(event: Event) -> tuple[str, dict[str, Any]] | None:
        return render_event(k, event, chosen)

    body = stream_with_context(
        hub.stream(sub, render, lambda: ("today", screen_today(k)), day=k.gate.business_day)
    )
    response = Response(body, mimetype="text/event-stream")
    response.call_on_close(lambda: hub.unsubscribe(sub))  # also when never iterated
    response.headers["Cache-Control"] = "no-cache, no-store"
    response.headers["X-Accel-Buffering"] = "no"
    return response


@bp.get("/healthz")
@public
def healthz() -> Any:
    """Liveness and state for systemd's watchdog, the doctor and monitoring.

    Answers 200 whenever the web server works (the watchdog must not restart a
    kiosk that is deliberately in safe or degraded mode); ``status`` says which.
    """
    k = kiosk()
    try:
        db_ok = k.db.integrity_ok()
        database = "ok" if db_ok else "integrity check failed"
    except StorageError as exc:
        db_ok, database = False, str(exc)
    try:
        cal = k.gate.last_calibration()
    except StorageError:
        cal = None
    devices = k.device_status()
    if k.safe_mode is not None:
        status = "safe_mode"
    elif k.gate.partition.degraded or not db_ok:
        status = "degraded"
    elif not k.in_service():
        status = "out_of_service"
    else:
        status = "ok"
    return jsonify(
        status=status,
        database=database,
        mode=k.config.hardware.mode,
        gate_id=k.config.site.gate_id,
        scanner=k.scanner_status(),
        devices=devices,
        attendance=k.attendance.status_json() if k.attendance else {"status": "disabled"},
        printer=k.receipts.status() if k.receipts else {"status": "none"},
        calibration=None if cal is None else k.gate.screening.calibration_status(),
        safe_mode=k.safe_mode.as_json() if k.safe_mode is not None else None,
        partition=k.gate.partition.status() if k.gate.partition.enabled else None,
        clock=k.gate.clock_guard.status(),
        alerts=k.alerts(),
    ), 200


@bp.get("/api/today")
@public
def today() -> Any:
    return jsonify(kiosk().gate.today())


# -- what the screen shows (worded here, in the request's language) -----------------------


def screen_today(k: Kiosk) -> dict[str, Any]:
    """The idle screen's live part: date, count against the cap, full/closed, in service.

    Never fails for the citizen screen's sake: a count the database cannot give now
    (degraded, unreachable) is shown as unknown.
    """
    try:
        t = k.gate.today()
    except StorageError:
        t = k.gate.today_without_counts()
    day = date.fromisoformat(t["date"])
    admitted = t.get("admitted")
    out_of_service = bool(t.get("out_of_service"))
    return {
        "date": t["date"],
        "date_text": format_date(day, DATE_PATTERNS.get(str(get_locale()), "full")),
        "admitted": admitted,
        "cap": t["cap"],
        "count_text": gettext(
            "Today: %(admitted)s / %(cap)s admitted",
            admitted="–" if admitted is None else format_decimal(admitted),
            cap=format_decimal(t["cap"]),
        ),
        "full": bool(t.get("full")),
        "open": bool(t["open"]),
        "services_text": services_text(t),
        "walkin_text": ""
        if t.get("walkin_places") is None
        else gettext(
            "Places for walk-ins now: %(places)s", places=format_decimal(t["walkin_places"])
        ),
        "scanner": k.scanner_status()["status"],
        "in_service": not out_of_service,
    }


def services_text(t: dict[str, Any]) -> str:
    """What is still open today, per service ("Perekaman KTP-el: 2 left · KK: closed today")."""
    parts = []
    for s in (t.get("services") or {}).values():
        if not s["open"]:
            parts.append(gettext("%(name)s: closed today", name=s["name"]))
        elif s["remaining"] == 0:
            parts.append(gettext("%(name)s: full", name=s["name"]))
        else:
            left = format_decimal(s["remaining"])
            parts.append(gettext("%(name)s: %(left)s left", name=s["name"], left=left))
    return " · ".join(parts)


def render_event(k: Kiosk, event: Event, chosen: str) -> tuple[str, dict[str, Any]] | None:
    """An event as ``(SSE event name, data)`` for a screen in language ``chosen``."""
    if event.kind == "phase":
        phase, progress = event.data
        return "phase", {"phase": phase, "progress": round(100 * progress)}
    if event.kind == "interim":
        text = display_message(event.data, None, chosen)
        return "phase", {"phase": "recheck", "progress": 0, "message": text}
    if event.kind == "result":
        return "result", screen_result(k, event.data, chosen)
    if event.kind == "today":
        return "today", screen_today(k)
    return None


DATE_PATTERNS = {"id": "EEEE, d MMMM y"}
"""The idle screen's date where the locale's "full" one reads oddly ("Selasa, 01 Desember")."""

RETRY_REASONS = frozenset({Reason.NO_READING})
"""Results the visitor can fix by trying again at once: amber "try again", not a refusal."""


def qr_svg(url: str | None) -> Markup | None:
    """The online booking address as an inline SVG QR code (drawn here; nothing fetched)."""
    if not url:
        return None
    try:
        code = segno.make(url, error="m", micro=False)
    except (segno.DataOverflowError, ValueError):
        return None
    svg = code.svg_inline(scale=1, border=4, omitsize=True, svgclass="qr", light="#ffffff")
    return Markup(svg)


VOICE_PROMPTS = ("admitted", "denied", "refer", "retry")
"""The spoken prompts (ui/static/sounds/voice/<lang>/<tone>.wav, made by tools/make_voice.py),
one per result tone; the screen plays the page language's after the tone."""


def tone(result: GateResult) -> str:
    """How the screen shows a result: ``admitted``, ``denied``, ``refer`` or ``retry``."""
    if result.decision.reason in RETRY_REASONS:
        return "retry"
    return result.decision.outcome.value


def headline(tone_: str) -> str:
    """The one word above a result, readable from a distance."""
    words = {
        "admitted": gettext("ENTER"),
        "denied": gettext("REFUSED"),
        "refer": gettext("SEE THE OFFICER"),
        "retry": gettext("TRY AGAIN"),
    }
    return str(words[tone_])


def screen_result(k: Kiosk, result: GateResult, chosen: str) -> dict[str, Any]:
    d = result.decision
    reading = result.reading
    temperature = None
    # A temperature is health data: the public screen shows it only to reassure
    # those who are let in, never next to a refusal.
    if d.outcome is Outcome.ADMITTED and reading is not None and reading.estimated_c is not None:
        temperature = gettext(
            "Temperature %(value)s °C", value=format_decimal(reading.estimated_c, "0.0")
        )
    shown = tone(result)
    screen: dict[str, Any] = {
        "decision": d.outcome.value,
        "code": d.reason.value,
        "tone": shown,
        "headline": headline(shown),
        "message": display_message(d.reason, d.detail, chosen),
        "temperature": temperature,
        "queue_number": result.queue_number
        if d.outcome is Outcome.ADMITTED and result.queue_number
        else None,
        "queue_text": gettext("Your number: %(number)s", number=result.queue_number)
        if d.outcome is Outcome.ADMITTED and result.queue_number
        else None,
        "entry_id": result.entry_id,
        "kind": result.kind.value,
        "today": screen_today(k),
    }
    if result.kind is Kind.STAFF:
        # The greeting: the name only to an admitted staff member, with the mark's local time.
        local = result.ts.astimezone(k.config.site.zone).time()
        detail = {key: d.detail[key] for key in ("mark", "name") if key in d.detail}
        if d.outcome is not Outcome.ADMITTED:
            detail.pop("name", None)
        screen["detail"] = detail
        screen["message"] = staff_message(d.reason, detail, local, chosen)
    return screen
