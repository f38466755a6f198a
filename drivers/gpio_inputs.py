"""Gate inputs on GPIO through gpiozero: the officer button and an optional presence sensor.

Wiring: the officer button between ``button_pin`` and GND (internal pull-up, 50 ms
debounce); a presence sensor (PIR or IR break-beam with a push-pull output) on
``presence_pin``, active high. A short press of the button asks to *re-measure* the last
visitor referred for a temperature reason; holding it for ``hold_seconds`` *confirms* the
referral (the visitor goes to the officer's desk). Callbacks run on gpiozero's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gpiozero import Button, DigitalInputDevice

from drivers.errors import DeviceError
from drivers.gpio_outputs import use_safe_pin_factory

Callback = Callable[[], object]


def _nothing() -> None:
    return None


class GpioGateInputs:
    def __init__(
        self,
        *,
        button_pin: int,
        presence_pin: int | None = None,
        hold_seconds: float = 2.0,
        pin_factory: Any = None,
    ) -> None:
        self.on_press: Callback = _nothing
        self.on_hold: Callback = _nothing
        self.on_presence: Callback = _nothing
        self._held = False
        self._lock = threading.Lock()
        self._closed = False
        try:
            if pin_factory is None:
                use_safe_pin_factory()  # one factory for inputs and outputs
            self.button = Button(
                button_pin,
                pull_up=True,
                bounce_time=0.05,
                hold_time=hold_seconds,
                pin_factory=pin_factory,
            )
            self.presence = (
                DigitalInputDevice(presence_pin, pull_up=False, pin_factory=pin_factory)
                if presence_pin is not None
                else None
            )
        except Exception as exc:
            raise DeviceError(
                f"cannot open the officer button on GPIO{button_pin}"
                + (f" / presence sensor on GPIO{presence_pin}" if presence_pin is not None else "")
                + f": {exc} — check the pin numbers and the 'gpio' group"
            ) from exc
        self.button.when_held = self._when_held
        self.button.when_released = self._when_released
        if self.presence is not None:
            self.presence.when_activated = lambda: self.on_presence()

    def _when_held(self) -> None:
        self._held = True
        self.on_hold()

    def _when_released(self) -> None:
        if self._held:
            self._held = False
            return
        self.on_press()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.button.close()
        if self.presence is not None:
            self.presence.close()
