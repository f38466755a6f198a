"""The client-side deadline of a PostgreSQL statement.

``statement_timeout`` is enforced by the server, so it cannot fire when the server (or
the link to it) is gone while TCP still looks alive: :class:`Deadlines` shuts the socket
of a statement that waited too long, and libpq fails at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Deadlines:
    """Shuts the socket of a statement that has waited too long for the server.

    ``statement_timeout`` is enforced by the server, so it cannot fire when the
    server (or the link to it) is gone while TCP still looks alive. One thread
    per database watches the statements in flight; shutting the socket makes
    libpq fail at once with "server closed the connection".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[float, int, list[bool]]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._pid = os.getpid()

    @contextmanager
    def guard(self, fd: int, seconds: float | None) -> Iterator[list[bool]]:
        fired = [False]
        if seconds is None or fd < 0:
            yield fired
            return
        key = threading.get_ident()
        with self._lock:
            self._pending[key] = (time.monotonic() + seconds, fd, fired)
            self._wake.set()
            if self._thread is None or self._pid != os.getpid():  # none yet, or forked
                self._pid = os.getpid()
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="kiosk-db-deadline", daemon=True
                )
                self._thread.start()
        try:
            yield fired
        finally:
            with self._lock:
                self._pending.pop(key, None)

    def stop(self) -> None:
        """End the watcher thread (a new one starts with the next guarded statement)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.wait()
            with self._lock:
                if stop.is_set():
                    return
                if not self._pending:
                    self._wake.clear()
                    continue
                now = time.monotonic()
                for key, (deadline, fd, fired) in list(self._pending.items()):
                    if now >= deadline and not fired[0]:
                        fired[0] = True
                        _shutdown(fd)
                        self._pending.pop(key, None)
            time.sleep(0.1)


def _shutdown(fd: int) -> None:
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
