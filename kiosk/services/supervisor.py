"""Keep the gate's devices open: retry what is missing, notice what vanishes.

A gate fails closed, a service stays up. In real mode a device that is missing at
start-up (thermometer not wired, GPIO chip absent, I2C not yet enabled), late (a
USB bus still enumerating) or failing later (a loose cable mid-day) never stops
the kiosk: its :class:`DeviceSlot` holds a stand-in that refuses every use (the
thermometer raises :class:`~kiosk.errors.SensorError`, the outputs drive nothing),
the gate refers every visit with ``out_of_service`` while a required device is
missing, and one daemon thread retries the device with a back-off that starts at
``backoff_initial_s`` and doubles up to ``backoff_max_s``. When it answers again
its slot is swapped back in and the gate opens for business by itself.

A device that is open is probed every ``probe_interval_s`` (the thermometer reads
its ambient temperature); ``probe_failures`` failed probes in a row, or a use that
fails and is reported with :meth:`DeviceSupervisor.suspect` followed by a failed
probe, mark it missing: it is closed and retried like one missing at start.

``on_change`` is called (from the supervisor's thread) whenever a slot changes
state, so screens and the officer console follow at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["ok", "missing"]


@dataclass
class DeviceSlot(Generic[T]):
    """One device: how to open it, how to probe it, and what stands in while it is missing.

    ``install`` is called with the open device (or the stand-in) whenever it changes,
    so the owner of the device reference (``Devices``) always holds the current one.
    ``required`` devices close the gate while missing; optional ones only warn.
    """

    name: str
    opener: Callable[[], T]
    stand_in: Callable[[str], T]
    install: Callable[[T], None]
    probe: Callable[[T], object] | None = None
    required: bool = True
    hint: str = ""
    """What to check, for the officer (appended to the alert)."""

    state: State = "missing"
    error: str | None = "not opened yet"
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    attempts: int = 0
    device: T | None = None
    # The supervisor's schedule for this slot (monotonic seconds).
    next_try: float = 0.0
    backoff: float = 0.0
    next_probe: float = 0.0
    probe_failed: int = 0
    suspected: bool = False

    def status(self, mono: float) -> dict[str, Any]:
        return {
            "status": self.state,
            "required": self.required,
            "error": self.error,
            "since": self.since.isoformat(timespec="seconds"),
            "attempts": self.attempts,
            "retry_in_s": None if self.state == "ok" else max(0, round(self.next_try - mono)),
        }


class DeviceSupervisor:
    """Opens, probes and re-opens device slots in one daemon thread; see the module docstring."""

    def __init__(
        self,
        slots: list[DeviceSlot[Any]],
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        probe_interval_s: float = 5.0,
        probe_failures: int = 3,
        tick_s: float = 0.25,
        mono: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.slots = {slot.name: slot for slot in slots}
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.probe_interval_s = probe_interval_s
        self.probe_failures = probe_failures
        self.tick_s = tick_s
        self._mono = mono
        self._wall = wall
        self.on_change = on_change
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for slot in slots:
            slot.install(slot.stand_in(slot.error or "not opened yet"))

    # -- life cycle ----------------------------------------------------------
    def open_all(self) -> None:
        """One attempt at every missing device, now (start-up); never raises."""
        for slot in self.slots.values():
            if slot.state == "missing":
                self._try_open(slot)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="device-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Stop retrying and close every open device (the owner closes the stand-ins)."""
        self.stop()

    # -- what the gate and the screens ask -----------------------------------
    def missing(self, *, required_only: bool = True) -> list[str]:
        """Names of the devices that are missing now (required ones only by default)."""
        with self._lock:
            return [
                s.name
                for s in self.slots.values()
                if s.state == "missing" and (s.required or not required_only)
            ]

    def status(self) -> dict[str, dict[str, Any]]:
        mono = self._mono()
        with self._lock:
            return {name: slot.status(mono) for name, slot in self.slots.items()}

    def suspect(self, name: str, exc: BaseException | str) -> None:
        """A use of device ``name`` failed: probe it at the next tick (not only on schedule)."""
        with self._lock:
            slot = self.slots.get(name)
            if slot is not None and slot.state == "ok" and slot.probe is not None:
                log.warning("%s failed in use (%s): probing it", name, exc)
                slot.suspected = True

    def due_now(self) -> None:
        """Retry every missing device and probe every open one at the next round."""
        with self._lock:
            for slot in self.slots.values():
                slot.next_try = slot.next_probe = 0.0

    def check(self) -> None:
        """One round: open what is due, probe what is due (the thread calls it every tick)."""
        now = self._mono()
        for slot in list(self.slots.values()):
            if slot.state == "missing":
                if now >= slot.next_try:
                    self._try_open(slot)
            elif slot.probe is not None and (slot.suspected or now >= slot.next_probe):
                self._probe(slot)

    # -- internals -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.check()
            except Exception:  # a bug here must not end supervision
                log.exception("device supervisor round failed")

    def _try_open(self, slot: DeviceSlot[Any]) -> None:
        slot.attempts += 1
        try:
            device = slot.opener()
            if slot.probe is not None:
                try:
                    slot.probe(device)
                except BaseException:
                    _close_quietly(slot.name, device)
                    raise
        except Exception as exc:
            message = _describe(exc)
            slot.backoff = min(self.backoff_max_s, max(self.backoff_initial_s, 2 * slot.backoff))
            slot.next_try = self._mono() + slot.backoff
            if message != slot.error:
                with self._lock:
                    slot.error = message
                    slot.install(slot.stand_in(message))
                log.warning(
                    "%s unavailable (%s): gate %s, retrying every ≤ %g s",
                    slot.name,
                    message,
                    "closed" if slot.required else "still open",
                    self.backoff_max_s,
                )
                self._changed()
            return
        with self._lock:
            slot.device = device
            slot.state, slot.error = "ok", None
            slot.since = self._wall()
            slot.backoff = 0.0
            slot.probe_failed = 0
            slot.suspected = False
            slot.next_probe = self._mono() + self.probe_interval_s
            slot.install(device)
        log.info("%s answers (attempt %s)", slot.name, slot.attempts)
        slot.attempts = 0
        self._changed()

    def _probe(self, slot: DeviceSlot[Any]) -> None:
        assert slot.probe is not None
        slot.next_probe = self._mono() + self.probe_interval_s
        suspected, slot.suspected = slot.suspected, False
        try:
            slot.probe(slot.device)
        except Exception as exc:
            slot.probe_failed += 1
            limit = 1 if suspected else self.probe_failures
            log.warning("%s probe failed (%s/%s): %s", slot.name, slot.probe_failed, limit, exc)
            if slot.probe_failed >= limit:
                self._lost(slot, _describe(exc))
            return
        slot.probe_failed = 0

    def _lost(self, slot: DeviceSlot[Any], message: str) -> None:
        with self._lock:
            device, slot.device = slot.device, None
            slot.state, slot.error = "missing", message
            slot.since = self._wall()
            slot.backoff = self.backoff_initial_s
            slot.next_try = self._mono() + slot.backoff
            slot.install(slot.stand_in(message))
        log.error(
            "%s stopped answering (%s): gate closed until it answers again", slot.name, message
        )
        if device is not None:
            _close_quietly(slot.name, device)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change()
        except Exception:
            log.exception("device change listener failed")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _close_quietly(name: str, device: object) -> None:
    close = getattr(device, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        log.warning("closing %s failed", name, exc_info=True)
