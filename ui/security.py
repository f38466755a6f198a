"""Who may call what: route roles, login sessions, CSRF tokens and security headers.

Every view declares its role with ``@public`` or ``@requires("officer"|"admin")``
(an admin may do what an officer may). A view without a declaration is
refused (fail closed) and a test enumerating ``app.url_map`` fails for it.

Per request, in this order:

1. **CSRF** — every POST/PUT/PATCH/DELETE carries the session's token, in the
   form field ``csrf_token`` or the header ``X-CSRF-Token``; without it: 400.
   A multipart body (an upload) is read for its form field only after the
   role check passed on the session cookie alone.
   This includes the public simulator API (``/api/sim/*``): its page reads
   the token from ``GET /api/csrf``. Flask has no CSRF protection built in.
2. **Session** — Flask's signed cookie holds only a random session id and the
   CSRF token; the session row in the database says who it belongs to, and
   ends at logout, after 15 idle minutes, after ``session_max_hours``, or when
   the user is disabled or their password reset. Requests sent with the
   header ``X-Kiosk-Poll: 1`` (the console's background refresh) do not count
   as activity.
3. **Role** — before the first administrator exists every officer/admin URL
   leads to the setup page. Anonymous: HTML pages redirect to the login page,
   JSON/API requests get 401. Wrong role: 403.

Every response carries a Content-Security-Policy without inline script,
``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` and
``X-Frame-Options: DENY``; officer and admin responses are never cached.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, g, jsonify, redirect, request, session
from flask.sessions import SecureCookieSessionInterface

from kiosk.services.accounts import (
    SETUP_CODE_FILE,
    Accounts,
    Identity,
    forget_setup_code,
    load_secret_key,
    setup_code,
)

log = logging.getLogger(__name__)

ROLES = ("public", "officer", "admin")
ROLE_ATTR = "_kiosk_role"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
POLL_HEADER = "X-Kiosk-Poll"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

F = TypeVar("F", bound=Callable[..., Any])


# -- role declarations ------------------------------------------------------
def public(view: F) -> F:
    """Anyone, including the citizen touchscreen, may call this view."""
    setattr(view, ROLE_ATTR, "public")
    return view


def requires(role: str) -> Callable[[F], F]:
    """Only a logged-in user with ``role`` (an admin may do what an officer may)."""
    if role not in ROLES or role == "public":
        raise ValueError(f"unknown role {role!r}; use @public or one of officer/admin")

    def mark(view: F) -> F:
        setattr(view, ROLE_ATTR, role)
        return view

    return mark


def role_of(view: Callable[..., Any] | None) -> str | None:
    """The role a view declared, or ``None`` when it declared none."""
    return getattr(view, ROLE_ATTR, None) if view is not None else None


# -- helpers for views and templates ----------------------------------------
def accounts() -> Accounts:
    from flask import current_app

    return current_app.extensions["kiosk_accounts"]  # type: ignore[no-any-return]


def current_user() -> Identity | None:
    who = g.get("user")
    return who if isinstance(who, Identity) else None


def user() -> Identity:
    """The logged-in user of a view that declared a role (never ``None`` there)."""
    who = current_user()
    if who is None:  # pragma: no cover - the role check runs first
        raise RuntimeError("no logged-in user")
    return who


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def start_session(identity: Identity) -> None:
    """Log ``identity`` in: the old session (and its CSRF token) is discarded entirely."""
    session.clear()
    session["sid"] = accounts().open_session(identity)
    session["csrf"] = secrets.token_urlsafe(32)
    g.user = identity


def end_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str):
        who = current_user()
        accounts().close_session(sid, actor=who.username if who else None)
    session.clear()
    g.user = None


def wants_json() -> bool:
    if "/api/" in request.path or request.path in ("/healthz",) or request.is_json:
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login (never another site).

    Browsers drop tabs and line breaks from a URL and read ``\\`` as ``/``, so
    ``/\t/evil.example`` would become ``//evil.example`` (another host): any
    control character, white space, backslash or ``//`` is refused outright.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None
    if "\\" in target or "//" in target.split("?", 1)[0]:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    return target


# -- wiring -----------------------------------------------------------------
class _SessionInterface(SecureCookieSessionInterface):
    """Cookie sessions whose Secure flag follows the request (https) or the config flag."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def init_app(app: Flask) -> None:
    kiosk = app.extensions["kiosk"]
    cfg = kiosk.config.security
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = load_secret_key(kiosk.config.data_dir)
    app.config.update(
        SESSION_COOKIE_NAME="kiosk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.secure_cookies,
    )
    app.session_interface = _SessionInterface()
    app.extensions["kiosk_accounts"] = Accounts(
        kiosk.db,
        lambda: kiosk.gate.clock(),
        idle_timeout=timedelta(minutes=cfg.idle_timeout_minutes),
        max_age=timedelta(hours=cfg.session_max_hours),
    )
    if app.extensions["kiosk_accounts"].needs_setup():
        log.warning(
            "no administrator yet: open /setup and enter the code in %s "
            "(or run `kiosk users add NAME --role admin`)",
            kiosk.config.data_dir / SETUP_CODE_FILE,
        )
        setup_code(kiosk.config.data_dir)
    else:
        forget_setup_code(kiosk.config.data_dir)  # an administrator exists: the code is void
    app.before_request(_load_user)
    app.before_request(_check_csrf)
    app.before_request(_check_role)
    app.after_request(_add_headers)
    app.context_processor(lambda: {"csrf_token": csrf_token, "current_user": current_user})


def _refuse(status: int, message: str) -> Any:
    if wants_json():
        return jsonify(error=message), status
    return Response(message, status=status, mimetype="text/plain")


def _check_csrf() -> Any:
    if request.method not in UNSAFE_METHODS or request.endpoint in (None, "static"):
        return None
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    # An upload is parsed (held in memory) only for a session that holds the role:
    # the role comes from the cookie, so nobody else makes the server read the body.
    if (
        not given
        and request.mimetype == "multipart/form-data"
        and (refused := _check_role()) is not None
    ):
        return refused
    if not given:
        given = request.form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not given
        or not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
    ):
        log.warning("CSRF token missing or wrong: %s %s", request.method, request.path)
        return _refuse(400, "missing or invalid CSRF token — reload the page and try again")
    return None


def _load_user() -> None:
    g.user = None
    sid = session.get("sid")
    if not isinstance(sid, str):
        return
    touch = request.headers.get(POLL_HEADER) != "1"
    identity = accounts().session_identity(sid, touch=touch)
    if identity is None:
        session.pop("sid", None)  # ended, idle or expired: the CSRF token may stay
        return
    g.user = identity


def _check_role() -> Any:
    from flask import current_app

    if request.endpoint is None or request.endpoint == "static":
        return None  # 404s and static files
    role = role_of(current_app.view_functions.get(request.endpoint))
    if role == "public":
        return None
    if role is None:  # fail closed: a view that forgot to declare its role
        log.error("route %s declares no role: refused", request.endpoint)
        return _refuse(403, "this page declares no access role — refused")
    if accounts().needs_setup():
        if wants_json():
            return jsonify(error="no administrator yet — open /setup first"), 401
        return redirect("/setup")
    who = current_user()
    if who is None:
        if wants_json():
            return jsonify(error="login required"), 401
        target = request.full_path.rstrip("?") if request.method == "GET" else request.path
        return redirect("/login?" + urlencode({"next": target}))
    if not who.may(role):
        return _refuse(403, f"this page needs the {role} role")
    return None


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(("/officer", "/admin", "/login", "/setup")):
        response.headers["Cache-Control"] = "no-store"
    return response
