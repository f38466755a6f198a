"""Raspberry Pi CSI camera (camera module on the ribbon cable) through Picamera2.

On Raspberry Pi OS Bookworm the CSI camera runs on libcamera; ``cv2.VideoCapture`` opens it
but gets no frames, so this driver uses Picamera2. Picamera2 is not on PyPI in a form that
works: it comes from apt (``python3-picamera2``), and the kiosk's venv must be created with
``--system-site-packages`` to see it. It is imported only when a Pi camera is opened, so the
kiosk runs (and is tested) without it.

Frames: the main stream is configured as ``"RGB888"``, which libcamera lays out as B, G, R
bytes, i.e. exactly OpenCV's BGR: frames are used as they come, no conversion.

Timing: ``read()`` waits at most ``read_timeout_s`` for the next frame, then raises
:class:`~kiosk.errors.CameraError` (loose ribbon cable, camera stalled).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from drivers.base import ClosesOnExit, Frame
from kiosk.errors import CameraError, DeviceError

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "install it with `sudo apt install python3-picamera2` and create the kiosk's venv with "
    "`python3 -m venv --system-site-packages .venv` so it can see the apt package "
    "(pip cannot install a working Picamera2)"
)


class PiCamera(ClosesOnExit):
    """An open, started Picamera2. Thread-safe; ``close()`` is idempotent."""

    def __init__(self, picam: Any, camera_num: int, *, read_timeout_s: float = 2.0) -> None:
        self._picam = picam
        self.camera_num = camera_num
        self.read_timeout_s = read_timeout_s
        self._lock = threading.Lock()
        self._closed = False

    def read(self) -> Frame:
        with self._lock:
            if self._closed:
                raise CameraError(f"Pi camera {self.camera_num} is closed")
            try:
                job = self._picam.capture_array("main", wait=False)
                frame = self._picam.wait(job, timeout=self.read_timeout_s)
            except TimeoutError:
                raise CameraError(
                    f"Pi camera {self.camera_num} gave no frame within {self.read_timeout_s:g} s"
                    " — check the ribbon cable; the scanner reconnects by itself"
                ) from None
            except Exception as exc:
                raise CameraError(f"Pi camera {self.camera_num} failed: {exc}") from exc
        return frame  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _release(self._picam)


def open_picamera(
    camera_num: int = 0,
    *,
    width: int = 640,
    height: int = 480,
    read_timeout_s: float = 2.0,
) -> PiCamera:
    """Open and start CSI camera ``camera_num`` with a ``width``×``height`` BGR stream.

    Raises :class:`~kiosk.errors.DeviceError` when Picamera2 is not installed (saying how to
    install it) or when the camera is missing or busy.
    """
    try:
        import picamera2  # type: ignore[import-not-found]
    except ImportError as exc:
        raise DeviceError(
            f"the Pi camera needs Picamera2, which is not installed: {INSTALL_HINT}"
        ) from exc

    try:
        picam = picamera2.Picamera2(camera_num)
    except Exception as exc:
        raise DeviceError(
            f"no Pi camera {camera_num} ({exc}) — check the ribbon cable (contacts facing the "
            "right way, latch closed) and `rpicam-hello --list-cameras`; only one program can "
            "use the camera at a time"
        ) from exc
    try:
        config = picam.create_video_configuration(
            main={"size": (width, height), "format": "RGB888"}
        )
        picam.configure(config)
        picam.start()
    except Exception as exc:
        _release(picam)
        raise DeviceError(f"Pi camera {camera_num} cannot start ({exc})") from exc
    return PiCamera(picam, camera_num, read_timeout_s=read_timeout_s)


def _release(picam: Any) -> None:
    for step in (picam.stop, picam.close):
        try:
            step()
        except Exception:  # best effort: the camera may already be gone
            log.warning("Pi camera %s() failed", step.__name__, exc_info=True)
