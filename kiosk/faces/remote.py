"""The gate's side of the face worker: frames in shared memory, answers over a pipe, restarts.

:class:`FaceWorker` is a :class:`~kiosk.faces.engine.FaceStack` whose ``locate``,
``landmarks`` and ``encode`` run in :mod:`kiosk.faces.worker`'s process. While a call is
answered the calling thread waits on a pipe with the GIL released, so the gate's own threads
(thermometer reads, watchdog, web server, QR scanning) keep their timing however long dlib
takes. Images are copied into one shared memory block (~0.1 ms for a 640×480 frame) and only
the block's name, shape and type cross the pipe; results are small (boxes, 5 points, 128
numbers).

A crash of the face stack never takes the gate down: when the worker dies (a signal, a
segfault in dlib, ``SystemExit``, an import that fails), the call in progress raises
:class:`FaceStackUnavailable`, :attr:`FaceWorker.status` becomes ``unavailable`` with the
reason in :attr:`FaceWorker.error`, and a supervisor thread starts a new worker with backoff
(1 s, doubling up to a minute; back to 1 s after a worker has lived a minute). Calls made while
it is down fail at once instead of waiting.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np
import numpy.typing as npt

from kiosk.faces.engine import Box, Encoding, FaceStackUnavailable, Image

log = logging.getLogger(__name__)

FRAME_BYTES = 640 * 480 * 3
"""The shared block's first size (one VGA colour frame); it grows to the largest frame seen."""
KEEP_BYTES = 8 * 1024 * 1024
"""Larger images (an enrolment photo) get a block of their own, released after the call."""
STABLE_S = 60.0
"""A worker that lived this long resets the backoff."""


class FaceWorkerError(RuntimeError):
    """The worker answered a request with an error (a bug or an unusable image, not a crash)."""


class _SharedFrames:
    """The shared memory the gate's process writes images into (one request at a time)."""

    def __init__(self) -> None:
        self._shm: SharedMemory | None = None
        self._one_off: SharedMemory | None = None

    def put(self, image: np.ndarray) -> tuple[str, tuple[int, ...], str, bool]:
        array = np.ascontiguousarray(image)
        size = max(1, array.nbytes)
        if size > KEEP_BYTES:
            self._one_off = shm = SharedMemory(create=True, size=size)
        else:
            if self._shm is None or self._shm.size < size:
                self._release(self._shm)
                self._shm = SharedMemory(create=True, size=max(size, FRAME_BYTES))
            shm = self._shm
        target: np.ndarray = np.ndarray(array.shape, dtype=array.dtype, buffer=shm.buf)
        target[...] = array
        del target
        return shm.name, array.shape, array.dtype.str, shm is self._one_off

    def done(self) -> None:
        """After the call: a one-off block is released at once."""
        self._release(self._one_off)
        self._one_off = None

    def close(self) -> None:
        self.done()
        self._release(self._shm)
        self._shm = None

    @staticmethod
    def _release(shm: SharedMemory | None) -> None:
        if shm is not None:
            shm.close()
            with contextlib.suppress(FileNotFoundError):  # already gone
                shm.unlink()


def _exit_reason(process: subprocess.Popen[bytes]) -> str:
    try:
        code = process.wait(1.0)
    except subprocess.TimeoutExpired:
        return "stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not refused
        log.error("face worker pid %s does not exit", process.pid)


