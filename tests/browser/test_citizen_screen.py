"""The citizen screen in Chromium: idle, live visits over SSE, languages, layout, screenshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date

from tests.browser.conftest import ONLINE_URL, shoot
from tests.browser.server import LiveKiosk, running_kiosk

SIZES = [(800, 480), (1024, 600), (480, 800), (600, 1024)]


@pytest.fixture(scope="module")
def visitor() -> Iterator[ThreadPoolExecutor]:
    """Presents codes in the background while the test watches the screen."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def state(page: Any) -> dict[str, str]:
    return page.evaluate("Object.assign({}, document.getElementById('screen').dataset)")  # type: ignore[no-any-return]


def wait_outcome(page: Any, outcome: str) -> None:
    page.wait_for_selector(f"#screen[data-state='result'][data-outcome='{outcome}']")


def test_idle_screen_shows_office_count_and_pictured_steps(
    live: LiveKiosk, open_screen: Callable[..., Any]
) -> None:
    page = open_screen(live)
    assert page.get_attribute("html", "lang") == "id"
    assert page.inner_text("#office") == "Disdukcapil Kabupaten Sragen"
    assert page.inner_text("#count").startswith("Kuota hari ini: ")
    assert page.inner_text("#count").endswith(" dari 50 terpakai")
    assert page.is_visible("text=Tunjukkan kode QR booking Anda ke kamera")
    pictures = page.eval_on_selector_all(".steps img", "els => els.map(e => e.naturalWidth)")
    assert len(pictures) == 3 and all(w > 0 for w in pictures)
    # Elderly-readable: large type, large touch target, and no way to staff pages.
    body_px = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert body_px >= 28
    box = page.locator("#lang-button").bounding_box()
    assert box["width"] >= 64 and box["height"] >= 64
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert links == ["/?lang=en"]
    assert page.js_errors == []
    shoot(page, "citizen-idle-id-800x480")


def test_admitted_visit_goes_scanning_measuring_result_and_back_to_idle(
    live: LiveKiosk, open_screen: Callable[..., Any], visitor: ThreadPoolExecutor
) -> None:
    page = open_screen(live)
    before = page.inner_text("#count")
    code = live.add_booking()
    decision: Future[dict[str, Any]] = visitor.submit(live.present, code, 36.6)
    page.wait_for_selector("#screen[data-state='measuring']")
    page.wait_for_selector("#progress:not([value='0'])")
    shoot(page, "citizen-measuring")
    wait_outcome(page, "admitted")
    assert decision.result()["code"] == "admitted"
    assert page.inner_text("#result-message") == "Silakan masuk."
    assert page.inner_text("#result-temperature") == "Suhu 36,6 °C"
    assert page.is_visible(".icon-admitted") and not page.is_visible(".icon-denied")
    assert state(page)["sound"] == "admitted"
    assert page.inner_text("#count") != before  # the count moved with the decision
    shoot(page, "citizen-result-admitted")
    page.wait_for_selector("#screen[data-state='idle']", timeout=20_000)  # after a few seconds
    assert page.is_visible("#idle-open")


def test_fever_is_measured_again_then_referred_without_showing_the_number(
    live: LiveKiosk, open_screen: Callable[..., Any], visitor: ThreadPoolExecutor
) -> None:
    page = open_screen(live)
    visitor.submit(live.present, live.add_booking(), 39.2)
    page.wait_for_selector("#recheck-text:visible")
    assert page.inner_text("#recheck-text") == "Mohon tunggu sebentar, suhu akan diukur ulang."
    shoot(page, "citizen-recheck")
    wait_outcome(page, "refer")
    assert page.inner_text("#result-message") == "Suhu tinggi — silakan temui petugas."
    assert not page.is_visible("#result-temperature")
    assert page.is_visible(".icon-refer")
    assert state(page)["sound"] == "refer"
    shoot(page, "citizen-result-fever")


def test_wrong_date_names_the_booking_date_in_local_format(
    live: LiveKiosk, open_screen: Callable[..., Any]
) -> None:
    page = open_screen(live)
    tomorrow = live.today() + timedelta(days=1)
    assert live.present(live.add_booking(days=1))["code"] == "booking_wrong_date"
    wait_outcome(page, "denied")
    expected = (
        f"Booking ini untuk tanggal {format_date(tomorrow, 'long', locale='id')}, bukan hari ini."
    )
    assert page.inner_text("#result-message") == expected
    assert state(page)["sound"] == "denied"
    shoot(page, "citizen-result-wrong-date")


def test_cap_reached_refuses_and_the_idle_screen_says_full(
    tmp_path: Path, open_screen: Callable[..., Any]
) -> None:
    with running_kiosk(
        tmp_path / "capped",
        admission={"daily_cap": 1},
        site={"online_booking_url": ONLINE_URL},
    ) as capped:
        page = open_screen(capped)
        assert not page.is_visible("#idle-full")
        assert capped.present(capped.add_booking())["code"] == "admitted"
        wait_outcome(page, "admitted")
        assert page.inner_text("#count") == "Kuota hari ini: 1 dari 1 terpakai"
        assert capped.present(capped.add_booking())["code"] == "cap_reached"
        page.wait_for_selector("#result-message:has-text('penuh')")
        assert page.inner_text("#result-message") == (
            "Kuota hari ini (1 orang) sudah penuh. Silakan daftar online untuk hari lain."
        )
        shoot(page, "citizen-result-cap-reached")
        page.reload()
        page.wait_for_selector("#screen[data-connection='ok']", state="attached")
        assert page.is_visible("text=Kuota penuh — silakan gunakan layanan online")
        assert page.inner_text("#online-url") == ONLINE_URL
        assert not page.is_visible("#idle-open")
        shoot(page, "citizen-idle-full")


def test_language_button_switches_to_english_and_back(
    live: LiveKiosk, open_screen: Callable[..., Any]
) -> None:
    page = open_screen(live)
    page.click("#lang-button")
    page.wait_for_selector("#screen[data-connection='ok']", state="attached")
    assert page.get_attribute("html", "lang") == "en"
    assert page.is_visible("text=Show your booking QR code to the camera")
    assert page.inner_text("#count").startswith("Today: ")
    assert page.inner_text("#lang-button") == "Bahasa Indonesia"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["lang"] == "en"
    shoot(page, "citizen-idle-en-800x480")
    live.present(live.add_booking(), 36.6)  # the server words the result in English
    wait_outcome(page, "admitted")
    assert page.inner_text("#result-message") == "Please enter."
    assert page.inner_text("#result-temperature") == "Temperature 36.6 °C"
    page.reload()  # the cookie keeps English
    assert page.get_attribute("html", "lang") == "en"
    page.click("#lang-button")
    page.wait_for_selector("html[lang='id']", state="attached")
    assert page.is_visible("text=Tunjukkan kode QR booking Anda ke kamera")


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_no_scrolling_on_any_kiosk_screen_size(
    live: LiveKiosk, open_screen: Callable[..., Any], width: int, height: int, lang: str
) -> None:
    page = open_screen(live, f"/?lang={lang}", viewport={"width": width, "height": height})
    size = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    assert page.evaluate(size) == [width, height], "the idle screen must fit without scrolling"
    shoot(page, f"citizen-idle-{lang}-{width}x{height}")
    live.present("BK-NOSUCH-CODE", 36.6)  # denied at once: the longest common result text
    wait_outcome(page, "denied")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width == width, "no horizontal scrolling on the result screen"
    shoot(page, f"citizen-result-denied-{lang}-{width}x{height}")
