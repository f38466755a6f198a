"""Replay camera: a recorded video, or a folder of images, played back as a camera.

For installers (check the decoder against footage from the real gate without a visitor) and
for tests. Not a silent fallback: it is chosen only by giving a file or folder as the camera.

- A video file is read through OpenCV (whatever its FFmpeg can decode: AVI/MJPG, MP4, …).
- A folder plays its images (``.png``, ``.jpg``, …; hidden files skipped) in name order,
  numbers compared as numbers, so ``frame2.png`` comes before ``frame10.png``. The list is
  taken when the camera opens; each image is read from disk when its turn comes.

Timing: ``read()`` paces playback at ``fps`` frames per second (sleeping until the next
frame is due; ``fps=None`` plays as fast as it is read). At the end of the recording it
starts again when ``loop`` is set, otherwise every read raises
:class:`~drivers.errors.CameraError`, as a camera that stopped delivering would.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, cast

import cv2

from drivers.base import ClosesOnExit, Frame
from drivers.errors import CameraError, DeviceError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})
"""Files a folder replay plays; anything else in the folder is ignored."""


class _Frames(Protocol):
    """A recording: ``next()`` gives the next frame or ``None`` at its end."""

    name: str

    def next(self) -> Frame | None: ...

    def rewind(self) -> None: ...

    def close(self) -> None: ...


class ReplayCamera(ClosesOnExit):
    """Plays a recording as a :class:`~drivers.base.Camera`. Thread-safe; ``close()`` idempotent."""

    def __init__(
        self,
        frames: _Frames,
        *,
        fps: float | None = 10.0,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive (or None: no pacing)")
        self._frames = frames
        self.source = frames.name
        self.fps, self.loop = fps, loop
        self._clock, self._sleep = clock, sleep
        self._due: float | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._ended = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        fps: float | None = 10.0,
        loop: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> ReplayCamera:
        """Open a video file or an image folder; :class:`DeviceError` if it cannot be played."""
        path = Path(path)
        frames: _Frames
        if path.is_dir():
            frames = _ImageFolder(path)
        elif path.is_file():
            frames = _VideoFile(path)
        else:
            problem = "is neither a file nor a folder" if path.exists() else "does not exist"
            raise DeviceError(
                f"replay source {str(path)!r} {problem} — give a video file or a folder of images"
            )
        return cls(frames, fps=fps, loop=loop, clock=clock, sleep=sleep)

    def read(self) -> Frame:
        with self._lock:
            if self._closed:
                raise CameraError(f"replay {self.source} is closed")
            if self._ended:
                raise CameraError(f"replay {self.source} has ended (it does not loop)")
            self._pace()
            frame = self._frames.next()
            if frame is None and self.loop:
                self._frames.rewind()
                frame = self._frames.next()
            if frame is None:
                self._ended = True
                raise CameraError(f"replay {self.source} has ended (it does not loop)")
            return frame

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._frames.close()

    def _pace(self) -> None:
        if self.fps is None:
            return
        now = self._clock()
        if self._due is not None and now < self._due:
            self._sleep(self._due - now)
            now = self._due
        self._due = now + 1.0 / self.fps


class _VideoFile:
    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self._capture = self._open()

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(self.name)
        if not capture.isOpened():
            capture.release()
            raise DeviceError(
                f"replay file {self.name!r} is not a video OpenCV can play (try an .avi "
                "with MJPG or an .mp4)"
            )
        return capture

    def next(self) -> Frame | None:
        ok, frame = self._capture.read()
        return cast(Frame, frame) if ok and frame is not None else None

    def rewind(self) -> None:
        # Reopening is reliable for every container; seeking to frame 0 is not.
        self._capture.release()
        try:
            self._capture = self._open()
        except DeviceError as exc:
            raise CameraError(str(exc)) from None

    def close(self) -> None:
        self._capture.release()


class _ImageFolder:
    def __init__(self, folder: Path) -> None:
        self.name = str(folder)
        self._paths = sorted(
            (
                p
                for p in folder.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
            ),
            key=lambda p: _natural_key(p.name),
        )
        if not self._paths:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise DeviceError(f"replay folder {self.name!r} holds no images ({suffixes})")
        self._next = 0

    def next(self) -> Frame | None:
        if self._next >= len(self._paths):
            return None
        path = self._paths[self._next]
        self._next += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise CameraError(f"replay image {str(path)!r} is missing or not a readable image")
        return cast(Frame, frame)

    def rewind(self) -> None:
        self._next = 0

    def close(self) -> None:
        pass


def _natural_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key: digit runs compare as numbers (``frame2`` before ``frame10``)."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name)]
