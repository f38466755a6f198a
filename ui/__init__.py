"""The kiosk's web interface (Flask). Views are thin: parse, call one service, render."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from kiosk.errors import AlreadyDecided, DriverError, InputError, KioskError
from kiosk.services.runtime import Kiosk

log = logging.getLogger(__name__)


def create_app(kiosk: Kiosk, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.json = _JSON(app)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, JSON_SORT_KEYS=False)
    if test_config:
        app.config.update(test_config)
    app.extensions["kiosk"] = kiosk

    from ui import i18n, public, sim, staffpin

    i18n.init_app(app)

    app.register_blueprint(public.bp)
    app.register_blueprint(sim.bp)
    app.register_blueprint(staffpin.bp)
    _register_errors(app)
    _init_staff(app)
    app.context_processor(_banner)
    return app


class _JSON(DefaultJSONProvider):
    """Flask's JSON, except that a body nested too deeply for the parser is a bad request
    (a ValueError, which ``request.get_json`` turns into 400), not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _banner() -> dict[str, Any]:
    """The banner every page shows while the kiosk is not fully itself (safe/degraded mode)."""
    from flask_babel import gettext

    kiosk = app_kiosk()
    if kiosk.safe_mode is not None:
        text = gettext(
            "Safe mode: the database is damaged. Officers admit by hand; see the officer console."
        )
    elif kiosk.gate.partition.degraded:
        text = gettext("Offline: the shared database is unreachable. Please see the officer.")
    else:
        text = None
    return {"kiosk_banner": text}


def app_kiosk() -> Kiosk:
    from flask import current_app

    return current_app.extensions["kiosk"]  # type: ignore[no-any-return]


def _init_staff(app: Flask) -> None:
    """Login, sessions, CSRF, headers and role checks; the officer console and admin pages."""
    from ui import admin, admin_export, auth, officer, security

    security.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(officer.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_export.bp)  # the Excel export reads admin's log filter
    admin.init_app(app)
    from ui import staff  # staff attendance admin pages (registers its blueprint)

    staff.init_app(app)


def _wants_json() -> bool:
    return "/api/" in request.path or request.path == "/healthz"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(InputError)
    def bad_input(exc: InputError) -> Any:
        return jsonify(error=str(exc)), 400

    @app.errorhandler(AlreadyDecided)
    def already_decided(exc: AlreadyDecided) -> Any:
        return jsonify(error=str(exc), already_decided=True), 409

    @app.errorhandler(KioskError)
    @app.errorhandler(DriverError)
    def kiosk_error(exc: KioskError | DriverError) -> Any:
        log.error("%s: %s", type(exc).__name__, exc)
        return jsonify(error=str(exc)), 503

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if _wants_json():
            return jsonify(error=exc.description), exc.code or 500
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return jsonify(error="internal error — see the kiosk log"), 500
