"""USB webcam (V4L2) or replay file through OpenCV.

A Raspberry Pi *CSI* camera does not deliver frames through
``cv2.VideoCapture`` on Bookworm (libcamera stack); use Picamera2 for those.
"""

from __future__ import annotations

import threading

import cv2

from drivers.base import Frame
from kiosk.errors import CameraError, DeviceError


class OpenCVCamera:
    def __init__(self, capture: cv2.VideoCapture, source: str) -> None:
        self._capture = capture
        self.source = source
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(cls, source: str, *, width: int = 640, height: int = 480) -> OpenCVCamera:
        target: int | str = int(source) if source.isdigit() else source
        capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            capture.release()
            raise DeviceError(
                f"camera {source!r} cannot be opened — check the USB cable, `ls /dev/video*`, "
                "and that the kiosk user is in the 'video' group"
            )
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        return cls(capture, source)

    def read(self) -> Frame:
        with self._lock:
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f"camera {self.source!r} gives no frames — scanner unavailable")
        return frame  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._capture.release()
