"""Shared fixtures: a kiosk on a temporary data folder with simulated hardware."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk
from tests.pg import pg_server, pg_url  # noqa: F401  (fixtures: a real PostgreSQL server)

FAST_MEASUREMENT = {
    "sample_hz": 1000.0,
    "settle_s": 0.0,
    "stable_window": 2,
    "recheck_pause_s": 0.0,
}


class FakeClock:
    """A settable UTC clock for the gate service."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB, a Monday

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make_kiosk(tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    """``make_kiosk(admission={...}, clock=FakeClock())`` → a started sim kiosk."""
    started: list[Kiosk] = []

    def factory(*, clock: Callable[[], datetime] | None = None, **sections: Any) -> Kiosk:
        folder = tmp_path / f"data{len(started)}"
        config = load_config(init_data_dir(folder))
        # Fast sampling: the simulated sensor is steady at once; the policy itself is tested apart.
        sections["temperature"] = {**FAST_MEASUREMENT, **sections.get("temperature", {})}
        if "clock_section" in sections:  # `clock` is the fake wall clock argument
            sections["clock"] = sections.pop("clock_section")
        config = config.replace(**sections)
        kiosk = Kiosk.start(config)
        if clock is not None:
            kiosk.gate.clock = clock
        started.append(kiosk)
        return kiosk

    yield factory
    for kiosk in started:
        kiosk.close()


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk()


class WebClient(FlaskClient):
    """A test client that sends the session's CSRF token with every POST/PUT/PATCH/DELETE,
    as the pages' scripts do (``X-CSRF-Token``). ``csrf=False`` sends none."""

    def open(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        method = str(kwargs.get("method", "GET")).upper()
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE") and args:
            with self.session_transaction() as sess:
                token = sess.setdefault("csrf", secrets.token_urlsafe(32))
            kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "X-CSRF-Token": token}
        return super().open(*args, **kwargs)


def web_client(kiosk: Kiosk, **config: Any) -> Any:
    """A CSRF-aware test client of a new app on ``kiosk``."""
    from ui import create_app

    app = create_app(kiosk, {"TESTING": True, **config})
    app.test_client_class = WebClient
    return app.test_client()


STAFF_PASSWORD = "correct horse battery staple"


def login(client: Any, username: str, password: str = STAFF_PASSWORD) -> Any:
    """Log in through the real login form; returns the response (302 on success)."""
    return client.post("/login", data={"username": username, "password": password})


def add_staff(kiosk: Kiosk, username: str, role: str, password: str = STAFF_PASSWORD) -> None:
    from kiosk.services.accounts import Accounts

    Accounts(kiosk.db, kiosk.gate.clock).add_user(username, role, password, actor="test")


@pytest.fixture
def client(kiosk: Kiosk) -> Any:
    return web_client(kiosk)


@pytest.fixture
def admin_client(kiosk: Kiosk) -> Any:
    """Logged in as ``admin`` (role admin; password :data:`STAFF_PASSWORD`)."""
    add_staff(kiosk, "admin", "admin")
    c = web_client(kiosk)
    assert login(c, "admin").status_code == 302
    return c


@pytest.fixture
def officer_client(kiosk: Kiosk, admin_client: Any) -> Any:
    """Logged in as ``officer`` (role officer); an administrator exists too (no setup page)."""
    add_staff(kiosk, "officer", "officer")
    c = web_client(kiosk)
    assert login(c, "officer").status_code == 302
    return c
