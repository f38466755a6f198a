"""The face worker process: dlib and its models loaded once, detection and encoding on request.

dlib's calls hold the GIL for their whole duration (the ResNet encoder ~100 ms on x86, more on
a Pi), so in the gate's process they would stall every deadline there: the thermometer's read
budget, the watchdog ping, the web server. Here they run in a process of their own, started by
:class:`kiosk.faces.remote.FaceWorker` as ``python -m kiosk.faces.worker FD [MODELS_DIR]``: a
fresh interpreter that imports only numpy, dlib and this package's engine (no copied locks or
threads of the gate, none of its other modules — unlike :mod:`multiprocessing`'s ``spawn``,
which re-imports the parent's main script), and dlib is never imported by the gate's process.

Protocol, one request at a time over a :class:`multiprocessing.connection.Connection` on the
socket ``FD`` (one end of a :func:`socket.socketpair`):

* start-up: the worker sends ``("ready", info)`` once the models are loaded, or
  ``("failed", message)`` (the :class:`FaceStackUnavailable` text) and exits;
* a request is ``(op, segment, shape, dtype, one_off, *args)``: the image is in the shared
  memory block ``segment`` (written there by the gate's process; never pickled), ``one_off``
  says the block is released after this call (a large photo); ``op`` is ``locate``,
  ``landmarks`` or ``encode`` (the :class:`FaceEngine` calls, boxes as tuples);
* the reply is ``("ok", result)`` or ``("error", "Type: message")``; ``("stop",)`` ends it.

The worker also ends when the gate's process goes away (the pipe reaches end of file), and it
ignores Ctrl-C (the gate's process decides when it stops).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sized
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from kiosk.faces.engine import Box, FaceEngine, FaceStackUnavailable, load_engine

OPS = ("locate", "landmarks", "encode")


def _attach(name: str) -> SharedMemory:
    """Map the gate's block without registering it with a resource tracker of this process.

    Before Python 3.13 attaching registers the block with a tracker (a process of its own,
    started here on demand) that unlinks it when the worker exits — the gate's block would
    vanish with every worker that crashes (cpython gh-82300). The gate's process owns it.
    """
    if sys.version_info >= (3, 13):
        return SharedMemory(name=name, track=False)  # type: ignore[call-arg,unused-ignore]
    register = resource_tracker.register
    resource_tracker.register = _not_tracked
    try:
        return SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def _not_tracked(name: Sized, rtype: str) -> None:
    return None


class _Attached:
    """The shared memory block the gate's process writes frames into, mapped once."""

    def __init__(self) -> None:
        self._shm: SharedMemory | None = None

    def view(self, name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        if self._shm is None or self._shm.name != name:
            self.drop()
            self._shm = _attach(name)
        return np.ndarray(shape, dtype=np.dtype(dtype), buffer=self._shm.buf)

    def drop(self) -> None:
        if self._shm is not None:
            self._shm.close()
            self._shm = None


def _handle(engine: FaceEngine, frames: _Attached, request: tuple[Any, ...]) -> Any:
    op, name, shape, dtype, _one_off, *args = request
    if op not in OPS:
        raise ValueError(f"unknown request {op!r}")
    image = frames.view(name, tuple(shape), dtype)
    if op == "locate":
        return [b.as_tuple() for b in engine.locate(image, upsample=int(args[0]))]
    if op == "landmarks":
        return engine.landmarks(image, Box(*args[0]))
    return engine.encode(image, Box(*args[0]), jitters=int(args[1]))


def serve(conn: Connection, models_dir: str | None) -> None:
    """The worker process's main function (the target of the spawned process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        engine = load_engine(models_dir)
    except FaceStackUnavailable as exc:
        conn.send(("failed", str(exc)))
        return
    conn.send(
        ("ready", {"pid": os.getpid(), "dlib": engine.dlib_version, "models": str(engine.folder)})
    )
    frames = _Attached()
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return  # the gate's process is gone
            if not request or request[0] == "stop":
                return
            try:
                reply: tuple[str, Any] = ("ok", _handle(engine, frames, request))
            except Exception as exc:
                reply = ("error", f"{type(exc).__name__}: {exc}")
            if request[4]:  # one_off: a large photo's block, released by the gate's process
                frames.drop()
            conn.send(reply)
    finally:
        frames.drop()


def main(argv: list[str]) -> None:
    """``python -m kiosk.faces.worker FD [MODELS_DIR]`` (started by the gate's process)."""
    conn = Connection(int(argv[0]))
    serve(conn, argv[1] if len(argv) > 1 and argv[1] else None)


if __name__ == "__main__":
    main(sys.argv[1:])


__all__ = ["OPS", "main", "serve"]
