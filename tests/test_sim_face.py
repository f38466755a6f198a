"""Staff attendance end to end through the simulator's HTTP route ``POST /api/sim/face``.

A real photo from the shared data is uploaded as a JPEG; the route stages it as camera frames
and the real pipeline runs (face worker process, matching, liveness, the gate's thermometer
path through the MLX90614 driver on its register-level fake bus, the rules and the recorder).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.faces.images import read_photo
from kiosk.services.runtime import Kiosk
from kiosk.storage import repository as repo
from kiosk.storage import staff as store
from tests.conftest import FakeClock, WebClient, web_client
from tests.datadir import shared_data

FACES_ON = {"enabled": True, "liveness_frames": 5, "liveness_window_s": 3.0}


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_data("faces")


@pytest.fixture
def gate(make_kiosk: Callable[..., Kiosk], faces: Path) -> Kiosk:
    kiosk = make_kiosk(
        attendance={**FACES_ON, "sim_photos_dir": str(faces)},
        temperature={"measure_timeout_s": 0.5},
        clock=FakeClock(),  # Monday 09:00 WIB
    )
    assert kiosk.attendance is not None and kiosk.attendance.status == "ok"
    photos = [(p.name, read_photo(p)) for p in sorted((faces / "enroll" / "obama").iterdir())]
    assert kiosk.attendance.registry.enroll("Budi", photos, consent_by="Admin Sari").ok
    return kiosk


@pytest.fixture
def client(gate: Kiosk) -> Any:
    return web_client(gate)


def upload(client: Any, path: Path, **fields: str) -> Any:
    data: dict[str, Any] = {"image": (io.BytesIO(path.read_bytes()), path.name), **fields}
    return client.post("/api/sim/face", data=data, content_type="multipart/form-data")


def entries(kiosk: Kiosk) -> list[Any]:
    day = date.fromisoformat(kiosk.gate.today()["date"])
    return repo.entries_on(kiosk.db.connection(), "OFFICE", day)


def test_enrolled_photo_clocks_in_then_repeat_then_out_later(
    gate: Kiosk, client: Any, faces: Path
) -> None:
    clock = gate.gate.clock
    assert isinstance(clock, FakeClock)
    probe = faces / "probe" / "obama1.jpg"
    res = upload(client, probe)
    assert res.status_code == 200, res.get_json()
    body = res.get_json()
    assert (body["result"], body["name"]) == ("in", "Budi")
    assert body["gate"]["kind"] == "staff"
    assert body["gate"]["detail"]["mark"] == "in"
    [entry] = entries(gate)
    assert (entry.kind, entry.outcome, entry.uses_slot) == ("staff", "admitted", False)
    assert "liveness passed: motion,skin" in (entry.note or "")

    clock.now += timedelta(minutes=3)
    again = upload(client, probe).get_json()
    assert (again["result"], again["name"]) == ("repeat", "Budi")

    clock.now += timedelta(hours=7, minutes=5)  # 16:08 WIB
    later = upload(client, probe).get_json()
    assert (later["result"], later["name"]) == ("out", "Budi")
    staff_id = gate.attendance.registry.find("Budi").id  # type: ignore[union-attr]
    assert [m.kind for m in store.marks_of(gate.db.connection(), staff_id)] == ["out", "in"]


def test_photo_at_room_temperature_is_refused_liveness(
    gate: Kiosk, client: Any, faces: Path
) -> None:
    ambient = gate.simulator.ambient_c  # type: ignore[union-attr]
    body = upload(client, faces / "probe" / "obama1.jpg", skin_c=f"{ambient:.1f}").get_json()
    assert body["result"] == "liveness_failed"
    assert body["gate"]["decision"] == "denied"
    assert body["gate"]["detail"]["failed"] == "skin"
    [entry] = entries(gate)
    assert (entry.kind, entry.reason) == ("staff", "liveness_failed")


def test_stranger_is_unknown_and_nothing_is_stored(gate: Kiosk, client: Any, faces: Path) -> None:
    body = upload(client, faces / "enroll" / "alex_lacamoire" / "img1.jpg").get_json()
    assert body == {"result": "unknown", "frames": body["frames"]}
    assert entries(gate) == []


def test_no_face_in_the_picture(gate: Kiosk, client: Any, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 180, dtype=np.uint8))
    assert upload(client, blank).get_json()["result"] == "no_face"
    assert entries(gate) == []


def test_photo_picked_from_the_folder(gate: Kiosk, client: Any) -> None:
    listing = client.get("/api/sim/faces").get_json()
    assert "probe/obama1.jpg" in listing["photos"]
    res = client.post("/api/sim/face", data={"photo": "probe/obama1.jpg"})
    assert res.get_json()["result"] == "in"
    outside = client.post("/api/sim/face", data={"photo": "../faces/probe/obama1.jpg"})
    assert outside.status_code == 422


def test_route_needs_csrf_and_a_readable_photo(gate: Kiosk, client: Any) -> None:
    res = client.post(
        "/api/sim/face",
        data={"image": (io.BytesIO(b"not an image"), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert res.status_code == 422
    assert "JPEG or PNG" in res.get_json()["error"]
    assert client.post("/api/sim/face", data={}, csrf=False).status_code == 400


def test_route_is_absent_outside_simulation(gate: Kiosk, faces: Path) -> None:
    gate.devices.simulator = None
    client = web_client(gate)
    assert upload(client, faces / "probe" / "obama1.jpg").status_code == 404
    assert client.get("/api/sim/faces").status_code == 404


def test_the_citizen_screen_greets_the_staff_member(gate: Kiosk, faces: Path) -> None:
    from ui import create_app
    from ui.events import Event
    from ui.public import render_event

    app = create_app(gate, {"TESTING": True})
    app.test_client_class = WebClient
    client = app.test_client()
    clock = gate.gate.clock
    assert isinstance(clock, FakeClock)
    clock.now = clock.now.replace(hour=0, minute=31)  # 07:31 WIB
    probe = faces / "probe" / "obama1.jpg"
    seen = []
    gate.gate.events.results.append(seen.append)

    def screen(lang: str) -> dict[str, Any]:
        with app.test_request_context(f"/?lang={lang}"):
            rendered = render_event(gate, Event("result", seen[-1]), lang)
        assert rendered is not None and rendered[0] == "result"
        return rendered[1]

    assert upload(client, probe).get_json()["result"] == "in"
    shown = screen("id")
    assert (shown["kind"], shown["detail"]) == ("staff", {"mark": "in", "name": "Budi"})
    assert shown["message"] == "Selamat pagi, Budi — masuk 07.31"
    assert screen("en")["message"] == "Good morning, Budi — in 7:31\u202fAM"

    clock.now += timedelta(minutes=2)
    assert upload(client, probe).get_json()["result"] == "repeat"
    assert screen("id")["message"] == "Budi, sudah tercatat."

    clock.now = clock.now.replace(hour=9, minute=2)  # 16:02 WIB
    assert upload(client, probe).get_json()["result"] == "out"
    assert screen("id")["message"] == "Selamat sore, Budi — pulang 16.02"

    refused = upload(client, probe, skin_c="25.0").get_json()
    assert refused["result"] == "liveness_failed"
    shown = screen("id")
    assert shown["detail"] == {}  # no name next to a refusal
    assert "PIN" in shown["message"] and "Budi" not in shown["message"]


def test_the_simulator_panel_offers_the_staff_photo_form(client: Any) -> None:
    page = client.get("/sim?lang=en").get_data(as_text=True)
    assert 'id="face-form"' in page and 'id="face-photo"' in page and 'name="skin_c"' in page
