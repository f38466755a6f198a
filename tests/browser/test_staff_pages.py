"""Officer console and admin pages in Chromium, on the real server: override, undo, log, CSV."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import shoot
from tests.browser.server import LiveKiosk

PASSWORD = "batik parang kencana 1987"


def add_user(live: LiveKiosk, name: str, role: str) -> None:
    """`kiosk users add` against the running server's data folder."""
    kiosk_bin = str(Path(sys.executable).with_name("kiosk"))
    config = str(live.config.source)
    result = subprocess.run(
        [kiosk_bin, "users", "add", name, "--role", role, "--password-stdin", "--config", config],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def staff(live: LiveKiosk) -> LiveKiosk:
    add_user(live, "admin1", "admin")
    add_user(live, "petugas1", "officer")
    return live


@pytest.fixture
def login(browser: Any, staff: LiveKiosk) -> Iterator[Callable[[str, str], Any]]:
    """``login(user, path)`` → a page logged in as ``user`` showing ``path``."""
    contexts: list[Any] = []

    def open_as(user: str, path: str) -> Any:
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        contexts.append(context)
        page = context.new_page()
        page.goto(staff.url + path)
        assert "/login" in page.url  # anonymous: sent to the login page first
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(staff.url + path + "*")
        return page

    yield open_as
    for context in contexts:
        context.close()


def admitted_today(live: LiveKiosk) -> int:
    return int(requests.get(live.url + "/api/today", timeout=10).json()["admitted"])


def test_officer_admits_a_referred_visitor_anyway(
    staff: LiveKiosk, login: Callable[[str, str], Any], open_screen: Callable[..., Any]
) -> None:
    page = login("petugas1", "/officer")
    screen = open_screen(staff)
    referred = staff.present(staff.add_booking(), 39.4)
    assert referred["code"] == "fever"
    card = f"#referrals .referral[data-entry-id='{referred['entry_id']}']"
    page.wait_for_selector(card)
    shoot(page, "officer-console-referral")
    page.click(f"{card} button.reason[data-reason='medical_bpjs']")
    page.wait_for_selector("#officer-message.ok")
    assert page.inner_text("#officer-message").startswith("#")
    screen.wait_for_selector("#screen[data-outcome='admitted']")
    assert screen.inner_text("#result-message") == "Silakan masuk."
    page.wait_for_selector(card, state="detached")
    shoot(page, "officer-console-admitted-anyway")


def test_officer_undoes_an_admission_and_the_slot_returns(
    staff: LiveKiosk, login: Callable[[str, str], Any]
) -> None:
    page = login("petugas1", "/officer")
    admitted = staff.present(staff.add_booking(), 36.5)
    assert admitted["code"] == "admitted"
    used = admitted_today(staff)
    row = f"#entries-body li[data-entry-id='{admitted['entry_id']}']"
    page.click(f"{row} button.undo")
    page.fill("#undo-reason", "salah orang")
    page.click("#undo-submit")
    page.wait_for_selector(f"{row}.undone")
    assert "petugas1" in page.inner_text(f"{row} .entry-note")
    assert admitted_today(staff) == used - 1
    shoot(page, "officer-console-undone")


def test_admin_filters_the_log_and_exports_csv(
    staff: LiveKiosk, login: Callable[[str, str], Any]
) -> None:
    staff.present(staff.add_booking(), 39.6)  # at least one referral today
    staff.present(staff.add_booking(), 36.6)  # and one admission
    page = login("admin1", "/admin/log")
    assert page.locator("#log-table tbody tr").count() >= 2
    page.select_option("#filter-outcome", "refer")
    page.click("#filter-submit")
    page.wait_for_url("**outcome=refer**")
    classes = page.eval_on_selector_all(
        "#log-table tbody tr[data-entry-id]", "rows => rows.map(r => r.className)"
    )
    assert classes and all(c.startswith("outcome-refer") for c in classes)
    shoot(page, "admin-log-filtered")
    with page.expect_download() as waiting:
        page.click("#export-csv")
    download = waiting.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheets
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + len(classes)  # header + the filtered rows only
    assert all(",refer," in line for line in lines[1:])
    assert download.suggested_filename.endswith(".csv")
