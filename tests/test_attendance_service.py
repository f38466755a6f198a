"""Staff at the gate: camera frames → recognised → liveness → screened → marked, end to end.

Frames are 640×480 scenes with a real face photo (shared data) pasted in, moved by sub-pixel
amounts like a person standing at the gate (or not at all, like a photo on a stand). The
simulated thermometer reads through the real MLX90614 driver: "nobody" means it sees the room,
as it does for a photo or a phone screen held up to the camera.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.domain.reasons import Outcome, Reason
from kiosk.faces.images import read_photo
from kiosk.services.runtime import Kiosk, simulate_present
from kiosk.storage import repository as repo
from kiosk.storage import staff as store
from tests.conftest import FakeClock
from tests.datadir import shared_data

FACES_ON = {"enabled": True, "liveness_frames": 5, "liveness_window_s": 3.0}


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_data("faces")


def scene(photo: np.ndarray, dx: float = 0.0, dy: float = 0.0, face_px: int = 170) -> np.ndarray:
    """A 640×480 BGR camera frame with the photo's face ~``face_px`` wide, shifted by dx, dy."""
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    scale = face_px / 372.0  # probe/obama1.jpg: the face is ~372 px wide
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    matrix = np.float32([[1, 0, 320 - w / 2 + dx], [0, 1, 240 - h / 2 + dy]])
    frame = np.full((480, 640, 3), 90, dtype=np.uint8)
    return cv2.warpAffine(small, matrix, (640, 480), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)


def natural(i: int) -> tuple[float, float]:
    """Breathing and balance: a couple of pixels, smoothly."""
    return 2.0 * math.sin(i * 0.9), 1.5 * math.cos(i * 0.7)


def run_frames(kiosk: Kiosk, frames: list[np.ndarray], start: float = 0.0) -> list[Any]:
    results = []
    for i, frame in enumerate(frames):
        result = kiosk.attendance.process_frame(frame, start + 0.1 * i)
        if result is not None:
            results.append(result)
    return results


@pytest.fixture
def gate(make_kiosk: Callable[..., Kiosk], faces: Path) -> Kiosk:
    kiosk = make_kiosk(
        attendance=FACES_ON,
        admission={"daily_cap": 1},
        temperature={"measure_timeout_s": 0.5},
        clock=FakeClock(),
    )
    assert kiosk.attendance.status == "ok", kiosk.attendance.error
    registry = kiosk.attendance.registry
    photos = [(p.name, read_photo(p)) for p in sorted((faces / "enroll" / "obama").iterdir())]
    assert registry.enroll("Pak Obama", photos, consent_by="Admin Sari").ok
    return kiosk


@pytest.fixture
def probe(faces: Path) -> np.ndarray:
    return read_photo(faces / "probe" / "obama1.jpg")


def today(kiosk: Kiosk) -> date:
    return date.fromisoformat(kiosk.gate.today()["date"])


def marks(kiosk: Kiosk) -> list[store.AttendanceMark]:
    conn = kiosk.db.connection()
    return store.marks_of(conn, kiosk.attendance.registry.find("Pak Obama").id)


def test_recognised_staff_clock_in_screened_and_never_use_a_citizen_slot(
    gate: Kiosk, probe: np.ndarray
) -> None:
    sim = gate.simulator
    assert simulate_present(gate, "DEMO-CITIZEN", 36.6).decision.reason is Reason.BOOKING_UNKNOWN
    used_before = repo.slots_used(gate.db.connection(), "OFFICE", today(gate))
    sim.set_body_temperature(36.6)
    results = run_frames(gate, [scene(probe, *natural(i)) for i in range(8)])
    assert len(results) == 1  # one decision per visit, not one per frame
    result = results[0]
    assert (result.decision.outcome, result.decision.reason) == (Outcome.ADMITTED, Reason.STAFF)
    assert result.decision.detail["mark"] == "in"
    assert not result.decision.uses_slot
    entry = repo.entries_on(gate.db.connection(), "OFFICE", result.business_date)[0]
    assert (entry.kind, entry.uses_slot) == ("staff", False)
    assert entry.temp_estimated_c == pytest.approx(36.6, abs=0.05)
    assert "liveness passed: motion,skin" in (entry.note or "")
    assert repo.slots_used(gate.db.connection(), "OFFICE", result.business_date) == used_before
    [mark] = marks(gate)
    assert (mark.kind, mark.method, mark.checks) == ("in", "face", "motion,skin")
    assert mark.distance is not None and mark.distance < 0.5
    assert sim.state()["outputs"]  # the gate outputs were driven like for any admission


def test_staff_are_admitted_even_when_the_citizen_cap_is_reached(
    gate: Kiosk, probe: np.ndarray
) -> None:
    conn = gate.db.connection()
    day = today(gate)
    with gate.db.transaction() as tx:
        assert repo.take_slot(tx, "OFFICE", day, 1) == 1  # the day is full
    gate.simulator.set_body_temperature(36.6)
    [result] = run_frames(gate, [scene(probe, *natural(i)) for i in range(8)])
    assert result.decision.reason is Reason.STAFF
    assert repo.slots_used(conn, "OFFICE", day) == 1


