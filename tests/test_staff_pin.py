"""The staff PIN keypad's route ``POST /api/staff/pin``: generic refusals, lockout per staff
number, a per-minute limit, audit rows, CSRF; a right PIN is screened and marked."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk
from kiosk.storage import staff as store
from tests.conftest import FakeClock, web_client

GENERIC = "Nomor pegawai atau PIN tidak diterima. Coba lagi atau hubungi petugas."


@pytest.fixture
def gate(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    kiosk = make_kiosk(clock=FakeClock())
    assert kiosk.attendance is not None
    registry = kiosk.attendance.registry
    budi = registry.add_staff("Budi", actor="admin")
    registry.set_pin(budi, "482913", actor="admin")
    registry.add_staff("Dewi", actor="admin")  # no PIN: face only
    kiosk.simulator.set_body_temperature(36.6)  # type: ignore[union-attr]
    return kiosk


def pin(client: Any, staff: str, value: str, **kw: Any) -> Any:
    return client.post("/api/staff/pin", json={"staff": staff, "pin": value}, **kw)


def audits(kiosk: Kiosk) -> list[tuple[str, str]]:
    rows = kiosk.db.connection().execute(
        "SELECT action, subject FROM audit_log WHERE action LIKE 'staff_pin_%' ORDER BY id"
    )
    return [(r[0], r[1]) for r in rows]


def test_right_pin_clocks_in_and_greets(gate: Kiosk) -> None:
    client = web_client(gate)
    budi = gate.attendance.registry.find("Budi").id  # type: ignore[union-attr]
    res = pin(client, str(budi), "482913")
    assert res.status_code == 200
    body = res.get_json()
    assert body["ok"] and body["result"]["kind"] == "staff"
    assert body["result"]["detail"] == {"mark": "in", "name": "Budi"}
    assert body["result"]["message"] == "Selamat pagi, Budi — masuk 09.00"
    [mark] = store.marks_of(gate.db.connection(), budi)
    assert (mark.kind, mark.method) == ("in", "pin")
    assert audits(gate) == [("staff_pin_accepted", f"staff:{budi}")]


def test_refusals_never_tell_whether_the_number_exists(gate: Kiosk) -> None:
    client = web_client(gate)
    ids = {p.name: p.id for p in gate.attendance.registry.list_staff()}  # type: ignore[union-attr]
    answers, times = [], []
    for staff in (str(ids["Budi"]), str(ids["Dewi"]), "9999"):
        started = time.perf_counter()
        res = pin(client, staff, "1111")
        times.append(time.perf_counter() - started)
        answers.append((res.status_code, res.get_json()))
    assert answers == [(403, {"ok": False, "code": "refused", "message": GENERIC})] * 3
    # The same hash check runs for all three (scrypt, tens of ms): no fast path for strangers.
    assert min(times) > 0.3 * max(times)
    assert [a for a, _ in audits(gate)] == ["staff_pin_wrong"] * 3


def test_five_wrong_pins_lock_a_number_existing_or_not(gate: Kiosk) -> None:
    client = web_client(gate)
    budi = str(gate.attendance.registry.find("Budi").id)  # type: ignore[union-attr]
    for staff in (budi, "9999"):
        for _ in range(5):
            assert pin(client, staff, "0000").status_code == 403
        locked = pin(client, staff, "482913" if staff == budi else "0000")
        assert locked.status_code == 429
        assert locked.get_json()["code"] == "locked"
        assert "5 menit" in locked.get_json()["message"]
    assert audits(gate).count(("staff_pin_locked", f"staff:{budi}")) == 1
    assert store.marks_of(gate.db.connection(), int(budi)) == []


def test_attempts_per_minute_are_limited_across_numbers(gate: Kiosk) -> None:
    from kiosk.services.attendance import PIN_ATTEMPTS_PER_MINUTE

    client = web_client(gate)
    now = [0.0]
    gate.attendance.pin_rate._clock = lambda: now[0]  # type: ignore[union-attr]
    for i in range(PIN_ATTEMPTS_PER_MINUTE):
        assert pin(client, str(100 + i), "0000").status_code == 403
    busy = pin(client, "500", "0000")
    assert (busy.status_code, busy.get_json()["code"]) == (429, "busy")
    now[0] += 61
    assert pin(client, "501", "0000").status_code == 403
    assert ("staff_pin_throttled", "staff:500") in audits(gate)


def test_malformed_input_and_missing_csrf(gate: Kiosk) -> None:
    client = web_client(gate)
    assert pin(client, "12a", "1234").get_json()["message"] == GENERIC
    assert pin(client, "1", "1234", csrf=False).status_code == 400
    assert client.post("/api/staff/pin", json={"staff": "1"}).status_code == 400
