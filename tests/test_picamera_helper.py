"""The Pi camera's helper process, run for real under the system Python with a stand-in Picamera2.

The stand-in (written below into a temporary folder handed to the helper with
``--sys-path``) has Picamera2's calls and behaves as the test's ``behaviour.json`` says:
frames from raw files, a numpy-mismatch ``ValueError`` at import, no camera, autofocus
controls or not, a crash after N frames, a stalled capture. It runs without numpy: its
frames are memoryviews shaped H×W×3, which is what the helper sees of a numpy array.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from drivers.picamera import PiCamera, open_picamera
from drivers.sim_camera import render_scene
from kiosk.errors import CameraError, DeviceError
from kiosk.vision.qr import decode_frame

SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(
    not os.access(SYSTEM_PYTHON, os.X_OK), reason="needs the system Python at /usr/bin/python3"
)

STAND_IN = '''
"""Stand-in Picamera2 for the kiosk's tests (no numpy; frames are shaped memoryviews)."""
import importlib.util, json, os, sys, time
from pathlib import Path

HERE = Path(__file__).parent
BEHAVIOUR = json.loads((HERE / "behaviour.json").read_text())


def _log(call, *args):
    with open(HERE / "calls.log", "a") as log:
        log.write(json.dumps([call, *args]) + "\\n")


_log("import", {
    "isolated": sys.flags.isolated,
    "no_user_site": sys.flags.no_user_site,
    "kiosk_visible": importlib.util.find_spec("kiosk") is not None,
    "drivers_visible": importlib.util.find_spec("drivers") is not None,
    "prefix": sys.prefix,
})
if "import_error" in BEHAVIOUR:
    kind, message = BEHAVIOUR["import_error"]
    raise {"ValueError": ValueError, "ModuleNotFoundError": ModuleNotFoundError}[kind](message)
if BEHAVIOUR.get("die_at_import"):
    print("Segmentation fault", file=sys.stderr, flush=True)
    os._exit(139)


class Picamera2:
    def __init__(self, camera_num=0):
        if camera_num >= BEHAVIOUR.get("cameras", 1):
            raise IndexError("list index out of range")
        _log("open", camera_num)
        self.camera_controls = {"ExposureTime": (1, 66666, None)}
        if BEHAVIOUR.get("autofocus"):
            self.camera_controls["AfMode"] = (0, 2, 0)
        self.frames = [(HERE / name).read_bytes() for name in BEHAVIOUR.get("frames", [])]
        self.served = 0

    def create_video_configuration(self, main):
        return {"main": dict(main), "use_case": "video"}

    def configure(self, config):
        _log("configure", {"size": list(config["main"]["size"]), "format": config["main"]["format"]})

    def set_controls(self, controls):
        _log("set_controls", controls)

    def start(self):
        _log("start")

    def capture_array(self, name="main"):
        if self.served == BEHAVIOUR.get("crash_after", -1):
            print("libcamera: camera frontend has timed out!", file=sys.stderr, flush=True)
            os._exit(7)
        if BEHAVIOUR.get("stall"):
            time.sleep(3600)
        data = self.frames[self.served % len(self.frames)]
        self.served += 1
        return memoryview(bytearray(data)).cast("B", (480, 640, 3))

    def stop(self):
        _log("stop")

    def close(self):
        _log("close")
