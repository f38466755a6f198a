"""Gate outputs on GPIO through gpiozero: relay, green/red lights, buzzer.

Wiring (BCM numbers from the configuration): the relay board's IN pin to
``relay_pin`` (most boards are active-low; the relay supply needs its own
5 V and a flyback diode if the board lacks one), LEDs through 330 Ω to
``green_pin``/``red_pin``, an active buzzer (via a transistor) to
``buzzer_pin``.

A pull resistor must hold the relay input at "off" whenever no program drives
the pin (boot, crash, after ``close()``, which leaves the line floating):
10 kΩ from IN to 3.3 V for an active-low board, from IN to GND for an
active-high one. :func:`relay_idle_level` checks it (``kiosk doctor``).

The gate fails closed: the relay is created de-energised — on a Pi through
:mod:`drivers.lgpio_factory`, which claims the line at its "off" level with no
start-up pulse — is energised only for ``open_seconds`` after an admission,
and :meth:`close` (called on SIGTERM and at exit) de-energises it. In
simulation the very same code runs on gpiozero's ``MockFactory``.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any, Literal

from gpiozero import LED, Buzzer, Device, DigitalInputDevice, DigitalOutputDevice

from drivers.errors import DeviceError

# (on_time, off_time, n) buzzer patterns per outcome
BUZZER = {
    "admitted": (0.15, 0.1, 1),
    "denied": (0.3, 0.2, 2),
    "refer": (0.3, 0.2, 3),
    "fault": (1.0, 0.3, 2),
}
RED_SECONDS = 3.0


def use_safe_pin_factory() -> None:
    """On a Pi, make gpiozero's default pin factory :class:`~drivers.lgpio_factory.SafeLGPIOFactory`.

    Does nothing when a factory is already set or ``GPIOZERO_PIN_FACTORY`` names another
    one (``mock`` for a dry run), or where lgpio is not installed (gpiozero then chooses and
    reports). Raises what the factory raises when the GPIO chip cannot be opened.
    """
    if Device.pin_factory is not None or os.environ.get("GPIOZERO_PIN_FACTORY", "lgpio") != "lgpio":
        return
    try:
        from drivers.lgpio_factory import SafeLGPIOFactory
    except ImportError:
        return
    Device.pin_factory = SafeLGPIOFactory()


IdleLevel = Literal["off", "on", "floating"]


def relay_idle_level(pin: int, *, active_high: bool, pin_factory: Any = None) -> IdleLevel:
    """What holds the relay input while nothing drives it: read it as an input twice.

    The SoC's own pulls (~50 kΩ) are tried up, then down; an external 10 kΩ resistor
    overrides both, so the two reads agree. They differ when nothing but our pull holds the
    line ("floating"). Call it before the outputs claim the pin (the pin is released after).
    """
    levels = []
    for pull_up in (True, False):
        probe = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pin_factory)
        try:
            levels.append(bool(probe.pin.state))
        finally:
            probe.close()
    if levels[0] != levels[1]:
        return "floating"
    return "on" if levels[0] == active_high else "off"


class GpioGateOutputs:
    def __init__(
        self,
        *,
        relay_pin: int,
        green_pin: int,
        red_pin: int,
        buzzer_pin: int,
        relay_active_high: bool = False,
        open_seconds: float = 5.0,
        refusal_seconds: float = RED_SECONDS,
        pin_factory: Any = None,
    ) -> None:
        self.open_seconds = open_seconds
        self.refusal_seconds = refusal_seconds
        self.events: deque[tuple[float, str]] = deque(maxlen=50)
        self._lock = threading.Lock()
        self._closed = False
        self._idle_timer: threading.Timer | None = None
        try:
            if pin_factory is None:
                use_safe_pin_factory()
            self.relay = DigitalOutputDevice(
                relay_pin,
                active_high=relay_active_high,
                initial_value=False,
                pin_factory=pin_factory,
            )
            self.green = LED(green_pin, pin_factory=pin_factory)
            self.red = LED(red_pin, pin_factory=pin_factory)
            self.buzzer = Buzzer(buzzer_pin, pin_factory=pin_factory)
        except Exception as exc:  # gpiozero raises many kinds: report one clear error
            raise DeviceError(
                f"cannot open the gate outputs on GPIO (relay {relay_pin}, green {green_pin}, "
                f"red {red_pin}, buzzer {buzzer_pin}): {exc} — check the pin numbers in the "
                "configuration and that the kiosk user is in the 'gpio' group"
            ) from exc
        self.red.on()  # idle: closed gate shows red

    def signal(self, outcome: str) -> None:
        with self._lock:
            if self._closed:
                return
            self.events.append((time.time(), outcome))
            on, off, n = BUZZER.get(outcome, BUZZER["fault"])
            self.buzzer.blink(on_time=on, off_time=off, n=n, background=True)
            if outcome == "admitted":
                self.red.off()
                self.green.on()
                self.relay.on()
                hold = self.open_seconds
            else:
                # A refusal never touches the relay, but one arriving while the gate
                # is open (the next person) closes it at once.
                self.relay.off()
                self.green.off()
                if outcome == "fault":
                    self.red.blink(on_time=0.2, off_time=0.2, background=True)
                else:
                    self.red.blink(on_time=0.5, off_time=0.25, background=True)
                hold = self.refusal_seconds
            self._schedule_idle(hold)

    def _schedule_idle(self, seconds: float) -> None:
        """One timer brings every output back to idle (closed, red) — never two racing."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = threading.Timer(seconds, self._idle)
        self._idle_timer.daemon = True
        self._idle_timer.start()

    def _idle(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.relay.off()
            self.green.off()
            self.red.on()

    def state(self) -> dict[str, bool]:
        """Current output levels (True = active), for the simulator panel and doctor."""
        return {
            "relay": bool(self.relay.value),
            "green": bool(self.green.value),
            "red": bool(self.red.value),
            "buzzer": bool(self.buzzer.value),
        }

    def close(self) -> None:
        """De-energise the relay (gate closed) and release the pins; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
        for device in (self.relay, self.green, self.red, self.buzzer):
            try:
                device.off()
            finally:
                device.close()
