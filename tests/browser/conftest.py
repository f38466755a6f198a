"""Browser tests: Debian's Chromium driven by Playwright against a real ``kiosk run --sim``.

No ``playwright install`` (no downloads): the system Chromium at ``/usr/bin/chromium``
(or ``$KIOSK_CHROMIUM``). Where it is missing the tests skip with the reason; under
``CI=true`` they fail instead (``.ci/run`` installs it). One browser and one server per
session; every test gets a fresh browser context (cookies, language) and page.
Screenshots go to ``test-output/screenshots/`` (or ``$KIOSK_TEST_OUTPUT/screenshots``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.server import LiveKiosk, start_kiosk
from tests.datadir import ROOT, in_ci

CHROMIUM = Path(os.environ.get("KIOSK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # as the kiosk's managed policy allows
]
OUTPUT = Path(os.environ.get("KIOSK_TEST_OUTPUT", ROOT / "test-output")) / "screenshots"
LANDSCAPE = {"width": 800, "height": 480}
ONLINE_URL = "https://antrian.example.go.id"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium (deselect with -m 'not browser')")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        message = (
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set KIOSK_CHROMIUM)"
        )
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[LiveKiosk]:
    """The session's server: generous threads, since every closed page's stream lingers
    until its next heartbeat shows the client gone."""
    server = start_kiosk(
        tmp_path_factory.mktemp("live") / "data",
        server={"threads": 32},
        site={"office_name": "Disdukcapil Kabupaten Sragen", "online_booking_url": ONLINE_URL},
    )
    yield server
    server.stop()


@pytest.fixture
def open_screen(browser: Any) -> Iterator[Callable[..., Any]]:
    """``open_screen(live, path="/", viewport=…)`` → a page showing the citizen screen,
    its event stream connected."""
    contexts: list[Any] = []

    def opener(server: LiveKiosk, path: str = "/", viewport: dict[str, int] | None = None) -> Any:
        context = browser.new_context(viewport=viewport or LANDSCAPE, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        page.goto(server.url + path)
        page.wait_for_selector("#screen[data-connection='ok']", state="attached")
        return page

    yield opener
    for context in contexts:
        context.close()


def shoot(page: Any, name: str) -> Path:
    """Save a screenshot of the page under the test output folder."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path))
    return path
