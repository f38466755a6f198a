"""Pi camera helper process: Picamera2 under the *system* Python, frames over a pipe.

Why a process of its own: Picamera2 comes from apt, built against Bookworm's numpy 1.24,
while the kiosk's venv carries numpy 2 (pulled by opencv-python-headless). Imported into
the venv, Picamera2 fails with ``ValueError: numpy.dtype size changed``. Run as
``/usr/bin/python3 -I -s picamera_worker.py …`` it sees only the system's packages.

This file is started by path, never imported by the kiosk, and imports nothing but the
standard library and Picamera2 (``-I`` keeps the venv, the user site and ``PYTHON*``
variables out; the script's own folder is not put on ``sys.path`` either).

Protocol (see :mod:`drivers.picamera` for the other end). Every message on the protocol
pipe (the process's original stdout) is ``kind`` (1 byte) + payload length (4 bytes, big
endian) + payload:

* ``R`` ready, JSON ``{"autofocus": bool}`` — the camera is configured and started;
* ``F`` frame: height, width, channels (3 × uint16, big endian), then the raw bytes;
* ``E`` error, JSON ``{"stage": "import"|"open"|"start"|"capture", "type", "message"}``.

The kiosk asks for a frame by writing one byte to stdin; end of stdin (the kiosk closed
the camera or died) stops the camera and exits. Anything else printed goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from typing import Any, BinaryIO

HEADER = struct.Struct("!cI")
SHAPE = struct.Struct("!HHH")
AF_MODE_CONTINUOUS = 2  # libcamera's AfModeContinuous, when libcamera.controls is absent


def send(out: BinaryIO, kind: bytes, payload: bytes | memoryview = b"") -> None:
    out.write(HEADER.pack(kind, len(payload)))
    out.write(payload)
    out.flush()


def send_error(out: BinaryIO, stage: str, exc: BaseException) -> None:
    detail = {"stage": stage, "type": type(exc).__name__, "message": str(exc)}
    send(out, b"E", json.dumps(detail).encode())


def send_frame(out: BinaryIO, array: Any) -> None:
    """Send a uint8 ``H×W×3`` array (anything with the buffer protocol) without copying it."""
    view = memoryview(array)
    if view.format != "B" or view.ndim != 3:
        raise ValueError(f"unexpected frame layout: format {view.format!r}, shape {view.shape}")
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    height, width, channels = view.shape  # type: ignore[misc]
    out.write(HEADER.pack(b"F", SHAPE.size + view.nbytes))
    out.write(SHAPE.pack(height, width, channels))
    out.write(view.cast("B"))
    out.flush()


def continuous_autofocus(picam: Any) -> bool:
    """Set continuous autofocus when the camera has it (Camera Module 3); True if set."""
    if "AfMode" not in picam.camera_controls:
        return False
    try:
        from libcamera import controls  # type: ignore[import-not-found]

        mode: Any = controls.AfModeEnum.Continuous
    except ImportError:
        mode = AF_MODE_CONTINUOUS
    picam.set_controls({"AfMode": mode})
    return True


def serve(args: argparse.Namespace, out: BinaryIO, requests: BinaryIO) -> int:
    try:
        from picamera2 import Picamera2
    except Exception as exc:  # ImportError, or ValueError on a numpy mismatch
        send_error(out, "import", exc)
        return 3
    try:
        picam = Picamera2(args.camera)
    except Exception as exc:
        send_error(out, "open", exc)
        return 4
    try:
        try:
            config = picam.create_video_configuration(
                main={"size": (args.width, args.height), "format": "RGB888"}
            )
            picam.configure(config)
            autofocus = continuous_autofocus(picam)
            picam.start()
        except Exception as exc:
            send_error(out, "start", exc)
            return 5
        send(out, b"R", json.dumps({"autofocus": autofocus}).encode())
        while requests.read(1):
            try:
                frame = picam.capture_array("main")
            except Exception as exc:
                send_error(out, "capture", exc)
                continue
            send_frame(out, frame)
        return 0
    finally:
        for step in ("stop", "close"):
            try:
                getattr(picam, step)()
            except Exception as exc:  # best effort: the camera may already be gone
                print(f"picamera worker: {step}() failed: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera", type=int, default=0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument(
        "--sys-path", action="append", default=[], help="prepend a folder (tests only)"
    )
    args = parser.parse_args(argv)
    sys.path[:0] = args.sys_path
    # Keep the protocol pipe to ourselves: whatever a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        return serve(args, out, sys.stdin.buffer)
    except BrokenPipeError:  # the kiosk went away
        return 0


if __name__ == "__main__":
    sys.exit(main())
