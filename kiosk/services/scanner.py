"""The capture loop: camera → QR decode → debounce → one ``on_code(text)`` per attempt.

One daemon thread owns the camera. It opens it, reads frames, decodes each with
:func:`kiosk.vision.qr.decode_frame` and calls ``on_code`` once per *attempt* (see
:class:`Debouncer`), typically ``GateService.scan``. ``on_code`` runs in the scanner thread;
no frames are read while it runs.

Camera failures: when the opener or a read raises, ``status`` becomes ``"unavailable"`` at
once and ``last_error`` says what to check. The scanner thread closes that camera and opens
a new one after a backoff that starts at ``backoff_initial_s``, doubles up to
``backoff_max_s`` and starts over once frames arrive again. Every camera opened is closed
exactly once, by the scanner thread, before the next one is opened, so reconnecting never
adds threads or file descriptors.

The ``unavailable_after_s`` bound: drivers bound their own reads (2 s for the OpenCV and Pi
camera drivers), but a wedged driver can block inside C code, where no Python thread can
interrupt it. So the scanner does not count on calls returning: it notes when each open and
read starts, and ``status`` reports ``"unavailable"`` once one has been in progress for
``unavailable_after_s``. The check is done when ``status`` is read (no watchdog thread), so
it holds whatever the driver does. When the stuck call returns at last, the scanner goes on
as usual: frames make it ``"ok"`` again, an error closes and reopens the camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

from drivers.base import Camera, Frame
from kiosk.errors import EXPECTED_ERRORS
from kiosk.vision.qr import decode_frame

log = logging.getLogger(__name__)

Status = Literal["starting", "ok", "unavailable"]


class Debouncer:
    """Turns the codes decoded frame by frame into attempts.

    A code is one attempt for as long as it stays in view: seen again less than
    ``debounce_s`` after it was last seen, it belongs to the same attempt, however long it is
    held up and across frames where the decoder missed it. Out of view for ``debounce_s`` or
    longer, it is a new attempt when it comes back. Codes are tracked separately, so a
    different code is always a new attempt, and two codes in view together give one attempt
    each instead of alternating.
    """

    def __init__(self, debounce_s: float) -> None:
        if debounce_s < 0:
            raise ValueError("debounce_s must not be negative")
        self.debounce_s = debounce_s
        self._last_seen: dict[str, float] = {}

    def attempts(self, texts: Iterable[str], now: float) -> list[str]:
        """The codes in one frame (seen at ``now``) that start a new attempt, in order."""
        self._forget(now)
        texts = list(dict.fromkeys(texts))
        new = [text for text in texts if text not in self._last_seen]
        for text in texts:
            self._last_seen[text] = now
        return new

    def seen(self, text: str, now: float) -> None:
        """``text`` was in view at ``now`` (the time spent handling it counts as in view)."""
        self._last_seen[text] = now

    def _forget(self, now: float) -> None:
        gone = [t for t, seen in self._last_seen.items() if now - seen >= self.debounce_s]
        for text in gone:
            del self._last_seen[text]


class Scanner:
    """Scans codes from a camera in one daemon thread; see the module docstring.

    ``camera_opener`` returns an open camera or raises (one of
    :data:`~kiosk.errors.EXPECTED_ERRORS` with a message for the officer, ideally). ``clock`` and ``sleep`` are injectable for
    tests; by default the backoff sleeps wait on the stop signal, so ``stop()`` is prompt.
    ``frame_interval_s`` is the shortest time between two reads: 0 reads as fast as the
    camera delivers (real cameras pace themselves); a simulated camera that returns at once
    needs e.g. 0.1 to keep the CPU free.
    """

    def __init__(
        self,
        camera_opener: Callable[[], Camera],
        on_code: Callable[[str], object],
        *,
        debounce_s: float = 3.0,
        unavailable_after_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 10.0,
        frame_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        on_frame: Callable[[Frame], object] | None = None,
        on_status: Callable[[], object] | None = None,
    ) -> None:
        if unavailable_after_s <= 0:
            raise ValueError("unavailable_after_s must be positive")
        if not 0 < backoff_initial_s <= backoff_max_s:
            raise ValueError("backoffs must satisfy 0 < backoff_initial_s <= backoff_max_s")
        if frame_interval_s < 0:
            raise ValueError("frame_interval_s must not be negative")
        self._open_camera = camera_opener
        self._on_code = on_code
        self._on_frame = on_frame  # e.g. staff face attendance; must return at once
        self._on_status = on_status  # "ok" ⇄ "unavailable" (screens follow); must return at once
        self._debouncer = Debouncer(debounce_s)
        self.unavailable_after_s = unavailable_after_s
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.frame_interval_s = frame_interval_s
        self._clock = clock
        self._stopping = threading.Event()
        self._sleep = sleep if sleep is not None else self._stopping.wait
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state: Status = "starting"
        self._error: str | None = None
        self._busy_since: float | None = None  # a camera open/read in progress since
        self._busy_with = ""

    # -- control -------------------------------------------------------------
    def start(self) -> None:
        """Start the scanner thread. A scanner runs once: after ``stop()``, make a new one."""
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                raise RuntimeError("this scanner has already been started")
            self._thread = threading.Thread(target=self._run, name="kiosk-scanner", daemon=True)
            self._thread.start()  # under the lock, so stop() never joins an unstarted thread

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Stop scanning; wait up to ``timeout`` s for the thread to close the camera and end.

        Idempotent. Returns whether the thread has ended. ``False`` means it is still inside
        a stuck camera call (it closes the camera and ends when the call returns; being a
        daemon it never holds the process open), or that ``stop`` was called from
        ``on_code`` (the thread ends when ``on_code`` returns).
        """
        self._stopping.set()
        with self._lock:
            thread = self._thread
            if thread is None:
                self._state, self._error = "unavailable", "the scanner is stopped"
                return True
        if thread is threading.current_thread():
            return False
        thread.join(timeout)
        return not thread.is_alive()

    def __enter__(self) -> Scanner:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- status --------------------------------------------------------------
    @property
    def status(self) -> Status:
        """``"starting"`` until the first frame, then ``"ok"`` or ``"unavailable"``."""
        with self._lock:
            state, stuck = self._state, self._stuck_for()
        return "unavailable" if stuck is not None else state

    @property
    def last_error(self) -> str | None:
        """The latest camera problem, for the officer (kept after recovery); ``None`` if none."""
        with self._lock:
            error, stuck, what = self._error, self._stuck_for(), self._busy_with
        if stuck is not None:
            return _stuck_message(what, stuck)
        return error

    def _stuck_for(self) -> float | None:
        """Seconds the current camera call has been running, once past the bound (lock held)."""
        if self._busy_since is None:
            return None
        elapsed = self._clock() - self._busy_since
        return elapsed if elapsed >= self.unavailable_after_s else None

    # -- the thread ----------------------------------------------------------
    def _run(self) -> None:
        backoff = self.backoff_initial_s
        try:
            while not self._stopping.is_set():
                camera = self._open()
                if camera is not None:
                    try:
                        if self._scan(camera):
                            backoff = self.backoff_initial_s
                    finally:
                        _close(camera)
                if self._stopping.is_set():
                    break
                self._sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
        except Exception:  # a bug here must not leave the status saying "ok"
            log.exception("the scanner stopped on an unexpected error")
        finally:
            with self._lock:
                self._busy_since = None
                self._state = "unavailable"
                self._error = (
                    "the scanner is stopped"
                    if self._stopping.is_set()
                    else "the scanner stopped on an internal error — restart the kiosk"
                )

    def _open(self) -> Camera | None:
        self._begin("opening the camera")
        try:
            camera = self._open_camera()
        except Exception as exc:
            self._failed(exc, "cannot be opened")
            return None
        with self._lock:
            self._busy_since = None
        return camera

    def _scan(self, camera: Camera) -> bool:
        """Read until the camera fails or the scanner stops; ``True`` if a frame arrived."""
        got_frames = False
        while not self._stopping.is_set():
            started = self._begin("reading a frame")
            try:
                frame = camera.read()
                texts = decode_frame(frame)
            except Exception as exc:
                self._failed(exc, "read failed")
                return got_frames
            self._frame_arrived()
            got_frames = True
            self._hand_on(frame)
            for text in self._debouncer.attempts(texts, self._clock()):
                if self._stopping.is_set():
                    break
                self._deliver(text)
            self._pace(started)
        return got_frames

    def _hand_on(self, frame: Frame) -> None:
        if self._on_frame is None:
            return
        try:
            self._on_frame(frame)
        except Exception:
            log.exception("the frame listener failed; scanning goes on")

    def _deliver(self, text: str) -> None:
        try:
            self._on_code(text)
        except Exception:
            log.exception("handling a scanned code failed; scanning goes on")
        self._debouncer.seen(text, self._clock())

    def _pace(self, started: float) -> None:
        if self.frame_interval_s > 0:
            left = self.frame_interval_s - (self._clock() - started)
            if left > 0:
                self._sleep(left)

    # -- state changes (scanner thread) ----------------------------------------
    def _begin(self, what: str) -> float:
        with self._lock:
            self._busy_since, self._busy_with = self._clock(), what
            return self._busy_since

    def _frame_arrived(self) -> None:
        with self._lock:
            stuck = self._stuck_for()
            self._busy_since = None
            if stuck is not None:
                self._error = _stuck_message(self._busy_with, stuck)
            previous, self._state = self._state, "ok"
        if previous != "ok":
            log.info("camera delivering frames; scanner ok")
            self._status_changed()

    def _failed(self, exc: Exception, what: str) -> None:
        if isinstance(exc, EXPECTED_ERRORS):
            message = str(exc)
        else:
            message = (
                f"camera {what} ({type(exc).__name__}: {exc}) — check the camera and its "
                "cable; the scanner retries by itself"
            )
        with self._lock:
            self._busy_since = None
            previous, self._state = self._state, "unavailable"
            repeated, self._error = self._error == message, message
        if previous == "unavailable" and repeated:
            log.debug("camera still unavailable: %s", message)
        else:
            log.warning(
                "scanner unavailable: %s", message, exc_info=not isinstance(exc, EXPECTED_ERRORS)
            )
        if previous != "unavailable":
            self._status_changed()

    def _status_changed(self) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status()
        except Exception:
            log.exception("the status listener failed; scanning goes on")


def _close(camera: Camera) -> None:
    try:
        camera.close()
    except Exception:
        log.warning("closing the camera failed", exc_info=True)


def _stuck_message(what: str, seconds: float) -> str:
    return (
        f"the camera has been stuck {what} for {seconds:.0f} s — check its cable and power; "
        "the scanner reconnects when it answers again"
    )


__all__ = ["Debouncer", "Scanner", "Status"]
