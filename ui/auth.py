"""Login, logout and the one-time setup of the first administrator.

Login flow: ``GET /login?next=/officer`` shows the form; ``POST /login`` with
``username``, ``password``, ``next`` and ``csrf_token`` starts a fresh
session and redirects to ``next`` (or the user's home: ``/officer`` or
``/admin``). A refused login always gets the same message, whether the name
exists, the password is wrong, the account is disabled or locked out.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request
from flask_babel import gettext as _

from kiosk.errors import InputError
from kiosk.services.accounts import (
    SETUP_CODE_FILE,
    Identity,
    LoginBusy,
    LoginRefused,
    forget_setup_code,
    setup_code,
)
from ui.helpers import kiosk
from ui.labels import error_text
from ui.security import (
    accounts,
    csrf_token,
    current_user,
    end_session,
    public,
    safe_next,
    start_session,
)

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def _home(role: str) -> str:
    return "/admin" if role == "admin" else "/officer"


@bp.get("/api/csrf")
@public
def csrf() -> Any:
    """The session's CSRF token for script clients (send it as ``X-CSRF-Token``)."""
    return jsonify(csrf_token=csrf_token())


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if accounts().needs_setup():
        return redirect("/setup")
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        who = current_user()
        if who is not None:
            return redirect(target or _home(who.role))
        return render_template("auth/login.html", next=target or "", error=None)
    username = request.form.get("username", "")
    try:
        identity = accounts().authenticate(
            username, request.form.get("password", ""), remote=request.remote_addr
        )
    except LoginBusy:
        return (
            render_template(
                "auth/login.html",
                next=target or "",
                error=_("Too many logins at this moment. Please try again in a few seconds."),
                username=username,
            ),
            429,
            {"Retry-After": "5"},
        )
    except LoginRefused:
        return render_template(
            "auth/login.html",
            next=target or "",
            error=_(
                "Wrong user name or password, or too many failed attempts (then wait 15 minutes)."
            ),
            username=username,
        ), 401
    start_session(identity)
    return redirect(target or _home(identity.role))


@bp.post("/logout")
@public
def logout() -> Any:
    end_session()
    return redirect("/login")


@bp.route("/setup", methods=["GET", "POST"])
@public
def setup() -> Any:
    if not accounts().needs_setup():
        return redirect("/login")
    data_dir = kiosk().config.data_dir
    code_file = SETUP_CODE_FILE  # the page never shows where the data folder is
    setup_code(data_dir)  # make sure the file exists
    if request.method == "GET":
        return render_template("auth/setup.html", error=None, code_file=code_file)
    form = request.form
    error = None
    try:
        code_ok = accounts().setup_code_ok(
            data_dir, form.get("code", ""), remote=request.remote_addr
        )
    except LoginRefused:
        code_ok = None
    if code_ok is None:
        error = _("Too many wrong setup codes. Wait 15 minutes and try again.")
    elif not code_ok:
        error = _(
            "The setup code is wrong. It is in the file %(path)s in the kiosk's data folder.",
            path=code_file,
        )
    elif form.get("password", "") != form.get("password2", ""):
        error = _("The two passwords differ.")
    else:
        try:
            user = accounts().create_first_admin(form.get("username", ""), form["password"])
        except InputError as exc:
            error = error_text(exc)
        else:
            forget_setup_code(data_dir)
            log.info("first administrator %r created on the setup page", user.username)
            start_session(Identity(user.id, user.username, user.role))
            return redirect("/admin")
    return render_template(
        "auth/setup.html", error=error, code_file=code_file, username=form.get("username", "")
    ), 400
