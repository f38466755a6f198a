"""Open the camera named by ``hardware.camera``.

=====================================  =======================================
source                                 camera
=====================================  =======================================
``0``, ``/dev/video0``, ``/dev/v4l/…``  USB webcam through OpenCV (V4L2)
``picamera``                           Raspberry Pi CSI camera (Picamera2 helper process)
an existing file                       video replay (:mod:`drivers.replay_camera`)
an existing folder                     image folder replay, in name order
=====================================  =======================================

``kind`` forces one driver instead of guessing: ``"opencv"``, ``"picamera"`` (``source`` is
then ``picamera`` or a camera number), or ``"replay"``. Anything that fits no row raises
:class:`~drivers.errors.DeviceError` listing what is accepted; nothing falls back to another
camera.
"""

from __future__ import annotations

from pathlib import Path

from drivers.base import Camera
from drivers.errors import DeviceError

KINDS = ("auto", "opencv", "picamera", "replay")

ACCEPTED = (
    "a camera index like 0, a device path like /dev/video0, 'picamera' for the Pi camera "
    "module, a video file or a folder of images"
)


def open_camera(
    source: str,
    *,
    kind: str = "auto",
    replay_fps: float | None = 10.0,
    replay_loop: bool = True,
    picamera_python: str | None = None,
) -> Camera:
    """Open ``source`` as a camera; see the module docstring for what it may be.

    Replays loop by default, so a demonstration clip keeps running at the gate.
    ``picamera_python`` is the system Python that runs Picamera2 (``hardware.picamera_python``;
    default ``/usr/bin/python3``).
    """
    source = source.strip()
    if kind not in KINDS:
        raise DeviceError(f"camera kind {kind!r} is unknown; choose one of {', '.join(KINDS)}")
    if kind == "auto":
        kind = _guess_kind(source)
    if kind == "opencv":
        from drivers.opencv_camera import OpenCVCamera

        return OpenCVCamera.open(source)
    if kind == "picamera":
        from drivers.picamera import SYSTEM_PYTHON, open_picamera

        return open_picamera(_picamera_number(source), python=picamera_python or SYSTEM_PYTHON)
    from drivers.replay_camera import ReplayCamera

    return ReplayCamera.open(source, fps=replay_fps, loop=replay_loop)


def _guess_kind(source: str) -> str:
    from drivers.opencv_camera import is_v4l2_source

    if not source:
        raise DeviceError(f"no camera given: set hardware.camera to {ACCEPTED}")
    if source.lower() == "picamera":
        return "picamera"
    if is_v4l2_source(source):
        return "opencv"
    if Path(source).exists():
        return "replay"
    raise DeviceError(f"camera {source!r} does not exist; hardware.camera must be {ACCEPTED}")


def _picamera_number(source: str) -> int:
    if source.lower() in ("picamera", ""):
        return 0
    if source.isdigit():
        return int(source)
    raise DeviceError(f"Pi camera {source!r}: give 'picamera' or a camera number like 0")
