"""Talk to systemd without libsystemd: readiness and the service watchdog (sd_notify).

``kiosk.service`` is ``Type=notify`` with ``WatchdogSec=``: systemd counts the
kiosk as started only when it sends ``READY=1``, and kills and restarts it when
no ``WATCHDOG=1`` arrives within the watchdog time. A ping must therefore mean
"the kiosk works", not merely "a thread is alive": :class:`Watchdog` pings only
while a health probe passes.

The protocol: newline-separated ``KEY=VALUE`` fields in one datagram to the
``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's
abstract namespace). ``$WATCHDOG_USEC`` is the watchdog time in µs; it is meant
for us only when ``$WATCHDOG_PID`` is unset or our pid. Outside systemd
(``$NOTIFY_SOCKET`` unset) every call is a harmless no-op returning False.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _address(value: str) -> str | None:
    if value.startswith("@"):
        return "\0" + value[1:]  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # e.g. vsock: addresses, not used on a Pi


def notify(*fields: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``fields`` (``"READY=1"``, ``"STATUS=…"``) to systemd; True if sent."""
    env = os.environ if env is None else env
    value = env.get("NOTIFY_SOCKET", "")
    if not value:
        return False
    address = _address(value)
    if address is None:
        log.warning("NOTIFY_SOCKET=%s is not a unix socket address; not notifying", value)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode("utf-8"))
    except OSError as exc:
        log.warning("cannot notify systemd at %s: %s", value, exc)
        return False
    return True


def notify_ready(status: str = "serving") -> bool:
    """Tell systemd start-up is complete (call once the server listens)."""
    return notify("READY=1", f"STATUS={status}")


def notify_watchdog() -> bool:
    """Tell systemd the kiosk is alive and healthy."""
    return notify("WATCHDOG=1")


def notify_stopping() -> bool:
    """Tell systemd a clean shutdown has begun."""
    return notify("STOPPING=1")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """The watchdog time in seconds from ``$WATCHDOG_USEC``, or None when there is none."""
    env = os.environ if env is None else env
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None


class Watchdog:
    """Pings the systemd watchdog every half watchdog time while ``healthy()`` is True.

    ``healthy`` should be cheap and honest (e.g. the HTTP server answered and the
    devices are open). When it returns False or raises, the ping is skipped and
    logged, so systemd restarts a kiosk that stays unhealthy.
    """

    def __init__(
        self,
        healthy: Callable[[], bool],
        *,
        interval_s: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.healthy = healthy
        self._env = env
        timeout = watchdog_interval(env)
        self.interval_s = interval_s if interval_s is not None else (timeout and timeout / 2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start pinging; False (and nothing started) when systemd set no watchdog."""
        if not self.interval_s or self._thread is not None:
            return False
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop pinging (idempotent); systemd is told nothing more."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        assert self.interval_s
        while True:
            try:
                ok = bool(self.healthy())
            except Exception:
                log.exception("health probe failed; not pinging the watchdog")
                ok = False
            if ok:
                notify("WATCHDOG=1", env=self._env)
            else:
                log.warning("kiosk unhealthy; watchdog not pinged")
            if self._stop.wait(self.interval_s):
                return