def test_held_up_photo_is_refused_liveness_failed(gate: Kiosk, probe: np.ndarray) -> None:
    gate.simulator.set_body_temperature(None)  # the thermometer sees paper at room temperature
    [result] = run_frames(gate, [scene(probe, *natural(i)) for i in range(8)])
    assert (result.decision.outcome, result.decision.reason) == (
        Outcome.DENIED,
        Reason.LIVENESS_FAILED,
    )
    assert result.decision.detail["failed"] == "skin"
    [mark] = marks(gate)
    assert (mark.kind, mark.reason, mark.checks) == ("refused", "liveness_failed", "motion")
    entry = repo.entries_on(gate.db.connection(), "OFFICE", result.business_date)[0]
    assert (entry.kind, entry.outcome, entry.reason) == ("staff", "denied", "liveness_failed")


def test_phone_screen_warm_but_near_room_temperature_is_refused(
    gate: Kiosk, probe: np.ndarray
) -> None:
    # A screen warmed to 30 °C in a 29.5 °C room: "skin" by the range, but not skin-warm.
    gate.simulator.bus.set_ambient(29.5)
    gate.simulator.bus.set_object(30.0)
    [result] = run_frames(gate, [scene(probe, *natural(i)) for i in range(8)])
    assert result.decision.reason is Reason.LIVENESS_FAILED


def test_frozen_face_is_refused_even_when_the_thermometer_sees_skin(
    gate: Kiosk, probe: np.ndarray
) -> None:
    gate.simulator.set_body_temperature(36.6)
    still = scene(probe, 0.3, 0.2)
    results = run_frames(gate, [still] * 40)
    [result] = results
    assert result.decision.reason is Reason.LIVENESS_FAILED
    assert result.decision.detail["failed"] == "motion"


def test_feverish_staff_member_is_referred_like_a_citizen(gate: Kiosk, probe: np.ndarray) -> None:
    gate.simulator.set_body_temperature(38.6)
    [result] = run_frames(gate, [scene(probe, *natural(i)) for i in range(8)])
    assert (result.decision.outcome, result.decision.reason) == (Outcome.REFER, Reason.FEVER)
    [mark] = marks(gate)
    assert (mark.kind, mark.reason) == ("refused", "fever")
    assert mark.temp_estimated_c == pytest.approx(38.6, abs=0.05)


def test_second_visit_soon_after_is_a_repeat_and_later_a_clock_out(
    gate: Kiosk, probe: np.ndarray
) -> None:
    clock = gate.gate.clock
    gate.simulator.set_body_temperature(36.6)
    visit = [scene(probe, *natural(i)) for i in range(8)]
    empty = [np.full((480, 640, 3), 90, dtype=np.uint8)] * 15  # 1.5 s away from the camera
    assert run_frames(gate, visit)[0].decision.detail["mark"] == "in"
    clock.now += timedelta(minutes=3)
    run_frames(gate, empty, start=1.0)
    assert run_frames(gate, visit, start=3.0)[0].decision.detail.get("mark") == "repeat"
    clock.now += timedelta(hours=8)
    run_frames(gate, empty, start=4.0)
    assert run_frames(gate, visit, start=6.0)[0].decision.detail["mark"] == "out"
    assert [m.kind for m in marks(gate)] == ["out", "in"]


def test_night_shift_clock_out_after_midnight_counts_for_the_day_it_started(
    gate: Kiosk, probe: np.ndarray
) -> None:
    clock = gate.gate.clock
    staff_id = gate.attendance.registry.find("Pak Obama").id
    day = today(gate)
    with gate.db.transaction() as conn:  # a night shift 22:00–06:00 starting today (the 23rd)
        store.add_roster(conn, [(day, staff_id, 22 * 60, 6 * 60)])
    gate.simulator.set_body_temperature(36.6)
    visit = [scene(probe, *natural(i)) for i in range(8)]
    empty = [np.full((480, 640, 3), 90, dtype=np.uint8)] * 15
    clock.now += timedelta(hours=12, minutes=55)  # 21:55 WIB
    assert run_frames(gate, visit)[0].decision.detail["mark"] == "in"
    clock.now += timedelta(hours=8, minutes=10)  # 06:05 WIB on the 24th
    run_frames(gate, empty, start=1.0)
    assert run_frames(gate, visit, start=3.0)[0].decision.detail["mark"] == "out"
    assert [m.kind for m in marks(gate)] == ["out", "in"]


def test_a_stranger_triggers_nothing(gate: Kiosk, faces: Path) -> None:
    stranger = read_photo(faces / "enroll" / "alex_lacamoire" / "img1.jpg")
    gate.simulator.set_body_temperature(36.6)
    frames = [scene(stranger, *natural(i), face_px=170) for i in range(10)]
    assert run_frames(gate, frames) == []
    assert repo.entries_on(gate.db.connection(), "OFFICE", today(gate)) == []


def test_unchanged_scene_skips_face_detection(gate: Kiosk) -> None:
    empty = np.full((480, 640, 3), 90, dtype=np.uint8)
    pipeline = gate.attendance.pipeline
    states = [pipeline.process(empty, 0.05 * i).state for i in range(10)]
    assert states[0] == "no_face"
    assert set(states[1:]) == {"skipped"}  # within idle_recheck_s nothing is searched
