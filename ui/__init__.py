"""The kiosk's web interface (Flask). Views are thin: parse, call one service, render."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from kiosk.errors import InputError, KioskError
from kiosk.services.runtime import Kiosk

log = logging.getLogger(__name__)


def create_app(kiosk: Kiosk, test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, JSON_SORT_KEYS=False)
    if test_config:
        app.config.update(test_config)
    app.extensions["kiosk"] = kiosk

    from ui import i18n, public, sim

    i18n.init_app(app)

    app.register_blueprint(public.bp)
    app.register_blueprint(sim.bp)
    _register_errors(app)
    _enforce_roles(app)
    return app


def _enforce_roles(app: Flask) -> None:
    from ui.security import role_of

    @app.before_request
    def check_role() -> Any:
        if request.endpoint is None or request.endpoint == "static":
            return None  # 404s and static files
        role = role_of(app.view_functions.get(request.endpoint))
        if role == "public":
            return None
        if role is None:  # fail closed: a view that forgot to declare its role
            log.error("route %s declares no role: refused", request.endpoint)
            return jsonify(error="this page declares no access role — refused"), 403
        return jsonify(error="login required"), 401


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _register_errors(app: Flask) -> None:
    @app.errorhandler(InputError)
    def bad_input(exc: InputError) -> Any:
        return jsonify(error=str(exc)), 400

    @app.errorhandler(KioskError)
    def kiosk_error(exc: KioskError) -> Any:
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
