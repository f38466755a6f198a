"""The face worker process: same answers as dlib in this process, crashes contained, and the
gate's process keeps its timing while dlib works (issue #10 deliver 5, issue #16 deliver 4)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.domain.reasons import Reason
from kiosk.faces.engine import Box, FaceEngine, FaceStack, FaceStackUnavailable, load_engine
from kiosk.faces.images import frame_to_rgb, read_photo
from kiosk.faces.pipeline import FacePipeline, PipelineSettings
from kiosk.faces.quality import find_faces
from kiosk.faces.remote import KEEP_BYTES, FaceWorker
from kiosk.services.runtime import Kiosk, simulate_present
from tests.datadir import shared_data
from tests.test_attendance_service import (  # noqa: F401  (fixtures)
    faces,
    gate,
    natural,
    probe,
    run_frames,
    scene,
)


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    faces = FaceWorker().start()
    assert faces.status == "ok", faces.error
    yield faces
    faces.close()


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return load_engine()


def photos() -> list[Path]:
    folder = shared_data("faces")
    return sorted(folder.glob("enroll/*/*")) + sorted(folder.glob("probe/*.jp*g"))


def test_the_gates_process_never_imports_dlib() -> None:
    code = (
        "import sys\n"
        "from kiosk.faces.remote import FaceWorker\n"
        "w = FaceWorker().start()\n"
        "assert w.status == 'ok', w.error\n"
        "w.close()\n"
        "print('dlib' in sys.modules)\n"
    )
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_results_through_the_worker_equal_the_in_process_results(
    worker: FaceWorker, engine: FaceEngine
) -> None:
    checked = 0
    for path in photos():
        rgb = read_photo(path)
        boxes = find_faces(engine, rgb)
        assert find_faces(worker, rgb) == boxes, path.name
        for box in boxes:
            np.testing.assert_array_equal(worker.landmarks(rgb, box), engine.landmarks(rgb, box))
            np.testing.assert_array_equal(worker.encode(rgb, box), engine.encode(rgb, box))
            checked += 1
    assert checked >= 15  # every shared photo's faces, the group photo's included


def test_a_photo_larger_than_the_shared_block_travels_in_a_block_of_its_own(
    worker: FaceWorker, engine: FaceEngine, probe: np.ndarray
) -> None:
    big = np.asarray(cv2.resize(probe, (2400, 1800), interpolation=cv2.INTER_CUBIC), np.uint8)
    assert big.nbytes > KEEP_BYTES
    boxes = engine.locate(big)
    assert len(boxes) == 1
    assert worker.locate(big) == boxes
    np.testing.assert_array_equal(worker.encode(big, boxes[0]), engine.encode(big, boxes[0]))
    small = frame_to_rgb(scene(probe))  # and the usual block still works afterwards
    assert worker.locate(small) == engine.locate(small)


def test_a_visit_through_the_worker_follows_the_same_path_as_in_process(
    worker: FaceWorker, engine: FaceEngine, probe: np.ndarray
) -> None:
    frames = [scene(probe, *natural(i)) for i in range(8)]

    def outcomes(stack: FaceStack) -> list[tuple[str, int, Box | None]]:
        pipeline = FacePipeline(stack, PipelineSettings())
        out = []
        for i, frame in enumerate(frames):
            result = pipeline.process(frame, 0.1 * i)
            out.append(
                (result.state, result.faces, pipeline._visit.box if pipeline._visit else None)
            )
        return out

    expected = outcomes(engine)
    assert {state for state, _, _ in expected} == {"following"}
    assert outcomes(worker) == expected


def test_killed_worker_makes_attendance_unavailable_then_it_is_restarted(
    gate: Kiosk, probe: np.ndarray
) -> None:
    from ui import create_app

    client = create_app(gate, {"TESTING": True}).test_client()
    attendance = gate.attendance
    assert attendance is not None and attendance.faces is not None
    first = attendance.faces.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: attendance.status == "unavailable", timeout=10)
    health = client.get("/healthz").get_json()["attendance"]
    assert health["status"] == "unavailable"
    assert "face worker killed by SIGKILL" in health["error"]
    # The gate works on, and frames are dropped at once while the worker is down.
    assert simulate_present(gate, "NO-SUCH-BOOKING", 36.6).decision.reason.value == (
        "booking_unknown"
    )
    assert attendance.process_frame(scene(probe), 0.0) is None
    wait_for(lambda: attendance.status == "ok")
    assert attendance.faces.pid not in (None, first)
    assert attendance.faces.restarts == 1
    assert client.get("/healthz").get_json()["attendance"] == {
        "status": "ok",
        "error": None,
        "enrolled": 1,
    }
    assert gate.simulator is not None
    gate.simulator.set_body_temperature(36.6)
    results = run_frames(gate, [scene(probe, *natural(i)) for i in range(12)], start=10.0)
    assert [r.decision.reason for r in results] == [Reason.STAFF]


BROKEN_DLIB = {
    "segfault": ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "killed by SIGSEGV"),
    "quit": ("raise SystemExit('Please install `face_recognition_models`')\n", "cannot load dlib"),
    "exit": ("import os\nos._exit(3)\n", "exited with code 3"),
}


@pytest.mark.parametrize("how", sorted(BROKEN_DLIB))
def test_a_face_stack_that_dies_at_import_is_unavailable_and_retried_until_it_loads(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, reason = BROKEN_DLIB[how]
    (tmp_path / "dlib.py").write_text(source)
    # The worker is a fresh interpreter: it sees the broken module through its environment.
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    faces = FaceWorker(backoff_s=(0.1, 0.2)).start()
    try:
        assert faces.status == "unavailable"
        assert reason in (faces.error or "")
        with pytest.raises(FaceStackUnavailable) as raised:  # at once, not after a timeout
            faces.locate(np.zeros((48, 64), np.uint8))
        assert reason in str(raised.value)
        wait_for(lambda: faces.restarts >= 2)
        assert faces.status == "unavailable"
        (tmp_path / "dlib.py").unlink()  # the face stack is repaired: it comes back by itself
        wait_for(lambda: faces.status == "ok")
        assert faces.locate(np.zeros((48, 64), np.uint8)) == []
    finally:
        faces.close()
    assert faces.status == "stopped"


def test_frames_offered_while_the_worker_is_busy_are_dropped_not_queued(
    gate: Kiosk, probe: np.ndarray
) -> None:
    attendance = gate.attendance
    assert attendance is not None and attendance.pipeline is not None
    seen: list[float] = []
    process = attendance.pipeline.process

    def counting(frame: Any, t: float) -> Any:
        seen.append(t)
        return process(frame, t)

    attendance.pipeline.process = counting  # type: ignore[method-assign]
    attendance.start_worker()
    frames = [scene(probe, *natural(i)) for i in range(30)]
    for frame in frames:
        attendance.offer(frame)  # the scanner's call: keeps only the newest frame
    wait_for(lambda: attendance._frame is None and len(seen) > 0)
    time.sleep(0.5)  # the frame being processed finishes; nothing queued behind it
    assert 1 <= len(seen) < len(frames)
