"""Today's live attendance board on the admin staff page (``GET /admin/staff/board``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from kiosk.services.runtime import Kiosk
from kiosk.storage import staff as store
from tests.conftest import FakeClock, add_staff, login, web_client


def test_board_shows_in_out_late_and_absent_on_duty(make_kiosk: Any) -> None:
    clock = FakeClock()  # Monday 09:00 WIB: after the 08:00 start, so a clock-in is late
    kiosk: Kiosk = make_kiosk(clock=clock)
    assert kiosk.attendance is not None
    registry = kiosk.attendance.registry
    budi = registry.add_staff("Budi", actor="admin")
    registry.set_pin(budi, "482913", actor="admin")
    citra = registry.add_staff("Citra", actor="admin")
    registry.set_pin(citra, "135790", actor="admin")
    dewi = registry.add_staff("Dewi", actor="admin")
    day = date.fromisoformat(kiosk.gate.today()["date"])
    with kiosk.db.transaction() as conn:
        store.add_roster(conn, [(day, dewi)])
    kiosk.simulator.set_body_temperature(36.6)  # type: ignore[union-attr]
    kiosk.attendance.clock_with_pin(budi, "482913")
    kiosk.attendance.clock_with_pin(citra, "135790")
    clock.now += timedelta(hours=8)
    kiosk.attendance.clock_with_pin(citra, "135790")

    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    assert client.get("/admin/staff/board").status_code in (302, 401, 403)  # admins only
    assert login(client, "admin").status_code == 302
    page = client.get("/admin/staff?lang=en").get_data(as_text=True)
    assert 'id="board"' in page and "staff-board.js" in page
    data = client.get("/admin/staff/board?lang=en").get_json()
    assert data["day"] == day.isoformat()
    rows = {r["name"]: r for r in data["rows"]}
    assert (rows["Budi"]["state"], rows["Budi"]["in"], rows["Budi"]["late"]) == (
        "in",
        "09:00",
        True,
    )
    assert (rows["Citra"]["state"], rows["Citra"]["out"]) == ("out", "17:00")
    assert (rows["Dewi"]["state"], rows["Dewi"]["state_text"]) == (
        "absent_on_duty",
        "absent on duty",
    )
