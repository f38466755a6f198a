"""Raspberry Pi CSI camera (camera module on the ribbon cable) through Picamera2.

On Raspberry Pi OS Bookworm the CSI camera runs on libcamera; ``cv2.VideoCapture`` opens it
but gets no frames, so this driver uses Picamera2. Picamera2 comes from apt
(``python3-picamera2``), built against Bookworm's numpy 1.24; the kiosk's venv has numpy 2,
and importing Picamera2 there fails ("numpy.dtype size changed"). So Picamera2 runs in a
small helper process of its own under the *system* Python (``/usr/bin/python3 -I -s``,
:mod:`drivers.picamera_worker`), which imports nothing from the venv or the kiosk, and
hands frames over a pipe. Nothing from Picamera2 is imported here: the kiosk runs (and is
tested) without it.

Frames: the main stream is configured as 640×480 ``"RGB888"``, which libcamera lays out as
B, G, R bytes, i.e. exactly OpenCV's BGR: frames are used as they come, no conversion.
Camera Module 3 (autofocus): continuous autofocus is switched on, or QR codes at 20–40 cm
stay blurred.

Errors: whatever goes wrong in the helper — Picamera2 not installed, the numpy mismatch,
no camera on the cable, the helper dying — is a :class:`~drivers.errors.DeviceError` while
opening and a :class:`~drivers.errors.CameraError` while reading, with a message that says
what to do. Nothing here crashes the kiosk.

Timing: the helper needs up to ``start_timeout_s`` to import Picamera2 and start the camera;
``read()`` waits at most ``read_timeout_s`` for the next frame (~1 ms to copy 900 kB).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import io
import json
import logging
import select
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from drivers.base import ClosesOnExit, Frame
from drivers.errors import CameraError, DeviceError
from drivers.picamera_worker import HEADER, SHAPE

log = logging.getLogger(__name__)

SYSTEM_PYTHON = "/usr/bin/python3"
WORKER = Path(__file__).with_name("picamera_worker.py")
_F_SETPIPE_SZ = 1031  # Linux fcntl: room for a whole frame in the pipe

INSTALL_HINT = (
    "install it with `sudo apt install python3-picamera2` (pip cannot install a working "
    "Picamera2); the kiosk runs it under the system Python, not in its venv"
)
NUMPY_HINT = (
    "numpy mismatch: Picamera2 (apt, built for Bookworm's numpy 1.24) met another numpy in "
    "{python}'s path — remove numpy installed there by pip (`sudo pip3 uninstall "
    "--break-system-packages numpy`, check /usr/local/lib/python3*/dist-packages) and run "
    "`sudo apt install --reinstall python3-numpy python3-simplejpeg`"
)


class PiCamera(ClosesOnExit):
    """A started Pi camera in its helper process. Thread-safe; ``close()`` is idempotent."""

    def __init__(
        self, process: subprocess.Popen[bytes], camera_num: int, *, read_timeout_s: float
    ) -> None:
        self._process = process
        self.camera_num = camera_num
        self.read_timeout_s = read_timeout_s
        self.autofocus = False
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
        self._channel = _Channel(_pipe(process.stdout))
        self._pending = 0  # frames asked for and not yet received (a late one is skipped)
        self._lock = threading.Lock()
        self._closed = False
        self._stderr_reader = threading.Thread(
            target=self._drain_stderr, daemon=True, name="picamera-stderr"
        )
        self._stderr_reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def read(self) -> Frame:
        with self._lock:
            if self._closed:
                raise CameraError(f"Pi camera {self.camera_num} is closed")
            try:
                stdin = _pipe(self._process.stdin)
                stdin.write(b"f")
                stdin.flush()
            except OSError:
                raise CameraError(self._stopped()) from None
            self._pending += 1
            deadline = time.monotonic() + self.read_timeout_s
            while True:
                try:
                    message = self._channel.receive(deadline)
                except EOFError:
                    raise CameraError(self._stopped()) from None
                if message is None:
                    raise CameraError(
                        f"Pi camera {self.camera_num} gave no frame within "
                        f"{self.read_timeout_s:g} s — check the ribbon cable; the scanner "
                        "reconnects by itself"
                    )
                kind, payload = message
                self._pending -= 1
                if kind == b"E":
                    raise CameraError(f"Pi camera {self.camera_num} failed: {_detail(payload)}")
                if kind == b"F" and self._pending == 0:
                    return _frame(payload)

    def close(self) -> None:
        """Stop the helper (the camera is released when it exits); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            _stop(self._process)
        self._stderr_reader.join(timeout=2.0)

    def _stopped(self, when: str = "") -> str:
        code = self._process.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._process.wait(timeout=1.0)
        if code is not None:  # its last words are on their way through stderr
            self._stderr_reader.join(timeout=1.0)
        return (
            f"the Pi camera {self.camera_num} helper stopped{when} (exit code {code}"
            f"{_last_line(self.stderr_tail)}) — check the ribbon cable and "
            "`rpicam-hello --list-cameras`; the scanner reconnects by itself"
        )

    def _drain_stderr(self) -> None:
        """Keep the helper's log (libcamera is chatty) flowing and its last lines at hand."""
        with _pipe(self._process.stderr) as stream:
            for raw in stream:
                line = raw.decode(errors="replace").rstrip()
                self.stderr_tail.append(line)
                log.debug("picamera helper: %s", line)


