"""Security: CSRF, headers, templates without inline script, lockout, sessions, setup, cookies."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.accounts import SECRET_KEY_FILE, Accounts
from kiosk.services.runtime import Kiosk
from tests.conftest import STAFF_PASSWORD, FakeClock, add_staff, login, web_client
from tests.security.test_roles import call, routes

UI = Path(__file__).resolve().parents[2] / "ui"
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
SESSION_COOKIE = "kiosk_session"


def page_error(res: Any) -> str:
    m = re.search(r'id="login-error"[^>]*>([^<]*)<', res.get_data(as_text=True))
    return m.group(1) if m else ""


# -- CSRF -------------------------------------------------------------------
def test_every_state_changing_request_without_csrf_token_is_400(
    kiosk: Kiosk, admin_client: Any
) -> None:
    app = admin_client.application
    anonymous = web_client(kiosk)
    anonymous.get("/login")  # has a session (and a token) but does not send it
    checked = 0
    for _endpoint, method, url in routes(app):
        if method not in UNSAFE:
            continue
        for client in (anonymous, admin_client):
            for body in ({"json": {}}, {"data": {"x": "1"}}):
                res = client.open(url, method=method, csrf=False, **body)
                assert res.status_code == 400, (method, url, res.status_code)
            wrong = client.open(url, method=method, csrf=False, headers={"X-CSRF-Token": "no"})
            assert wrong.status_code == 400, (method, url)
        checked += 1
    assert checked >= 12
    # The refused requests changed nothing: the admin is still logged in.
    assert admin_client.get("/admin").status_code == 200


def test_the_form_field_token_from_the_page_is_accepted(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    res = client.post(
        "/login",
        data={"username": "admin", "password": STAFF_PASSWORD, "csrf_token": token.group(1)},
        csrf=False,
    )
    assert res.status_code == 302


def test_script_clients_get_the_token_from_api_csrf(kiosk: Kiosk) -> None:
    client = web_client(kiosk)
    token = client.get("/api/csrf").get_json()["csrf_token"]
    body = {"qr": "BK-NOSUCH01", "temperature_c": 36.6}
    res = client.post("/api/sim/present", json=body, headers={"X-CSRF-Token": token}, csrf=False)
    assert res.status_code == 200
    assert client.post("/api/sim/present", json=body, csrf=False).status_code == 400


# -- headers and templates --------------------------------------------------
def test_security_headers_on_every_response(kiosk: Kiosk, admin_client: Any) -> None:
    anonymous = web_client(kiosk)
    html_pages = 0
    for endpoint, method, url in routes(admin_client.application):
        if method != "GET" or endpoint == "public.events":  # the event stream never ends
            continue
        for client in (anonymous, admin_client):
            res = call(client, "GET", url)
            csp = res.headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
            assert "unsafe-inline" not in csp, url
            assert res.headers.get("X-Content-Type-Options") == "nosniff", url
            assert res.headers.get("Referrer-Policy") == "no-referrer", url
            assert res.headers.get("X-Frame-Options") == "DENY", url
            html_pages += res.mimetype == "text/html"
    assert html_pages >= 10
    assert admin_client.get("/admin").headers["Cache-Control"] == "no-store"
    assert anonymous.get("/no-such-page").headers["X-Frame-Options"] == "DENY"


def templates() -> list[Path]:
    return sorted((UI / "templates").rglob("*.html"))


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(UI)))
def test_no_inline_script_or_event_handler_in_templates(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for tag in re.finditer(r"<script\b([^>]*)>(.*?)</script\s*>", text, re.S | re.I):
        assert "src=" in tag.group(1), f"inline <script> in {path.name}"
        assert tag.group(2).strip() == "", f"code inside <script src> in {path.name}"
    assert text.lower().count("<script") == len(re.findall(r"<script\b[^>]*src=", text, re.I))
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), f"inline event handler in {path.name}"
    assert "javascript:" not in text.lower(), path.name


@pytest.mark.parametrize(
    "path",
    [p for p in templates() if p.parent.name in ("auth", "officer", "admin")],
    ids=lambda p: str(p.relative_to(UI)),
)
def test_staff_templates_have_no_inline_style(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "<style" not in text and not re.search(r"\sstyle\s*=", text), path.name


# -- login, lockout ---------------------------------------------------------
def test_lockout_holds_across_two_app_instances_sharing_one_database(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    clock = FakeClock()
    shared = str(tmp_path / "shared.db")
    gate_a = make_kiosk(clock=clock, paths={"database": shared})
    gate_b = make_kiosk(clock=clock, paths={"database": shared})
    assert gate_a.db.path == gate_b.db.path and gate_a.config.data_dir != gate_b.config.data_dir
    add_staff(gate_a, "admin", "admin")
    add_staff(gate_a, "siti", "officer")
    a, b = web_client(gate_a), web_client(gate_b)
    for n in range(5):  # five wrong passwords, alternating between the two processes
        res = login(a if n % 2 else b, "siti", f"wrong password number {n}")
        assert res.status_code == 401
    refused = login(a, "siti")  # the right password, on the other instance too
    assert refused.status_code == 401
    assert login(b, "siti").status_code == 401
    assert Accounts(gate_b.db, clock).locked_out("siti")
    # A name that does not exist looks exactly the same, locked or not.
    assert page_error(login(a, "nobody", "whatever password")) == page_error(refused)
    assert page_error(login(b, "siti", "wrong again")) == page_error(refused)
    clock.now += timedelta(minutes=15, seconds=1)
    assert login(b, "siti").status_code == 302


def test_unknown_names_lock_out_like_real_ones(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    for _ in range(5):
        login(client, "ghost", "not the password")
    assert Accounts(kiosk.db).locked_out("ghost")
    assert not Accounts(kiosk.db).locked_out("admin")


def test_a_success_resets_the_failure_count(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = make_kiosk(clock=FakeClock())
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    for _ in range(4):
        login(client, "admin", "not the password")
    assert login(client, "admin").status_code == 302
    for _ in range(4):
        login(web_client(kiosk), "admin", "not the password")
    assert login(web_client(kiosk), "admin").status_code == 302


# -- sessions ---------------------------------------------------------------
def session_cookie(client: Any) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return str(cookie.value)


def test_session_is_rotated_at_login(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    token_before = client.get("/api/csrf").get_json()["csrf_token"]
    cookie_before = session_cookie(client)
    assert login(client, "admin").status_code == 302
    token_after = client.get("/api/csrf").get_json()["csrf_token"]
    assert token_after != token_before
    assert session_cookie(client) != cookie_before
    # The pre-login token no longer works.
    res = client.post("/logout", headers={"X-CSRF-Token": token_before}, csrf=False)
    assert res.status_code == 400
    # Two logins of the same user get different sessions.
    other = web_client(kiosk)
    login(other, "admin")
    assert session_cookie(other) != session_cookie(client)


def test_logout_ends_the_session_on_the_server(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    login(client, "admin")
    stolen = session_cookie(client)
    assert client.post("/logout").status_code == 302
    assert client.get("/admin").status_code == 302
    replay = web_client(kiosk)
    replay.set_cookie(SESSION_COOKIE, stolen)
    assert replay.get("/admin").headers["Location"].startswith("/login")


def test_idle_timeout_is_15_minutes_and_polling_does_not_count(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    clock = FakeClock()
    kiosk = make_kiosk(clock=clock)
    add_staff(kiosk, "admin", "admin")
    add_staff(kiosk, "officer", "officer")
    client = web_client(kiosk)
    login(client, "officer")
    clock.now += timedelta(minutes=14)
    assert client.get("/officer").status_code == 200  # a click: activity
    clock.now += timedelta(minutes=14)
    assert client.get("/officer").status_code == 200
    poll = {"X-Kiosk-Poll": "1"}
    clock.now += timedelta(minutes=10)
    assert client.get("/officer/api/today", headers=poll).status_code == 200
    clock.now += timedelta(minutes=5, seconds=1)  # 15 min after the last click
    assert client.get("/officer/api/today", headers=poll).status_code == 401
    assert client.get("/officer").headers["Location"].startswith("/login")


def test_sessions_end_after_the_maximum_age(make_kiosk: Callable[..., Kiosk]) -> None:
    clock = FakeClock()
    kiosk = make_kiosk(clock=clock)
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    login(client, "admin")
    started = clock.now
    while client.get("/admin").status_code == 200:  # clicking every 10 minutes
        clock.now += timedelta(minutes=10)
        assert clock.now - started <= timedelta(hours=12, minutes=10)
    assert clock.now - started > timedelta(hours=12)


def test_disabling_a_user_or_resetting_the_password_ends_their_sessions(
    kiosk: Kiosk, admin_client: Any, officer_client: Any
) -> None:
    assert officer_client.get("/officer").status_code == 200
    admin_client.post(
        "/admin/users/officer/password",
        data={"password": "a new long secret phrase", "password2": "a new long secret phrase"},
    )
    assert officer_client.get("/officer").status_code == 302
    assert login(officer_client, "officer", "a new long secret phrase").status_code == 302
    admin_client.post("/admin/users/officer/disable")
    assert officer_client.get("/officer").status_code == 302
    assert login(officer_client, "officer", "a new long secret phrase").status_code == 401


def test_login_redirects_only_within_the_site(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    for target, expected in (
        ("/admin/log?day=2026-11-23", "/admin/log?day=2026-11-23"),
        ("//evil.example/x", "/admin"),
        ("https://evil.example/", "/admin"),
        ("/\\evil.example", "/admin"),
    ):
        client = web_client(kiosk)
        res = client.post(
            "/login", data={"username": "admin", "password": STAFF_PASSWORD, "next": target}
        )
        assert res.headers["Location"] == expected


def test_officer_lands_on_the_console_and_admin_on_the_admin_pages(
    kiosk: Kiosk, officer_client: Any
) -> None:
    client = web_client(kiosk)
    assert login(client, "admin").headers["Location"] == "/admin"
    client = web_client(kiosk)
    assert login(client, "officer").headers["Location"] == "/officer"
    assert client.get("/login").headers["Location"] == "/officer"  # already logged in


# -- cookies and the secret key ---------------------------------------------
def set_cookie_header(res: Any) -> str:
    return next(v for k, v in res.headers.items() if k == "Set-Cookie" and SESSION_COOKIE in v)


def test_session_cookie_flags(kiosk: Kiosk, make_kiosk: Callable[..., Kiosk]) -> None:
    add_staff(kiosk, "admin", "admin")
    res = login(web_client(kiosk), "admin")
    cookie = set_cookie_header(res)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on the LAN
    client = web_client(kiosk)
    https = "https://kiosk.local"
    token = client.get("/api/csrf", base_url=https).get_json()["csrf_token"]
    res = client.post(
        "/login",
        data={"username": "admin", "password": STAFF_PASSWORD},
        headers={"X-CSRF-Token": token},
        base_url=https,
        csrf=False,
    )
    assert "Secure" in set_cookie_header(res)
    behind_proxy = make_kiosk(security={"secure_cookies": True})
    add_staff(behind_proxy, "admin", "admin")
    assert "Secure" in set_cookie_header(login(web_client(behind_proxy), "admin"))


def test_secret_key_is_generated_once_in_the_data_folder_0600(make_kiosk: Any) -> None:
    from ui import create_app

    kiosk = make_kiosk()
    first = create_app(kiosk).config["SECRET_KEY"]
    path = kiosk.config.data_dir / SECRET_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app(kiosk).config["SECRET_KEY"] == first
    assert len(first) >= 64
    assert first.encode() not in kiosk.db.path.read_bytes()
    path.chmod(0o644)
    assert create_app(kiosk).config["SECRET_KEY"] == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- first run ---------------------------------------------------------------
def test_first_run_setup_creates_the_administrator_once(kiosk: Kiosk) -> None:
    client = web_client(kiosk)
    for url in ("/officer", "/admin", "/admin/users", "/login"):
        assert client.get(url).headers["Location"] == "/setup", url
    assert client.get("/officer/api/today").status_code == 401
    page = client.get("/setup")
    assert page.status_code == 200 and b"setup-code" in page.data
    code = (kiosk.config.data_dir / "setup-code").read_text().strip()
    form = {"username": "kepala", "password": STAFF_PASSWORD, "password2": STAFF_PASSWORD}
    assert client.post("/setup", data={**form, "code": "wrong"}).status_code == 400
    weak = {**form, "password": "password1234", "password2": "password1234", "code": code}
    assert "terlalu umum" in client.post("/setup", data=weak).get_data(as_text=True)
    res = client.post("/setup", data={**form, "code": code})
    assert res.headers["Location"] == "/admin"
    assert client.get("/admin").status_code == 200  # logged in as the new administrator
    assert not (kiosk.config.data_dir / "setup-code").exists()
    # Once there is an administrator the setup page is gone.
    other = web_client(kiosk)
    assert other.get("/setup").headers["Location"] == "/login"
    again = other.post("/setup", data={**form, "username": "intruder", "code": code})
    assert again.headers["Location"] == "/login"
    assert [u.username for u in Accounts(kiosk.db).users()] == ["kepala"]


# -- password rules ------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("a" * 129, "at most 128"),
        ("aaaaaaaaaaaaaaa", "too few different"),
        ("abababababab", "too few different"),
        ("123456789012", "sequence"),
        ("qwertyuiopas", "sequence"),
        ("zyxwvutsrqponm", "sequence"),
        ("password1234", "too common"),
        ("P@ssw0rd2024!", "too common"),
        ("passwordpassword", "too common"),
        ("Indonesia1945!", "too common"),
        ("bismillah12345", "too common"),
        ("siti.rahayu-2024", "user name"),
        ("correct horse battery staple", None),
        ("Pelangi di atas Sragen 7", None),
        ("kopi-tubruk-pagi-hari", None),
    ],
)
def test_password_rules(password: str, problem: str | None) -> None:
    from kiosk.passwords import password_problem

    found = password_problem(password, username="siti.rahayu")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_common_password_list_is_bundled() -> None:
    from kiosk.passwords import common_words

    words = common_words()
    assert len(words) > 300 and "password" in words and "bismillah" in words
