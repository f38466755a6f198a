"""Role matrix: every route of ``app.url_map`` × {anonymous, officer, admin} → expected status.

A route that declares no role fails here (and is refused at run time).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from kiosk.services.runtime import Kiosk
from tests.conftest import web_client
from ui.security import ROLES, role_of, user

SAMPLE_ARGS = {"username": "nobody", "filename": "officer.css"}
SKIP_METHODS = {"HEAD", "OPTIONS"}
LAST = ("auth.logout",)  # logs the client out: run it after everything else


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """``(endpoint, method, url)`` for every rule, sample values for its arguments."""
    found = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<{arg}>", SAMPLE_ARGS.get(arg, "1"))
            for conv in ("int", "string", "path"):
                url = url.replace(f"<{conv}:{arg}>", SAMPLE_ARGS.get(arg, "1"))
        for method in sorted((rule.methods or set()) - SKIP_METHODS):
            found.append((rule.endpoint, method, url))
    return sorted(found, key=lambda r: (r[0] in LAST, r))


def declared_role(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return "public"  # Flask's own static files view: stylesheets, scripts, images
    return role_of(app.view_functions[endpoint])


def allowed(res: Any) -> bool:
    """Reached the view: not refused, not sent to the login or setup page."""
    if res.status_code in (401, 403):
        return False
    location = res.headers.get("Location", "")
    return not (res.status_code == 302 and location.startswith(("/login", "/setup")))


def role_refusal(res: Any) -> bool:
    """The answers of the role check itself (not of a view)."""
    if res.status_code == 403:
        return True
    if res.status_code == 401 and res.is_json:
        return bool(res.get_json().get("error") == "login required")
    return res.status_code == 302 and res.headers["Location"].startswith("/login?next=")


def refused_anonymous(res: Any, method: str, url: str) -> bool:
    """HTML pages send the visitor to the login page; API and JSON requests get 401."""
    if "/api/" in url or method != "GET":  # call() sends every non-GET as JSON
        return res.status_code == 401 and "error" in res.get_json()
    return res.status_code == 302 and res.headers["Location"].startswith("/login?next=")


def call(client: Any, method: str, url: str) -> Any:
    """The response, read and closed (an event stream is closed unread: it never ends)."""
    if method == "GET":
        res = client.get(url, buffered=False)
    else:
        res = client.open(url, method=method, json={})  # with the CSRF token, an empty body
    if res.mimetype != "text/event-stream":
        res.get_data()
    res.close()
    return res


def test_every_route_declares_a_role(admin_client: Any) -> None:
    app = admin_client.application
    missing = [e for e, _, _ in routes(app) if declared_role(app, e) not in ROLES]
    assert missing == [], f"routes without @public/@requires: {missing}"


def test_role_matrix(kiosk: Kiosk, admin_client: Any, officer_client: Any) -> None:
    app = admin_client.application
    anonymous = web_client(kiosk)
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)  # a walk-in is measured at once
    checked = 0
    for endpoint, method, url in routes(app):
        role = declared_role(app, endpoint)
        assert role in ROLES, f"{endpoint} declares no role"
        results = {
            "anonymous": call(anonymous, method, url),
            "officer": call(officer_client, method, url),
            "admin": call(admin_client, method, url),
        }
        where = f"{method} {url} ({endpoint}, role {role})"
        if role == "public":
            # Anyone reaches the view (which may itself answer 401 or redirect, like /login).
            assert not any(role_refusal(r) for r in results.values()), where
        elif role == "officer":
            assert refused_anonymous(results["anonymous"], method, url), where
            assert allowed(results["officer"]), where
            assert allowed(results["admin"]), where  # an admin may do what an officer may
        else:
            assert refused_anonymous(results["anonymous"], method, url), where
            assert results["officer"].status_code == 403, where
            assert allowed(results["admin"]), where
        checked += 1
    assert checked >= 25  # the matrix really covered the officer and admin routes


def test_a_route_without_a_role_is_refused_and_fails_the_matrix(kiosk: Kiosk) -> None:
    client = web_client(kiosk)
    app = client.application
    app.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    assert declared_role(app, "forgotten") is None
    assert client.get("/forgotten").status_code == 403


def test_wrong_role_is_403_and_anonymous_api_is_401(officer_client: Any, kiosk: Kiosk) -> None:
    assert officer_client.get("/admin").status_code == 403
    assert officer_client.get("/admin/log.csv").status_code == 403
    res = web_client(kiosk).get("/officer/api/today")
    assert res.status_code == 401
    assert res.get_json()["error"] == "login required"
    res = web_client(kiosk).get("/admin/log?day=2026-11-23")
    assert res.status_code == 302
    location = urlsplit(res.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": ["/admin/log?day=2026-11-23"]}


@pytest.mark.parametrize("role", ["public", "viewer", ""])
def test_requires_rejects_unknown_roles(role: str) -> None:
    from ui.security import requires

    with pytest.raises(ValueError):
        requires(role)


def test_user_helper_needs_a_login(kiosk: Kiosk) -> None:
    app = web_client(kiosk).application
    with app.test_request_context("/"), pytest.raises(RuntimeError):
        user()