def open_picamera(
    camera_num: int = 0,
    *,
    width: int = 640,
    height: int = 480,
    read_timeout_s: float = 2.0,
    start_timeout_s: float = 20.0,
    python: str = SYSTEM_PYTHON,
    extra_sys_path: tuple[str, ...] = (),
) -> PiCamera:
    """Start CSI camera ``camera_num`` with a ``width``×``height`` BGR stream in its helper.

    ``python`` is the system interpreter that has Picamera2 (``hardware.picamera_python``).
    ``extra_sys_path`` is put in front of the helper's module path: tests only, to give it
    a stand-in ``picamera2``. Raises :class:`~drivers.errors.DeviceError` with what to do
    when Picamera2 is missing or broken, the camera is missing or busy, or the helper fails.
    """
    command = [python, "-I", "-s", str(WORKER), "--camera", str(camera_num)]
    command += ["--width", str(width), "--height", str(height)]
    for folder in extra_sys_path:
        command += ["--sys-path", folder]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
            cwd="/",
        )
    except OSError as exc:
        raise DeviceError(
            f"the Pi camera needs the system Python {python}, which cannot run ({exc}) — "
            "install python3 and python3-picamera2 with apt, or set hardware.picamera_python"
        ) from exc
    camera = PiCamera(process, camera_num, read_timeout_s=read_timeout_s)
    with contextlib.suppress(OSError):  # best effort: the default 64 kB also works
        fcntl.fcntl(camera._channel.fd, _F_SETPIPE_SZ, 1 << 20)
    try:
        camera.autofocus = _await_ready(camera, python, start_timeout_s)
    except BaseException:
        camera.close()
        raise
    log.info(
        "Pi camera %d started (helper pid %d, autofocus %s)",
        camera_num,
        camera.pid,
        "continuous" if camera.autofocus else "none",
    )
    return camera


def _await_ready(camera: PiCamera, python: str, timeout_s: float) -> bool:
    num = camera.camera_num
    try:
        message = camera._channel.receive(time.monotonic() + timeout_s)
    except EOFError:
        raise DeviceError(camera._stopped(" at start-up")) from None
    if message is None:
        raise DeviceError(
            f"the Pi camera {num} helper did not start within {timeout_s:g} s — "
            "try `rpicam-hello --list-cameras`; only one program can use the camera at a time"
        )
    kind, payload = message
    if kind == b"R":
        return bool(json.loads(payload).get("autofocus"))
    detail = json.loads(payload) if kind == b"E" else {"stage": "?", "message": repr(kind)}
    raise DeviceError(_open_error(detail, num, python))


def _open_error(detail: dict[str, Any], num: int, python: str) -> str:
    stage, kind, text = detail.get("stage"), detail.get("type", ""), detail.get("message", "")
    if stage == "import":
        if "numpy" in text or kind == "ValueError":
            return f"the Pi camera cannot load Picamera2 ({kind}: {text}) — " + NUMPY_HINT.format(
                python=python
            )
        if kind in ("ImportError", "ModuleNotFoundError"):
            return f"the Pi camera needs Picamera2, which {python} cannot import: {INSTALL_HINT}"
        return f"the Pi camera cannot load Picamera2 under {python} ({kind}: {text})"
    if stage == "open":
        return (
            f"no Pi camera {num} ({kind}: {text}) — check the ribbon cable (contacts facing the "
            "right way, latch closed) and `rpicam-hello --list-cameras`; only one program can "
            "use the camera at a time"
        )
    return f"Pi camera {num} cannot start ({kind}: {text})"


class _Channel:
    """Reads the helper's length-prefixed messages with a deadline."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self._stream = io.FileIO(self.fd, "rb", closefd=False)
        self._header = bytearray(HEADER.size)
        self._got = 0  # bytes of the header, then of the payload, read so far
        self._payload: bytearray | None = None

    def receive(self, deadline: float) -> tuple[bytes, bytearray] | None:
        """The next message, ``None`` at the deadline, EOFError when the helper is gone."""
        while True:
            buffer = self._header if self._payload is None else self._payload
            if self._got == len(buffer):
                if self._payload is None:
                    self._payload = bytearray(HEADER.unpack(self._header)[1])
                    self._got = 0
                    continue
                kind = bytes(self._header[:1])
                payload, self._payload, self._got = self._payload, None, 0
                return kind, payload
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                return None
            count = self._stream.readinto(memoryview(buffer)[self._got :])
            if not count:
                raise EOFError
            self._got += count


def _frame(payload: bytearray) -> Frame:
    height, width, channels = SHAPE.unpack_from(payload)
    pixels = np.frombuffer(payload, dtype=np.uint8, offset=SHAPE.size)
    return pixels.reshape(height, width, channels)


def _detail(payload: bytes | bytearray) -> str:
    detail = json.loads(payload)
    return f"{detail.get('type')}: {detail.get('message')}"


def _last_line(lines: collections.deque[str]) -> str:
    return f": {lines[-1]}" if lines else ""


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:  # pragma: no cover - Popen was given PIPE for all three
        raise CameraError("the Pi camera helper has no pipe")
    return stream


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End of stdin asks the helper to stop; then SIGTERM, then SIGKILL."""
    with contextlib.suppress(OSError):
        _pipe(process.stdin).close()
    for signal_step in (None, process.terminate, process.kill):
        if signal_step is not None:
            with contextlib.suppress(OSError):
                signal_step()
        try:
            process.wait(timeout=2.0)
            break
        except subprocess.TimeoutExpired:
            continue
    if process.stdout is not None:  # stderr is closed by its reader at end of file
        process.stdout.close()
    if process.returncode not in (0, None, -15, -9):
        log.info("Pi camera helper exited with code %s", process.returncode)
