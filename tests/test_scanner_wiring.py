"""`kiosk run`'s scanner loop feeds the real gate service: one attempt per code in view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2

from drivers.replay_camera import ReplayCamera
from drivers.sim_camera import render_scene
from kiosk.storage import Booking
from kiosk.storage import repository as repo


def test_scanner_admits_a_code_held_in_view_once(make_kiosk: Any, tmp_path: Path) -> None:
    kiosk = make_kiosk(hardware={"scan_debounce_s": 5.0})
    day = kiosk.gate.today()["date"]
    from datetime import date

    with kiosk.db.transaction() as conn:
        repo.insert_booking(
            conn,
            Booking("BK-SCAN0001", kiosk.config.site.office_id, date.fromisoformat(day), "Siti"),
        )
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:02d}.png"), render_scene(None))
    for i in range(3, 15):  # the code stays in view for 12 frames
        cv2.imwrite(str(frames / f"{i:02d}.png"), render_scene("BK-SCAN0001"))
    kiosk.simulator.set_body_temperature(36.6)
    kiosk.devices.camera = ReplayCamera.open(frames, fps=50.0, loop=False)
    kiosk.devices.simulator = None  # behave like real hardware: the scanner drives the gate
    kiosk.start_background()
    deadline = time.monotonic() + 10
    conn = kiosk.db.connection()
    while not repo.entries_on(conn, kiosk.config.site.office_id, date.fromisoformat(day)):
        assert time.monotonic() < deadline, kiosk.scanner_status()
        time.sleep(0.05)
    time.sleep(0.5)  # the rest of the frames: still the same attempt
    entries = repo.entries_on(conn, kiosk.config.site.office_id, date.fromisoformat(day))
    assert [(e.booking_id, e.reason) for e in entries] == [("BK-SCAN0001", "admitted")]
    # The replay ends: the scanner reports the camera as unavailable.
    deadline = time.monotonic() + 10
    while kiosk.scanner_status()["status"] != "unavailable":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    kiosk.close()
