"""Face attendance inside the running kiosk: frames from the scanner loop reach the worker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from drivers.base import Frame
from kiosk.domain.reasons import Reason
from kiosk.faces.images import read_photo
from kiosk.services.runtime import Kiosk
from kiosk.services.scanner import Scanner
from tests.datadir import shared_data
from tests.test_attendance_service import natural, scene


class LoopCamera:
    def __init__(self, frames: list[Frame]) -> None:
        self.frames, self.i = frames, 0

    def read(self) -> Frame:
        frame = self.frames[self.i % len(self.frames)]
        self.i += 1
        return frame

    def close(self) -> None:
        pass


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(0.01)


def test_scanner_hands_every_frame_on_and_survives_a_failing_listener() -> None:
    frames = [np.full((48, 64, 3), i, np.uint8) for i in range(3)]
    seen: list[int] = []
    done = threading.Event()

    def on_frame(frame: Frame) -> None:
        seen.append(int(frame[0, 0, 0]))
        if len(seen) == 2:
            raise RuntimeError("a listener bug")
        if len(seen) >= 6:
            done.set()

    scanner = Scanner(lambda: LoopCamera(frames), lambda _t: None, on_frame=on_frame)
    with scanner:
        assert done.wait(5)
    assert seen[:6] == [0, 1, 2, 0, 1, 2]


def test_staff_member_at_the_camera_is_recognised_by_the_background_worker(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    faces: Path = shared_data("faces")
    kiosk = make_kiosk(attendance={"enabled": True})
    photos = [(p.name, read_photo(p)) for p in sorted((faces / "enroll" / "obama").iterdir())]
    assert kiosk.attendance.registry.enroll("Pak Obama", photos, consent_by="admin").ok
    kiosk.simulator.set_body_temperature(36.6)
    probe = read_photo(faces / "probe" / "obama1.jpg")
    frames = [scene(probe, *natural(i)) for i in range(12)]
    kiosk.start_background()  # sim mode: no scanner; the worker runs, fed here like the scanner
    assert kiosk.attendance in kiosk.background
    for frame in frames * 3:
        kiosk.attendance.offer(frame)
        time.sleep(0.05)
        if kiosk.attendance.last_result is not None:
            break
    wait_for(lambda: kiosk.attendance.last_result is not None)
    assert kiosk.attendance.last_result.decision.reason is Reason.STAFF
    assert kiosk.gate.last_result is kiosk.attendance.last_result  # the screens see it too
