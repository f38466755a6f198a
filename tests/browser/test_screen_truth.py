"""The citizen screen stays true: pushes for every change, out of service when the gate is
gone, and every result message fits every screen in both languages (Chromium)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kiosk.domain.reasons import Reason
from kiosk.messages import MESSAGES, display_message, translations
from tests.browser.conftest import LANDSCAPE, shoot
from tests.browser.server import LiveKiosk, running_kiosk
from tests.browser.test_staff_pages import PASSWORD, add_user

SIZES = [(800, 480), (1024, 600), (480, 800), (600, 1024)]
ADMITTED = {Reason.ADMITTED, Reason.READMITTED, Reason.WALKIN, Reason.PRIORITY, Reason.STAFF}
RETRY = {Reason.NO_READING}
HEADLINES = {
    "admitted": "ENTER",
    "denied": "REFUSED",
    "refer": "SEE THE OFFICER",
    "retry": "TRY AGAIN",
}
# The longest plausible values of every placeholder a message can carry.
DETAIL = {
    "office_id": "kantor-kecamatan-karanganyar-utara",
    "valid_from": "2026-09-30",
    "valid_until": "2026-09-30",
    "admitted_at": "09:30:00",
    "gate": "gate-12",
    "cap": "1500",
    "ambient_c": "38.5",
}
# Keeps a handle on the page's event stream so a test can hand it any worded event.
GRAB_STREAM = """
(() => {
  const Original = window.EventSource;
  window.__streams = [];
  window.EventSource = function (url) {
    const s = new Original(url);
    window.__streams.push(s);
    return s;
  };
  window.EventSource.CLOSED = Original.CLOSED;
  window.EventSource.OPEN = Original.OPEN;
  window.EventSource.CONNECTING = Original.CONNECTING;
})();
"""
# For each payload: push it as a result, then measure what is on screen.
MEASURE = """
(payloads) => {
  const problems = [];
  const source = window.__streams[window.__streams.length - 1];
  const W = window.innerWidth, H = window.innerHeight;
  const note = document.querySelector(".sim-note");
  const noteBox = note ? note.getBoundingClientRect() : null;
  for (const p of payloads) {
    source.dispatchEvent(new MessageEvent("result", {data: JSON.stringify(p)}));
    const doc = document.documentElement;
    if (document.getElementById("result-message").textContent !== p.message) {
      problems.push([p.code, "message not shown"]);
      continue;
    }
    if (doc.scrollWidth > W || doc.scrollHeight > H) {
      problems.push([p.code, `page ${doc.scrollWidth}x${doc.scrollHeight} > ${W}x${H}`]);
    }
    for (const id of ["result-headline", "result-message", "result-temperature"]) {
      const el = document.getElementById(id);
      if (el.hidden) continue;
      const r = el.getBoundingClientRect();
      if (r.bottom > H + 0.5 || r.right > W + 0.5 || r.top < 0 || r.left < 0) {
        problems.push([p.code, `${id} outside the screen: ${JSON.stringify(r)}`]);
      }
      if (noteBox && r.left < noteBox.right && noteBox.left < r.right &&
          r.top < noteBox.bottom && noteBox.top < r.bottom) {
        problems.push([p.code, `${id} under the simulation tag`]);
      }
    }
  }
  return problems;
}
"""


def payloads(lang: str) -> list[dict[str, Any]]:
    """A result event for every message the gate can show, worded as the server words it."""
    words = translations(lang)
    out = []
    for reason in MESSAGES:
        if reason is Reason.TEMPERATURE_RECHECK:
            continue  # an interim step, shown on the measuring panel (checked below)
        tone = "admitted" if reason in ADMITTED else "retry" if reason in RETRY else "refer"
        temperature = {"id": "Suhu 36,6 °C", "en": "Temperature 36.6 °C"}[lang]
        out.append(
            {
                "decision": "admitted" if tone == "admitted" else "refer",
                "code": reason.value,
                "tone": tone,
                "headline": words.gettext(HEADLINES[tone]),
                "message": display_message(reason, DETAIL, lang),
                "temperature": temperature if tone == "admitted" else None,
            }
        )
    return out


@pytest.fixture
def screen(browser: Any) -> Iterator[Callable[..., Any]]:
    """``screen(server, lang, viewport)`` → a citizen screen whose stream the test can feed."""
    contexts: list[Any] = []

    def opener(server: LiveKiosk, lang: str = "id", viewport: dict[str, int] = LANDSCAPE) -> Any:
        context = browser.new_context(viewport=viewport, locale="id-ID")
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(GRAB_STREAM)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        page.goto(f"{server.url}/?lang={lang}")
        page.wait_for_selector("#screen[data-connection='ok']", state="attached")
        return page

    yield opener
    for context in contexts:
        context.close()


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_result_message_fits_every_screen(
    live: LiveKiosk, screen: Callable[..., Any], lang: str, width: int, height: int
) -> None:
    page = screen(live, lang, {"width": width, "height": height})
    shown = payloads(lang)
    assert len(shown) >= 25  # every message, not a sample
    problems = page.evaluate(MEASURE, shown)
    longest = max(shown, key=lambda p: len(p["message"]))
    page.evaluate(MEASURE, [longest])
    shoot(page, f"citizen-longest-{lang}-{width}x{height}")
    assert problems == []
    # The full day (with its QR code) and the re-measurement fit as well.
    full = {
        "date_text": "Rabu, 30 September 2026",
        "count_text": page.inner_text("#count"),
        "full": True,
        "open": True,
        "in_service": True,
        "scanner": "ok",
    }
    page.evaluate(
        "t => { const s = window.__streams.at(-1);"
        " s.dispatchEvent(new MessageEvent('today', {data: JSON.stringify(t)})); }",
        full,
    )
    page.evaluate(  # back to the idle screen at once (as after the result's seconds)
        """() => { const s = document.getElementById('screen');
                   s.dataset.state = 'idle'; delete s.dataset.outcome; delete s.dataset.tone;
                   document.querySelectorAll('.panel').forEach(p => p.hidden = p.id !== 'idle'); }"""
    )
    size = "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    assert page.is_visible("#online-qr svg")
    shoot(page, f"citizen-full-day-{lang}-{width}x{height}")
    assert page.evaluate(size) == [width, height], "the full-day screen must fit"
    assert page.js_errors == []


def test_no_reading_is_an_amber_try_again_not_a_refusal(
    live: LiveKiosk, screen: Callable[..., Any]
) -> None:
    page = screen(live)
    live.present(live.add_booking(), 20.0)  # nobody warm at the thermometer: no reading
    page.wait_for_selector("#screen[data-state='result'][data-tone='retry']", timeout=20_000)
    assert page.inner_text("#result-headline") == "ULANGI"
    assert page.is_visible(".icon-retry") and not page.is_visible(".icon-denied")
    background = page.evaluate(
        "getComputedStyle(document.getElementById('screen')).backgroundColor"
    )
    assert background == "rgb(242, 183, 5)"
    shoot(page, "citizen-result-no-reading")


def test_headline_above_an_admission_and_a_refusal(
    live: LiveKiosk, screen: Callable[..., Any]
) -> None:
    page = screen(live)
    live.present(live.add_booking(), 36.6)
    page.wait_for_selector("#screen[data-tone='admitted']")
    assert page.inner_text("#result-headline") == "MASUK"
    live.present("BK-NOSUCH-CODE", 36.6)
    page.wait_for_selector("#screen[data-tone='denied']")
    assert page.inner_text("#result-headline") == "DITOLAK"


def test_the_progress_bar_moves_through_the_re_measurement(
    live: LiveKiosk, screen: Callable[..., Any]
) -> None:
    page = screen(live)
    page.evaluate(
        """() => { window.__bar = []; setInterval(() => {
             const s = document.getElementById('screen').dataset.state;
             if (s === 'measuring') window.__bar.push(
               Number(document.getElementById('progress').value)); }, 100); }"""
    )
    live.present(live.add_booking(), 39.2)  # a fever: measured, a pause, measured again
    page.wait_for_selector("#screen[data-tone='refer']", timeout=20_000)
    bar: list[float] = page.evaluate("window.__bar")
    assert len(bar) >= 10
    assert bar == sorted(bar), "the bar never goes back"
    # It keeps moving: no second without progress while measuring or pausing.
    stalls = [i for i in range(10, len(bar)) if bar[i] <= bar[i - 10]]
    assert stalls == [], bar
    assert bar[-1] > 70  # the re-measurement filled the rest


def test_a_stopped_server_shows_out_of_service_and_the_screen_recovers(
    tmp_path: Path, screen: Callable[..., Any]
) -> None:
    with running_kiosk(tmp_path / "gone") as gone:
        page = screen(gone)
        assert page.is_visible("#idle-open")
        gone.stop()
        stopped = time.monotonic()
        page.wait_for_selector("#offline", state="visible", timeout=15_000)
        assert time.monotonic() - stopped < 12
        assert not page.is_visible("#idle-open")  # nothing invites a scan
        assert page.inner_text("#offline h2") == "Gerbang ini sedang tidak beroperasi sebentar."
        shoot(page, "citizen-offline")
        time.sleep(6)  # the browser retries meanwhile: the screen stays calm
        assert page.is_visible("#offline")
        gone.restart()
        page.wait_for_selector("#idle-open", state="visible", timeout=20_000)
        assert page.get_attribute("#screen", "data-connection") == "ok"
        assert page.js_errors == []


# -- pushes from the officer and the administrator ------------------------------------------


@pytest.fixture(scope="module")
def people(live: LiveKiosk) -> LiveKiosk:
    add_user(live, "admin2", "admin")
    add_user(live, "petugas2", "officer")
    return live


def logged_in(browser: Any, live: LiveKiosk, user: str, path: str) -> Any:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.goto(live.url + path)
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(live.url + path + "*")
    return page


def api(page: Any, path: str, body: dict[str, Any]) -> Any:
    """A JSON POST from the logged-in page (its session and CSRF token)."""
    return page.evaluate(
        """async ([path, body]) => {
             const token = document.querySelector("meta[name='csrf-token']").content;
             const res = await fetch(path, {method: "POST", body: JSON.stringify(body),
               headers: {"Content-Type": "application/json", "X-CSRF-Token": token}});
             return [res.status, await res.json()];
           }""",
        [path, body],
    )


def test_an_undo_and_a_walkin_reach_an_open_screen_at_once(
    people: LiveKiosk, browser: Any, screen: Callable[..., Any]
) -> None:
    page = screen(people)
    officer = logged_in(browser, people, "petugas2", "/officer")
    admitted = people.present(people.add_booking(), 36.6)
    page.wait_for_selector("#screen[data-tone='admitted']")
    before = page.inner_text("#count")
    status, body = api(
        officer, "/officer/api/undo", {"entry_id": admitted["entry_id"], "reason": "salah"}
    )
    assert status == 200, body
    expect(page.locator("#count")).not_to_have_text(before, timeout=3000)
    after_undo = page.inner_text("#count")
    status, body = api(officer, "/officer/api/walkin", {"note": "lansia"})
    assert status == 200, body
    expect(page.locator("#count")).not_to_have_text(after_undo, timeout=3000)
    officer.context.close()


def test_a_cap_change_on_the_admin_page_reaches_an_open_screen(
    people: LiveKiosk, browser: Any, screen: Callable[..., Any]
) -> None:
    page = screen(people)
    admin = logged_in(browser, people, "admin2", "/admin/settings")
    admin.fill("input[name='admission.daily_cap']", "77")
    admin.click("#settings-submit")
    expect(page.locator("#count")).to_have_text(re.compile("dari 77 terpakai$"), timeout=3000)
    admin.fill("input[name='admission.daily_cap']", "50")
    admin.click("#settings-submit")
    expect(page.locator("#count")).to_have_text(re.compile("dari 50 terpakai$"), timeout=3000)
    admin.context.close()
