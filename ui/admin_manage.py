"""Admin pages that change things: settings (cap, threshold, hours, retention) and users.

Settings are validated by the one configuration schema and applied to the
running kiosk at once (:meth:`kiosk.services.runtime.Kiosk.save_settings`, which hands
the new effective configuration to every component); another process sharing the
database picks a change up within ``SETTINGS_RECHECK_S`` (it compares the settings'
version).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request
from flask_babel import gettext as _

from kiosk.config import DAYS
from kiosk.errors import InputError
from kiosk.services import settings as settings_service
from kiosk.services.accounts import ROLES
from ui.helpers import kiosk
from ui.labels import SETTINGS as LABELS
from ui.labels import error_text
from ui.security import accounts, requires, user

bp = Blueprint("admin_manage", __name__, url_prefix="/admin")


def init_settings(app: Flask) -> None:
    """Every request first picks up settings changed by another process (one look per 10 s)."""

    def refresh() -> None:
        app.extensions["kiosk"].refresh_settings()

    app.before_request(refresh)


def _form_changes() -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for setting in settings_service.EDITABLE:
        if setting.kind == "days":
            changes[setting.key] = [d for d in DAYS if d in request.form.getlist(setting.key)]
        elif setting.key in request.form:
            changes[setting.key] = request.form[setting.key].strip()
    return changes


@bp.route("/settings", methods=["GET", "POST"])
@requires("admin")
def settings() -> Any:

    k = kiosk()
    error = None
    status = 200
    if request.method == "POST":
        try:
            k.save_settings(_form_changes(), who=user().username, now=k.gate.clock())
        except InputError as exc:
            error, status = error_text(exc), 400
        else:
            flash(_("Settings saved and applied."), "ok")
            return redirect("/admin/settings", code=303)
    values = {
        s.key: settings_service.current_value(k.config, s.key) for s in settings_service.EDITABLE
    }
    if error:
        values.update(_form_changes())
    return render_template(
        "admin/settings.html",
        settings=settings_service.EDITABLE,
        values=values,
        days=DAYS,
        error=error,
        file_config=k.base_config or k.config,
        current_value=settings_service.current_value,
        labels=LABELS,
    ), status


@bp.get("/users")
@requires("admin")
def users() -> str:
    found = accounts().users()
    locked = {u.username for u in found if accounts().locked_out(u.username)}
    return render_template("admin/users.html", users=found, roles=ROLES, locked=locked)


def _done(message: str) -> Any:
    flash(message, "ok")
    return redirect("/admin/users", code=303)


def _failed(exc: InputError) -> Any:
    flash(error_text(exc), "error")
    return redirect("/admin/users", code=303)


@bp.post("/users")
@requires("admin")
def add_user() -> Any:
    form = request.form
    try:
        if form.get("password", "") != form.get("password2", ""):
            raise InputError(_("The two passwords differ."))
        created = accounts().add_user(
            form.get("username", ""),
            form.get("role", ""),
            form.get("password", ""),
            actor=user().username,
        )
    except InputError as exc:
        return _failed(exc)
    return _done(_("User %(name)s added.", name=created.username))


@bp.post("/users/<username>/disable")
@requires("admin")
def disable_user(username: str) -> Any:
    try:
        accounts().set_disabled(username, True, actor=user().username)
    except InputError as exc:
        return _failed(exc)
    return _done(_("User %(name)s disabled.", name=username))


@bp.post("/users/<username>/enable")
@requires("admin")
def enable_user(username: str) -> Any:
    try:
        accounts().set_disabled(username, False, actor=user().username)
    except InputError as exc:
        return _failed(exc)
    return _done(_("User %(name)s enabled.", name=username))


@bp.post("/users/<username>/password")
@requires("admin")
def reset_password(username: str) -> Any:
    form = request.form
    try:
        if form.get("password", "") != form.get("password2", ""):
            raise InputError(_("The two passwords differ."))
        accounts().set_password(username, form.get("password", ""), actor=user().username)
    except InputError as exc:
        return _failed(exc)
    return _done(_("Password of %(name)s reset; their sessions ended.", name=username))


@bp.post("/users/<username>/role")
@requires("admin")
def change_role(username: str) -> Any:
    try:
        accounts().set_role(username, request.form.get("role", ""), actor=user().username)
    except InputError as exc:
        return _failed(exc)
    return _done(_("Role of %(name)s changed.", name=username))


@bp.post("/users/<username>/unlock")
@requires("admin")
def unlock_user(username: str) -> Any:
    """Forget the user's failed logins: every client may try again at once."""
    try:
        accounts().unlock(username, actor=user().username)
    except InputError as exc:
        return _failed(exc)
    return _done(_("User %(name)s unlocked: failed logins forgotten.", name=username))
