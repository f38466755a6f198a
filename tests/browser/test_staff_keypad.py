"""The staff PIN keypad on the citizen screen, in Chromium against a real ``kiosk run --sim``:
a right PIN greets the staff member and closes by itself, a wrong one (or an unknown staff
number) gets the same generic words, five wrong PINs lock the number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.faces.pins import hash_pin
from kiosk.storage import open_database
from kiosk.storage import staff as store
from tests.browser.conftest import shoot
from tests.browser.server import LiveKiosk, running_kiosk

GENERIC = "Nomor pegawai atau PIN tidak diterima. Coba lagi atau hubungi petugas."


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[tuple[LiveKiosk, int]]:
    folder: Path = tmp_path_factory.mktemp("keypad") / "data"
    with running_kiosk(folder) as live:
        db = open_database(live.config.database_target)
        try:
            with db.transaction() as conn:
                budi = store.add_staff(conn, "Budi")
                store.set_pin_hash(conn, budi, hash_pin("482913"))
        finally:
            db.close()
        yield live, budi


def thermometer(live: LiveKiosk, body_c: float | None) -> None:
    res = live.http.post(
        live.url + "/api/sim/thermometer",
        json={"temperature_c": body_c},
        headers={"X-CSRF-Token": live.csrf()},
        timeout=10,
    )
    assert res.status_code == 200, res.text


def type_in(page: Any, staff: str, pin: str) -> None:
    page.click("#staff-pin-open")
    page.wait_for_selector("#staff-pin:not([hidden])")
    for key in [*staff, "ok", *pin, "ok"]:
        page.click(f".staff-pin-key[data-key='{key}']")


def test_right_pin_greets_and_returns_to_the_citizen_screen(
    gate: tuple[LiveKiosk, int], open_screen: Callable[..., Any]
) -> None:
    live, budi = gate
    thermometer(live, 36.6)
    page = open_screen(live)
    assert page.inner_text("#staff-pin-open") == "Absen pegawai"
    type_in(page, str(budi), "482913")
    page.wait_for_selector("#staff-pin-message.ok >> text=Budi — masuk")
    # The decision reached the screen as every result does: the greeting, then idle again.
    page.wait_for_selector("#screen[data-state='result'][data-outcome='admitted']")
    assert page.inner_text("#result-message").startswith("Selamat ")
    assert "Budi — masuk" in page.inner_text("#result-message")
    shoot(page, "staff-keypad-greeting")
    page.wait_for_selector("#staff-pin", state="hidden", timeout=10_000)
    page.wait_for_selector("#screen[data-state='idle']", timeout=15_000)
    assert page.js_errors == []
    thermometer(live, None)


def test_wrong_pin_and_unknown_number_get_the_same_generic_message(
    gate: tuple[LiveKiosk, int], open_screen: Callable[..., Any]
) -> None:
    live, budi = gate
    page = open_screen(live)
    type_in(page, str(budi), "111111")
    page.wait_for_selector(f"#staff-pin-message >> text={GENERIC}")
    wrong = page.inner_text("#staff-pin-message")
    page.click("#staff-pin-cancel")
    type_in(page, "987654", "111111")
    page.wait_for_selector(f"#staff-pin-message >> text={GENERIC}")
    assert page.inner_text("#staff-pin-message") == wrong == GENERIC
    assert page.get_attribute("#screen", "data-state") == "idle"  # nothing was decided
    shoot(page, "staff-keypad-generic-refusal")
    page.click("#staff-pin-cancel")
    assert page.is_hidden("#staff-pin")


def test_five_wrong_pins_lock_the_staff_number(
    gate: tuple[LiveKiosk, int], open_screen: Callable[..., Any]
) -> None:
    live, _ = gate
    page = open_screen(live)
    for _ in range(5):
        type_in(page, "4242", "0000")
        page.wait_for_selector(f"#staff-pin-message >> text={GENERIC}")
        page.click("#staff-pin-cancel")
    type_in(page, "4242", "0000")
    page.wait_for_selector("#staff-pin-message >> text=Tunggu 5 menit")
    shoot(page, "staff-keypad-locked")
    assert page.js_errors == []
