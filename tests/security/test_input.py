"""Findings 3, 5 and 8: redirects stay on the site, uploads are read only for the right role,
and malformed input is a 400 with a message, never a 500."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from kiosk.services.runtime import Kiosk
from tests.conftest import STAFF_PASSWORD, web_client
from ui.security import safe_next

HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "/ /evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/admin//evil.example",
    "javascript:alert(1)",
    "evil.example",
]


def same_site(location: str | None) -> bool:
    if not location:
        return True
    parts = urlsplit(location)
    return not parts.netloc and not parts.scheme and location.startswith("/")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_refuses_anything_a_browser_could_read_as_another_host(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/officer", "/admin/log?day=2026-01-02&gate=g1", "/"])
def test_safe_next_keeps_paths_of_the_site(target: str) -> None:
    assert safe_next(target) == target


def test_login_never_redirects_to_another_host(admin_client: Any, kiosk: Kiosk) -> None:
    anonymous = web_client(kiosk)
    for target in HOSTILE_NEXT:
        query = "/login?next=" + quote(target, safe="")
        for client in (admin_client, anonymous):
            res = client.get(query)
            assert res.status_code in (200, 302), (target, res.status_code)
            assert same_site(res.headers.get("Location")), (target, res.headers["Location"])
        posted = web_client(kiosk).post(
            "/login", data={"username": "admin", "password": STAFF_PASSWORD, "next": target}
        )
        assert posted.status_code == 302 and same_site(posted.headers["Location"]), target
    # The exact request of the finding, raw on the URL line.
    res = admin_client.get("/login?next=/%09/evil.example")
    assert res.status_code == 302 and res.headers["Location"] == "/admin"


class Exploding(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise AssertionError("the upload was read before the role check")

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0


@pytest.mark.parametrize("who", ["anonymous", "officer"])
def test_an_upload_is_not_read_unless_the_session_holds_the_role(
    who: str, kiosk: Kiosk, officer_client: Any
) -> None:
    client = officer_client if who == "officer" else web_client(kiosk)
    res = client.open(
        "/admin/staff/enroll",
        method="POST",
        csrf=False,
        input_stream=Exploding(),
        content_type="multipart/form-data; boundary=xyz",
        content_length=100 * 2**20,
    )
    assert res.status_code in (302, 401, 403), res.status_code
    if res.status_code == 302:
        assert res.headers["Location"].startswith("/login")


def test_bodies_are_capped_per_route(officer_client: Any) -> None:
    big = {"qr": "x" * (100 * 1024)}
    assert officer_client.post("/api/sim/present", json=big).status_code == 413


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/admin/log?before=%C2%B2", "before must be a whole number"),
        ("/admin/log?after=%D9%A3", "after must be a whole number"),
        ("/admin/audit?before=%C2%B2", "before must be a whole number"),
        ("/admin/log?day=0001-01-01&from=00:00", "day must be between"),
        ("/admin/log?day=9999-12-31&to=23:59", "day must be between"),
        ("/admin/report?day=0001-01-01", "day must be between"),
        ("/admin/log.csv?day=9999-12-31", "day must be between"),
        ("/admin/log.csv?day=2026-01-01&until=9999-12-31", "until must be"),
        ("/admin/staff/report?day=0001-01-01", "day must be between"),
        ("/admin/staff/report?month=0001-01", "month must be between"),
    ],
)
def test_malformed_admin_queries_are_400_not_500(admin_client: Any, url: str, message: str) -> None:
    res = admin_client.get(url)
    assert res.status_code == 400, (url, res.status_code)
    assert message in res.get_data(as_text=True), res.get_data(as_text=True)[:200]


@pytest.mark.parametrize("depth", [2000, 100_000])
def test_deeply_nested_json_is_400(officer_client: Any, depth: int) -> None:
    body = "[" * depth + "]" * depth
    for url in ("/api/sim/present", "/officer/api/confirm-date"):
        res = officer_client.post(url, data=body, content_type="application/json")
        assert res.status_code in (400, 413), (url, res.status_code)
        assert "error" in res.get_json()


def test_line_breaks_in_next_are_400_or_dropped_never_500(admin_client: Any, kiosk: Kiosk) -> None:
    for client in (admin_client, web_client(kiosk)):
        res = client.get("/login?next=/officer%0D%0ASet-Cookie:%20x=1")
        assert res.status_code in (200, 302)
        assert "Set-Cookie: x" not in str(res.headers)
