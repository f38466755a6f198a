"""USB webcam through OpenCV's V4L2 backend.

Wiring: a UVC webcam on any USB port shows up as ``/dev/videoN``. The source is the index
``N`` (``"0"``), the path (``"/dev/video0"``) or, best because it survives re-plugging into
another port, a stable link such as ``/dev/v4l/by-id/usb-…-video-index0``.

A Raspberry Pi *CSI* camera does not deliver frames through ``cv2.VideoCapture`` on Bookworm
(libcamera stack): it opens, then every read times out. Use :mod:`drivers.picamera` for it.

Timing: a read waits at most ``READ_TIMEOUT_S`` for a frame, then raises
:class:`~drivers.errors.CameraError`. OpenCV's V4L2 backend waits 10 s by default and offers no
per-capture read timeout, only the process-wide ``OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT``, which
it reads the first time any V4L2 camera waits for a frame; this module sets it (unless the
environment already does) when it is imported, before any camera is opened.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from pathlib import Path
from typing import cast

import cv2

from drivers.base import ClosesOnExit, Frame
from drivers.errors import CameraError, DeviceError

READ_TIMEOUT_S = 2
"""Longest wait for one frame, seconds (V4L2 select timeout, whole seconds)."""

os.environ.setdefault("OPENCV_VIDEOIO_V4L_SELECT_TIMEOUT", str(READ_TIMEOUT_S))

_INDEX = re.compile(r"\d{1,3}")
_LINUX = sys.platform.startswith("linux")


def is_v4l2_source(source: str) -> bool:
    """True for a device index (``"0"``) or a V4L2 device path (``/dev/video0``, ``/dev/v4l/…``)."""
    return bool(_INDEX.fullmatch(source)) or source.startswith(("/dev/video", "/dev/v4l/"))


class OpenCVCamera(ClosesOnExit):
    """A V4L2 camera; ``read()`` returns the newest frame (BGR, uint8).

    Thread-safe; ``close()`` is idempotent and waits for a read in progress (at most
    ``READ_TIMEOUT_S``).
    """

    def __init__(self, capture: cv2.VideoCapture, source: str) -> None:
        self._capture = capture
        self.source = source
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls, source: str, *, width: int = 640, height: int = 480, check_frame: bool = True
    ) -> OpenCVCamera:
        """Open ``source`` (index or device path) and, with ``check_frame``, read one frame.

        Raises :class:`~drivers.errors.DeviceError` saying what to check when the device is
        missing, not accessible, busy, or opens without delivering frames (a CSI camera).
        """
        source = source.strip()
        if not is_v4l2_source(source):
            raise DeviceError(
                f"camera {source!r} is not a V4L2 device: give an index like 0 or a path "
                "like /dev/video0"
            )
        path = f"/dev/video{source}" if source.isdigit() else source
        if _LINUX:
            _check_device_node(path)
        target: int | str = int(source) if source.isdigit() else path
        capture = cv2.VideoCapture(target, cv2.CAP_V4L2 if _LINUX else cv2.CAP_ANY)
        if not capture.isOpened():
            capture.release()
            raise DeviceError(
                f"camera {path} exists but cannot be opened — is another program using it "
                f"(`fuser {path}`)? Is it a capture device (`v4l2-ctl --list-devices`)?"
            )
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of stale ones
        camera = cls(capture, path)
        if check_frame:
            try:
                camera.read()
            except CameraError:
                camera.close()
                raise DeviceError(
                    f"camera {path} opens but gives no frames within {READ_TIMEOUT_S} s — a "
                    "Raspberry Pi CSI camera needs the 'picamera' source; a USB camera may "
                    "need another port or a powered hub"
                ) from None
        return camera

    def read(self) -> Frame:
        with self._lock:
            if self._closed:
                raise CameraError(f"camera {self.source} is closed")
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(
                f"camera {self.source} gives no frames — check its USB cable; the scanner "
                "reconnects by itself when it is back"
            )
        return cast(Frame, frame)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._capture.release()


def _check_device_node(path: str) -> None:
    node = Path(path)
    if not node.exists():
        present = sorted(str(p) for p in Path("/dev").glob("video*"))
        found = ", ".join(present) if present else "none"
        raise DeviceError(
            f"camera {path} does not exist (video devices present: {found}) — plug in the "
            "USB camera, check `v4l2-ctl --list-devices`, and set hardware.camera to its "
            "index or /dev/video path"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        raise DeviceError(
            f"no permission to use camera {path} — add the kiosk user to the 'video' group "
            "(`sudo usermod -aG video $USER`, then log in again)"
        )
