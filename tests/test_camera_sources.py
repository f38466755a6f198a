"""Camera sources: replay of recordings and choosing a driver by name.

The Pi camera's helper process has its own tests (test_picamera_helper.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from drivers import opencv_camera, picamera, replay_camera
from drivers.camera_factory import open_camera
from drivers.replay_camera import ReplayCamera
from drivers.sim_camera import render_scene
from kiosk.errors import CameraError, DeviceError
from kiosk.vision.qr import decode_frame

TEXTS = ("GATE-FIRST", "GATE-SECOND", "GATE-THIRD")


@pytest.fixture(scope="module")
def scenes() -> list[np.ndarray]:
    return [render_scene(text) for text in TEXTS]


@pytest.fixture
def image_folder(tmp_path: Path, scenes: list[np.ndarray]) -> Path:
    """Three QR frames named so that plain string order would be wrong (10 before 2)."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for name, scene in zip(("frame1.png", "frame2.png", "frame10.png"), scenes, strict=True):
        assert cv2.imwrite(str(folder / name), scene)
    (folder / "notes.txt").write_text("not a frame", encoding="utf-8")
    assert cv2.imwrite(str(folder / ".hidden.png"), render_scene("HIDDEN"))
    return folder


@pytest.fixture
def video_file(tmp_path: Path, scenes: list[np.ndarray]) -> Path:
    path = tmp_path / "gate.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened()
    for scene in scenes:
        writer.write(scene)
    writer.release()
    return path


def read_texts(camera: Any, count: int) -> list[str]:
    return [text for _ in range(count) for text in decode_frame(camera.read())]


# -- replay: image folder -------------------------------------------------------------------
def test_folder_replay_plays_images_in_name_order_numbers_as_numbers(
    image_folder: Path, scenes: list[np.ndarray]
) -> None:
    with ReplayCamera.open(image_folder, fps=None) as camera:
        frames = [camera.read() for _ in scenes]
    for frame, scene in zip(frames, scenes, strict=True):
        assert np.array_equal(frame, scene)  # PNG is lossless: exactly the frame written


def test_folder_replay_loops_when_asked(image_folder: Path) -> None:
    with ReplayCamera.open(image_folder, fps=None, loop=True) as camera:
        assert read_texts(camera, 7) == [*TEXTS, *TEXTS, TEXTS[0]]


def test_folder_replay_without_loop_ends_with_camera_error(image_folder: Path) -> None:
    with ReplayCamera.open(image_folder, fps=None) as camera:
        read_texts(camera, 3)
        for _ in range(2):  # and stays ended
            with pytest.raises(CameraError, match="has ended"):
                camera.read()


def test_unreadable_image_in_folder_is_a_camera_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png")
    with (
        ReplayCamera.open(tmp_path, fps=None) as camera,
        pytest.raises(CameraError, match=r"a\.png"),
    ):
        camera.read()


# -- replay: video file ---------------------------------------------------------------------
def test_video_replay_plays_frames_in_order(video_file: Path) -> None:
    with ReplayCamera.open(video_file, fps=None) as camera:
        assert read_texts(camera, 3) == list(TEXTS)


def test_video_replay_loops_when_asked(video_file: Path) -> None:
    with ReplayCamera.open(video_file, fps=None, loop=True) as camera:
        assert read_texts(camera, 7) == [*TEXTS, *TEXTS, TEXTS[0]]


def test_video_replay_without_loop_ends_with_camera_error(video_file: Path) -> None:
    with ReplayCamera.open(video_file, fps=None) as camera:
        read_texts(camera, 3)
        with pytest.raises(CameraError, match="has ended"):
            camera.read()


