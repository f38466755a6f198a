"""The queue-first officer console in Chromium on a phone (360 px), against the real server:
a referral arrives as a card with a sound, one touch admits it, undo and walk-in come from the
list and the top, and nothing scrolls sideways. Also: the citizen screen speaks its prompt."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.browser.conftest import shoot
from tests.browser.server import LiveKiosk, running_kiosk
from tests.browser.test_staff_pages import PASSWORD, add_user

PHONE = {"width": 360, "height": 740}
OFFICER = "petugas7"


@pytest.fixture(scope="module")
def officer(live: LiveKiosk) -> LiveKiosk:
    add_user(live, "admin7", "admin")  # without an administrator the pages ask for setup
    add_user(live, OFFICER, "officer")
    return live


@pytest.fixture
def console(browser: Any, officer: LiveKiosk) -> Iterator[Callable[..., Any]]:
    """``console(lang="id")`` → the officer console on a 360 px phone, logged in."""
    contexts: list[Any] = []

    def open_console(lang: str = "id") -> Any:
        context = browser.new_context(viewport=PHONE, locale="id-ID", has_touch=True)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        page.goto(officer.url + "/officer")
        page.fill("#username", OFFICER)
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(officer.url + "/officer*")
        if lang != "id":
            page.goto(officer.url + f"/officer?lang={lang}")
        page.wait_for_selector("#officer-console[data-connection='ok']", state="attached")
        return page

    yield open_console
    for context in contexts:
        context.close()


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width} px wide on a {PHONE['width']} px phone"


def entries(page: Any) -> list[dict[str, Any]]:
    """Today's entries as the console's own session sees them."""
    data = page.evaluate(
        "async () => (await fetch('/officer/api/today', {headers: {'X-Kiosk-Poll': '1'}})).json()"
    )
    return list(data["entries"])


def post(page: Any, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return tuple(  # type: ignore[return-value]
        page.evaluate(
            """async ([path, body]) => {
                const token = document.querySelector('meta[name="csrf-token"]').content;
                const res = await fetch(path, {method: 'POST', body: JSON.stringify(body),
                  headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token}});
                return [res.status, await res.json()];
            }""",
            [path, body],
        )
    )


def test_a_referral_is_a_card_with_an_alert_and_one_touch_admits_it(
    officer: LiveKiosk, console: Callable[..., Any]
) -> None:
    page = console()
    before = page.evaluate("Number(document.getElementById('officer-console').dataset.alerts || 0)")
    referred = officer.present(officer.add_booking(), 39.4)
    assert referred["code"] == "fever"
    entry = referred["entry_id"]
    card = f"#referrals .referral[data-entry-id='{entry}']"
    page.wait_for_selector(f"{card}.new")
    # At the top of the page, above the list, in words (not "refer · fever").
    assert page.evaluate(f'document.querySelector("{card}").getBoundingClientRect().top') < 200
    text = page.inner_text(card)
    assert "Ke petugas · suhu tinggi" in text and "refer" not in text and "fever" not in text
    assert "Pendaftaran TNI/Polri" in text and "Medis / BPJS" in text
    # The alert sounded once for this visitor (the browser's autoplay policy allows it).
    alerts = page.evaluate("Number(document.getElementById('officer-console').dataset.alerts)")
    assert alerts == before + 1
    page.wait_for_function("document.getElementById('referral-alert').played.length > 0")
    # The tab title counts the waiting visitors (earlier tests on this server may have left some).
    waiting = page.locator("#referrals .referral").count()
    assert waiting >= 1 and page.title().startswith(f"({waiting}) ")
    no_sideways_scroll(page)
    shoot(page, "officer-phone-referral-card")

    page.click(f"{card} button.reason[data-reason='medical_bpjs']")
    page.wait_for_selector(card, state="detached")
    page.wait_for_selector("#officer-message.ok")
    assert page.inner_text("#officer-message").startswith(f"#{entry}:")
    shoot(page, "officer-phone-admitted-anyway")

    rows = entries(page)
    admissions = [
        r for r in rows if r["kind"] == "priority" and (r["note"] or "").endswith(f"entry {entry}")
    ]
    assert len(admissions) == 1 and admissions[0]["outcome"] == "admitted"
    assert not next(r for r in rows if r["id"] == entry)["pending"]
    # A second decision for the same visitor is refused; still one admission.
    status, _ = post(page, "/officer/api/priority", {"entry_id": entry, "reason": "tni_polri"})
    assert status == 409
    again = [
        r for r in entries(page) if r["kind"] == "priority" and r["note"].endswith(f"entry {entry}")
    ]
    assert len(again) == 1
    # No further alert: the same visitor is not announced twice.
    page.wait_for_timeout(3500)
    assert (
        page.evaluate("Number(document.getElementById('officer-console').dataset.alerts)") == alerts
    )
    assert page.js_errors == []


def test_other_needs_a_note_and_deny_is_one_touch(
    officer: LiveKiosk, console: Callable[..., Any]
) -> None:
    page = console()
    first = officer.present(officer.add_booking(), 39.3)["entry_id"]
    second = officer.present(officer.add_booking(), 39.5)["entry_id"]
    card = f"#referrals .referral[data-entry-id='{first}']"
    page.wait_for_selector(card)
    page.wait_for_selector(f"#referrals .referral[data-entry-id='{second}']")
    page.click(f"{card} button.reason[data-reason='other']")
    page.click(f"{card} button.confirm-other")  # no note: refused here, nothing sent
    page.wait_for_selector(f"{card} .referral-status.error")
    assert "Tulis alasannya" in page.inner_text(f"{card} .referral-status")
    no_sideways_scroll(page)
    shoot(page, "officer-phone-other-needs-a-note")
    page.fill(f"{card} input.note", "ibu hamil")
    page.click(f"{card} button.confirm-other")
    page.wait_for_selector(card, state="detached")

    page.click(f"#referrals .referral[data-entry-id='{second}'] button.deny")
    page.wait_for_selector(f"#referrals .referral[data-entry-id='{second}']", state="detached")
    rows = {r["id"]: r for r in entries(page)}
    assert not rows[first]["pending"] and not rows[second]["pending"]
    notes = [r["note"] or "" for r in rows.values()]
    assert any(f"entry {first}" in n and "ibu hamil" in n for n in notes), notes
    # The list shows the reason in words, not its code.
    listed = page.inner_text("#entries-body")
    assert "Lainnya" in listed and "other:" not in listed
    assert page.js_errors == []


def test_undo_from_the_list_and_walkin_from_the_top(
    officer: LiveKiosk, console: Callable[..., Any]
) -> None:
    page = console()
    admitted = officer.present(officer.add_booking(), 36.5)
    assert admitted["code"] == "admitted"
    used = int(requests.get(officer.url + "/api/today", timeout=10).json()["admitted"])
    row = f"#entries-body li[data-entry-id='{admitted['entry_id']}']"
    page.click(f"{row} button.undo")
    page.wait_for_selector("#undo-form:not([hidden])")
    # The reason prompt opens right under the row, naming the visitor: no typed numbers.
    assert page.evaluate(f'document.querySelector("{row}").nextElementSibling.id') == "undo-form"
    assert "Sri Wahyuni" in page.inner_text("#undo-for")
    no_sideways_scroll(page)
    shoot(page, "officer-phone-undo-prompt")
    page.fill("#undo-reason", "salah orang")
    page.click("#undo-submit")
    page.wait_for_selector(f"{row}.undone")
    assert OFFICER in page.inner_text(row) and "salah orang" in page.inner_text(row)
    assert page.is_hidden("#undo-form")
    assert int(requests.get(officer.url + "/api/today", timeout=10).json()["admitted"]) == used - 1

    page.click("#walkin-open")
    page.wait_for_selector("#walkin-form:not([hidden])")
    no_sideways_scroll(page)
    page.fill("#walkin-note", "lansia")
    page.click("#walkin-submit")
    page.wait_for_selector("#officer-message.ok")
    assert page.is_hidden("#walkin-form")
    shoot(page, "officer-phone-walkin-done")
    assert page.js_errors == []


@pytest.mark.parametrize("lang", ["id", "en"])
def test_nothing_scrolls_sideways_on_a_phone(
    officer: LiveKiosk, console: Callable[..., Any], lang: str
) -> None:
    officer.present(officer.add_booking(), 39.6)  # a card waiting
    officer.present(officer.add_booking(), 36.4)  # an undoable row
    page = console(lang)
    page.wait_for_selector("#referrals .referral")
    page.click("#referrals .referral button.reason[data-reason='other']")
    page.click("#walkin-open")
    page.click("#entries-body li button.undo")
    no_sideways_scroll(page)
    page.screenshot(path=str(shoot(page, f"officer-phone-{lang}")), full_page=True)
    words = page.inner_text("#entries-body")
    for code in (" refer ·", "· fever", "admitted ·", "walkin"):
        assert code not in words, code
    assert page.js_errors == []


def test_the_citizen_screen_speaks_the_result_after_the_tone(
    officer: LiveKiosk, open_screen: Callable[..., Any]
) -> None:
    screen = open_screen(officer)
    assert screen.evaluate("document.getElementById('sound-admitted').volume") == pytest.approx(0.8)
    officer.present(officer.add_booking(), 36.6)
    screen.wait_for_selector("#screen[data-voice='admitted']")
    src = screen.get_attribute("#voice-admitted", "src")
    assert src == "/static/sounds/voice/id/admitted.wav"
    screen.wait_for_function("document.getElementById('voice-admitted').played.length > 0")


def test_a_walkin_chooses_a_service_with_one_touch(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    services = {"KTP-EL": {"name": "Perekaman KTP-el", "daily_cap": 20}}
    folder = tmp_path_factory.mktemp("services") / "data"
    with running_kiosk(folder, services=services) as server:
        add_user(server, "admin8", "admin")
        add_user(server, "petugas8", "officer")
        context = browser.new_context(viewport=PHONE, locale="id-ID", has_touch=True)
        try:
            page = context.new_page()
            page.goto(server.url + "/officer")
            page.fill("#username", "petugas8")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_selector("#officer-console[data-connection='ok']", state="attached")
            page.click("#walkin-open")
            page.check("#walkin-service input[value='KTP-EL']")
            no_sideways_scroll(page)
            shoot(page, "officer-phone-walkin-service")
            page.click("#walkin-submit")
            page.wait_for_selector("#officer-message.ok")
            walkins = [e for e in entries(page) if e["kind"] == "walkin"]
            assert [(e["service"], e["queue_number"]) for e in walkins] == [
                ("KTP-EL", "KTP-EL-001")
            ]
            page.wait_for_selector("#entries-body li.outcome-admitted")
            assert "KTP-EL-001" in page.inner_text("#entries-body")
        finally:
            context.close()