class FaceWorker:
    """The face stack in a process of its own, supervised (see the module docstring)."""

    def __init__(
        self,
        models_dir: str | None = None,
        *,
        start_timeout_s: float = 120.0,
        call_timeout_s: float = 30.0,
        backoff_s: tuple[float, float] = (1.0, 60.0),
    ) -> None:
        self.models_dir = models_dir
        self.start_timeout_s = start_timeout_s
        self.call_timeout_s = call_timeout_s
        self.backoff_s = backoff_s
        self.restarts = 0
        """Workers started after the first one (crashes, failed starts)."""
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()  # the state below
        self._call_lock = threading.Lock()  # one request at a time on the pipe and the block
        self._status = "starting"
        self._error: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._started_at = 0.0
        self._delay = backoff_s[0]
        self._next_attempt = 0.0
        self._closing = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._frames = _SharedFrames()
        self._finalizer = weakref.finalize(self, _SharedFrames.close, self._frames)

    # -- state -----------------------------------------------------------------------
    @property
    def status(self) -> str:
        """``starting``, ``ok``, ``unavailable`` (see :attr:`error`) or ``stopped``."""
        return self._status

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and self._status == "ok" else None

    def start(self) -> FaceWorker:
        """Start the worker and wait until it loaded the models (or failed: see
        :attr:`status`); from then on a supervisor thread restarts it whenever it is lost."""
        if self._supervisor is None:
            self._spawn()
            self._supervisor = threading.Thread(
                target=self._supervise, name="kiosk-face-worker", daemon=True
            )
            self._supervisor.start()
        return self

    def __enter__(self) -> FaceWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker (politely, then by force) and release the shared memory."""
        self._closing.set()
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout)
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = None
            self._status, self._error = "stopped", "face worker stopped"
        polite = self._call_lock.acquire(timeout=1.0)
        try:
            if polite and conn is not None and process is not None and process.poll() is None:
                try:
                    conn.send(("stop",))
                    process.wait(timeout)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            if process is not None:
                _stop(process, timeout)
        finally:
            if polite:
                self._call_lock.release()
        with self._call_lock:  # a call in progress has ended (its worker is gone)
            if conn is not None:  # closed only here: never under a thread still reading it
                conn.close()
            self._finalizer()

    # -- the FaceStack calls -----------------------------------------------------------
    def locate(self, image: Image, *, upsample: int = 0) -> list[Box]:
        return [Box(*t) for t in self._call("locate", image, int(upsample))]

    def landmarks(self, image: Image, box: Box) -> npt.NDArray[np.float64]:
        return np.asarray(self._call("landmarks", image, box.as_tuple()), dtype=np.float64)

    def encode(self, rgb: Image, box: Box, *, jitters: int = 1) -> Encoding:
        return np.asarray(self._call("encode", rgb, box.as_tuple(), int(jitters)), dtype=np.float64)

    def _call(self, op: str, image: np.ndarray, *args: Any) -> Any:
        with self._call_lock:
            with self._lock:
                process, conn, status = self._process, self._conn, self._status
            if status != "ok" or process is None or conn is None:
                raise FaceStackUnavailable(self._error or "the face worker is not running")
            name, shape, dtype, one_off = self._frames.put(image)
            try:
                conn.send((op, name, shape, dtype, one_off, *args))
                if not conn.poll(self.call_timeout_s):
                    self._lost(process, f"did not answer within {self.call_timeout_s:.0f} s")
                    conn.close()
                    raise FaceStackUnavailable(self._error or "face worker lost")
                reply = conn.recv()
            except (EOFError, OSError):
                self._lost(process)
                conn.close()
                raise FaceStackUnavailable(self._error or "face worker lost") from None
            finally:
                self._frames.done()
        if reply[0] == "ok":
            return reply[1]
        raise FaceWorkerError(f"face worker: {reply[1]}")

    # -- starting, losing and restarting ----------------------------------------------
    def _spawn(self) -> None:
        """Start one worker and wait for its first word (in the caller's thread)."""
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "kiosk.faces.worker", str(theirs.fileno())]
        try:
            process = subprocess.Popen(
                [*command, self.models_dir or ""],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except OSError as exc:  # cannot fork/exec: out of memory, too many processes
            ours.close()
            theirs.close()
            self._failed(f"cannot start the face worker ({exc})")
            return
        theirs.close()  # only the worker holds it now: its death reads as end of file here
        parent = Connection(ours.detach())
        reply: Any = None
        deadline = time.monotonic() + self.start_timeout_s
        try:
            while reply is None and not self._closing.is_set():
                if parent.poll(min(0.5, max(0.0, deadline - time.monotonic()))):
                    reply = parent.recv()
                elif time.monotonic() >= deadline:
                    break
        except (EOFError, OSError):
            reply = ("failed", f"face worker {_exit_reason(process)} while starting")
        if reply is not None and reply[0] == "ready" and not self._closing.is_set():
            with self._lock:
                self._process, self._conn = process, parent
                self._status, self._error = "ok", None
                self._started_at = time.monotonic()
                self.info = dict(reply[1])
            log.info("face worker ready (pid %s, dlib %s)", process.pid, self.info.get("dlib"))
            return
        _stop(process, 5.0)
        parent.close()
        if reply is None:
            message = f"face worker did not start within {self.start_timeout_s:.0f} s"
        else:
            message = str(reply[1]) if reply[0] != "ready" else "face worker stopped"
        self._failed(message)

    def _failed(self, message: str) -> None:
        with self._lock:
            if self._closing.is_set():
                return
            self._status = "unavailable"
            self._error = f"{message} (trying again in {self._delay:.0f} s)"
            self._schedule()
        log.error("face attendance unavailable: %s", self._error)

    def _lost(self, process: subprocess.Popen[bytes], reason: str | None = None) -> None:
        """The worker ``process`` died or hung: unavailable, restart scheduled (once)."""
        with self._lock:
            if self._process is not process or self._closing.is_set():
                return
            conn = self._conn
            self._process = self._conn = None
        if reason is not None:
            _stop(process, 5.0)
        why = reason or _exit_reason(process)
        # A call in progress reads this connection: it closes it itself (on end of file);
        # closing it under that thread could hand its descriptor number to another file.
        if conn is not None and self._call_lock.acquire(blocking=False):
            try:
                conn.close()
            finally:
                self._call_lock.release()
        with self._lock:
            if time.monotonic() - self._started_at >= STABLE_S:
                self._delay = self.backoff_s[0]
            self._status = "unavailable"
            self._error = f"face worker {why}; restarting in {self._delay:.0f} s"
            self._schedule()
        log.error("face attendance unavailable: %s", self._error)

    def _schedule(self) -> None:
        """(Holding the state lock.) The next start attempt, with backoff."""
        self._next_attempt = time.monotonic() + self._delay
        self._delay = min(self._delay * 2.0, self.backoff_s[1])

    def _supervise(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                process, status, due = self._process, self._status, self._next_attempt
            if status == "ok" and process is not None:
                if process.poll() is not None:
                    self._lost(process)
                else:
                    self._closing.wait(0.2)
                continue
            wait = due - time.monotonic()
            if wait > 0:
                self._closing.wait(min(wait, 0.2))
                continue
            self.restarts += 1
            self._spawn()


__all__ = ["FaceWorker", "FaceWorkerError"]