# -- replay: opening and pacing -------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.avi", "does not exist"),
        (lambda tmp: tmp, "holds no images"),
        (lambda tmp: _write(tmp / "clip.avi", b"garbage, not a video"), "not a video"),
    ],
    ids=["missing path", "empty folder", "not a video"],
)
def test_unplayable_replay_source_is_a_device_error(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    with pytest.raises(DeviceError, match=message):
        ReplayCamera.open(make(tmp_path))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_replay_is_paced_at_the_configured_fps(image_folder: Path) -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    camera = ReplayCamera.open(image_folder, fps=4.0, loop=True, clock=lambda: now[0], sleep=sleep)
    camera.read()  # the first frame at once
    now[0] += 0.05  # the caller spends 50 ms on the frame
    camera.read()
    camera.read()
    camera.close()
    assert slept == [0.2, 0.25]


def test_closed_replay_raises_and_close_is_idempotent(image_folder: Path) -> None:
    camera = ReplayCamera.open(image_folder, fps=None)
    camera.close()
    camera.close()
    with pytest.raises(CameraError, match="closed"):
        camera.read()


# -- choosing a driver ----------------------------------------------------------------------
@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """Record which driver ``open_camera`` picks instead of opening real hardware."""
    calls: list[tuple[str, object]] = []

    def fake_opencv(source: str, **_: object) -> str:
        calls.append(("opencv", source))
        return "camera"

    def fake_picamera(number: int, **_: object) -> str:
        calls.append(("picamera", number))
        return "camera"

    def fake_replay(path: str, **options: object) -> str:
        calls.append(("replay", (path, options["fps"], options["loop"])))
        return "camera"

    monkeypatch.setattr(opencv_camera.OpenCVCamera, "open", fake_opencv)
    monkeypatch.setattr(picamera, "open_picamera", fake_picamera)
    monkeypatch.setattr(replay_camera.ReplayCamera, "open", fake_replay)
    return calls


@pytest.mark.parametrize(
    ("source", "kind", "expected"),
    [
        ("0", "auto", ("opencv", "0")),
        (" 2 ", "auto", ("opencv", "2")),
        ("/dev/video1", "auto", ("opencv", "/dev/video1")),
        (
            "/dev/v4l/by-id/usb-cam-video-index0",
            "auto",
            ("opencv", "/dev/v4l/by-id/usb-cam-video-index0"),
        ),
        ("picamera", "auto", ("picamera", 0)),
        ("PiCamera", "auto", ("picamera", 0)),
        ("1", "picamera", ("picamera", 1)),
        ("{file}", "auto", ("replay", ("{file}", 10.0, True))),
        ("{dir}", "auto", ("replay", ("{dir}", 10.0, True))),
        ("{file}", "replay", ("replay", ("{file}", 10.0, True))),
        ("/dev/video5", "opencv", ("opencv", "/dev/video5")),
    ],
)
def test_open_camera_picks_the_driver_from_the_source(
    tmp_path: Path,
    chosen: list[tuple[str, object]],
    source: str,
    kind: str,
    expected: tuple[str, object],
) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")

    def fill(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(fill(v) for v in value)
        if isinstance(value, str):
            return value.replace("{file}", str(clip)).replace("{dir}", str(tmp_path))
        return value

    assert open_camera(fill(source), kind=kind) == "camera"
    assert chosen == [fill(expected)]


@pytest.mark.parametrize(
    ("source", "kind", "message"),
    [
        ("", "auto", "no camera given"),
        ("/srv/nowhere/clip.avi", "auto", "does not exist"),
        ("webcam", "auto", "/dev/video0"),
        ("0", "usb", "unknown"),
        ("front", "picamera", "camera number"),
    ],
)
def test_open_camera_rejects_what_it_cannot_place(
    chosen: list[tuple[str, object]], source: str, kind: str, message: str
) -> None:
    with pytest.raises(DeviceError, match=message):
        open_camera(source, kind=kind)
    assert chosen == []


@pytest.mark.parametrize("source", ["/dev/video99", "99"])
def test_missing_video_device_says_what_to_check(source: str) -> None:
    if Path("/dev/video99").exists():  # pragma: no cover - never on a test machine
        pytest.skip("this machine has a /dev/video99")
    with pytest.raises(DeviceError) as info:
        open_camera(source)
    message = str(info.value)
    assert "/dev/video99 does not exist" in message
    assert "v4l2-ctl --list-devices" in message


def test_opencv_driver_refuses_a_non_v4l2_source() -> None:
    with pytest.raises(DeviceError, match="not a V4L2 device"):
        opencv_camera.OpenCVCamera.open("/dev/null")


def test_open_camera_replays_a_real_folder(image_folder: Path) -> None:
    camera = open_camera(str(image_folder), replay_fps=None, replay_loop=False)
    try:
        assert read_texts(camera, 3) == list(TEXTS)
    finally:
        camera.close()


def test_open_camera_runs_the_pi_camera_under_the_configured_python() -> None:
    with pytest.raises(DeviceError, match=r"system Python /nowhere/python3"):
        open_camera("picamera", picamera_python="/nowhere/python3")