'''

LIBCAMERA = "class controls:\n    class AfModeEnum:\n        Continuous = 2\n"


class StandIn:
    """The stand-in's folder: write its behaviour, read what it was asked to do."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "picamera2.py").write_text(STAND_IN, encoding="utf-8")
        (folder / "libcamera.py").write_text(LIBCAMERA, encoding="utf-8")
        self.frames: list[np.ndarray] = []
        self.behave()

    def behave(self, **behaviour: Any) -> None:
        behaviour.setdefault("frames", [f"frame{i}.raw" for i in range(len(self.frames))])
        (self.folder / "behaviour.json").write_text(json.dumps(behaviour), encoding="utf-8")

    def add_frame(self, frame: np.ndarray) -> None:
        (self.folder / f"frame{len(self.frames)}.raw").write_bytes(frame.tobytes())
        self.frames.append(frame)

    def calls(self) -> list[list[Any]]:
        log = self.folder / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]

    def open(self, **options: Any) -> PiCamera:
        options.setdefault("python", SYSTEM_PYTHON)
        return open_picamera(extra_sys_path=(str(self.folder),), **options)


@pytest.fixture
def stand_in(tmp_path: Path) -> StandIn:
    return StandIn(tmp_path)


@pytest.fixture
def opened() -> Iterator[list[PiCamera]]:
    """Cameras a test opened; closed afterwards even when the test fails."""
    cameras: list[PiCamera] = []
    yield cameras
    for camera in cameras:
        camera.close()


def noise() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, size=(480, 640, 3), dtype=np.uint8)


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (reaped by close(), so it cannot be a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_frames_arrive_intact_as_bgr(stand_in: StandIn, opened: list[PiCamera]) -> None:
    scene, other = render_scene("PI-CAMERA"), noise()
    stand_in.add_frame(scene)
    stand_in.add_frame(other)
    stand_in.behave()
    opened.append(camera := stand_in.open())
    first, second, third = camera.read(), camera.read(), camera.read()
    for frame in (first, second, third):
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert np.array_equal(first, scene)  # RGB888 is BGR in memory: no conversion
    assert np.array_equal(second, other)
    assert np.array_equal(third, scene)
    assert decode_frame(first) == ["PI-CAMERA"]
    assert ["configure", {"size": [640, 480], "format": "RGB888"}] in stand_in.calls()
    assert ["start"] in stand_in.calls()


def test_helper_runs_isolated_from_the_venv_and_the_kiosk(
    stand_in: StandIn, opened: list[PiCamera]
) -> None:
    stand_in.add_frame(noise())
    stand_in.behave()
    opened.append(stand_in.open())
    seen = stand_in.calls()[0][1]
    assert seen["isolated"] == 1 and seen["no_user_site"] == 1
    assert not seen["kiosk_visible"] and not seen["drivers_visible"]
    assert seen["prefix"] != sys.prefix  # the system Python, not the venv


@pytest.mark.parametrize("has_af", [True, False], ids=["camera module 3", "fixed focus"])
def test_continuous_autofocus_is_set_when_the_camera_has_it(
    stand_in: StandIn, opened: list[PiCamera], has_af: bool
) -> None:
    stand_in.add_frame(noise())
    stand_in.behave(autofocus=has_af)
    opened.append(camera := stand_in.open())
    assert camera.autofocus is has_af
    set_controls = [c for c in stand_in.calls() if c[0] == "set_controls"]
    assert set_controls == ([["set_controls", {"AfMode": 2}]] if has_af else [])
    calls = [c[0] for c in stand_in.calls()]
    if has_af:  # set before the stream starts
        assert calls.index("set_controls") < calls.index("start")


NUMPY_MISMATCH = (
    "numpy.dtype size changed, may indicate binary incompatibility. "
    "Expected 96 from C header, got 88 from PyObject"
)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ({"import_error": ["ValueError", NUMPY_MISMATCH]}, ["numpy mismatch", "dtype size"]),
        (
            {"import_error": ["ModuleNotFoundError", "No module named 'picamera2'"]},
            ["sudo apt install python3-picamera2", SYSTEM_PYTHON],
        ),
        ({"cameras": 0}, ["no Pi camera 0", "ribbon cable", "rpicam-hello"]),
        ({"die_at_import": True}, ["stopped at start-up", "exit code 139", "Segmentation"]),
    ],
    ids=["numpy mismatch", "not installed", "no camera", "helper died"],
)
def test_a_helper_that_cannot_start_is_a_device_error_saying_what_to_do(
    stand_in: StandIn, behaviour: dict[str, Any], expected: list[str]
) -> None:
    stand_in.behave(**behaviour)
    with pytest.raises(DeviceError) as info:
        stand_in.open()
    for text in expected:
        assert text in str(info.value)


def test_a_missing_system_python_is_a_device_error(stand_in: StandIn) -> None:
    with pytest.raises(DeviceError, match=r"hardware\.picamera_python"):
        stand_in.open(python="/nonexistent/bin/python3")


def test_helper_crash_mid_run_is_a_camera_error(stand_in: StandIn, opened: list[PiCamera]) -> None:
    stand_in.add_frame(noise())
    stand_in.behave(crash_after=1)
    opened.append(camera := stand_in.open())
    camera.read()
    for _ in range(2):  # and stays an error, never a crash
        with pytest.raises(CameraError) as info:
            camera.read()
        assert "helper stopped (exit code 7" in str(info.value)
        assert "timed out" in str(info.value)  # its last words, for the officer's log


def test_no_frame_in_time_is_a_camera_error(stand_in: StandIn, opened: list[PiCamera]) -> None:
    stand_in.add_frame(noise())
    stand_in.behave(stall=True)
    opened.append(camera := stand_in.open(read_timeout_s=0.3))
    with pytest.raises(CameraError, match=r"no frame within 0\.3 s"):
        camera.read()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("stall", [False, True], ids=["idle helper", "helper stuck in capture"])
def test_close_ends_the_helper_and_is_idempotent(stand_in: StandIn, stall: bool) -> None:
    stand_in.add_frame(noise())
    stand_in.behave(stall=stall)
    camera = stand_in.open(read_timeout_s=0.2)
    if stall:
        with pytest.raises(CameraError):
            camera.read()
    else:
        camera.read()
    pid = camera.pid
    assert not gone(pid)
    camera.close()
    camera.close()
    assert gone(pid)
    if not stall:  # asked politely (end of stdin), it released the camera itself
        assert [c[0] for c in stand_in.calls()][-2:] == ["stop", "close"]
    with pytest.raises(CameraError, match="closed"):
        camera.read()
