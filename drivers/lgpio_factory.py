"""gpiozero's lgpio pin factory, made safe for a relay and sure of the Pi 5's GPIO chip.

Imported only on a machine with ``lgpio`` (apt ``python3-lgpio``); see
:func:`drivers.gpio_outputs.use_safe_pin_factory`.

1. **No start-up pulse.** gpiozero 2.0.1's ``LGPIOPin`` claims an output in two steps: claim
   the line as an output (lgpio's default level is LOW), then write the initial level. On an
   active-low relay board LOW means *energised*, so every start clicked the lock open for a
   moment. :class:`SafeLGPIOPin` claims the line at its initial level in one call
   (``gpio_claim_output(handle, line, level)``): the line goes from "held off by the pull
   resistor" straight to "driven off".
2. **The right chip.** The header's GPIO lines are ``gpiochip0`` on a Pi 4 and earlier; on a
   Pi 5 they sit on the RP1 chip, ``gpiochip4`` on kernels before 6.6.45 and ``gpiochip0``
   from 6.6.45 on (``gpiochip4`` then remains as a compatibility link). gpiozero ≥ 2.0.1
   guesses from the board revision and that link; :func:`find_gpio_chip` asks each chip for
   its label instead (``pinctrl-rp1`` on a Pi 5, ``pinctrl-bcm2711``/``-bcm2835`` before) and
   falls back to gpiozero's guess when no label matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lgpio
from gpiozero.pins.lgpio import LGPIOFactory, LGPIOPin

HEADER_CHIP_LABELS = ("pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835")
"""Labels of the chip that carries the 40-pin header, Pi 5 first."""


def find_gpio_chip(dev: Path = Path("/dev"), lg: Any = lgpio) -> int | None:
    """Number of the gpiochip that carries the header pins, or None when no label matches."""
    numbers = sorted(
        int(path.name.removeprefix("gpiochip"))
        for path in dev.glob("gpiochip*")
        if path.name.removeprefix("gpiochip").isdigit()
    )
    labels: dict[str, int] = {}
    for number in numbers:
        try:
            handle = lg.gpiochip_open(number)
        except Exception:  # not ours to open (permissions, a chip going away): skip it
            continue
        try:
            _status, _lines, _name, label = lg.gpio_get_chip_info(handle)
            labels.setdefault(label, number)  # a compatibility link repeats a label: keep the first
        except Exception:
            continue
        finally:
            lg.gpiochip_close(handle)
    return next((labels[label] for label in HEADER_CHIP_LABELS if label in labels), None)


class SafeLGPIOPin(LGPIOPin):  # type: ignore[misc]
    """An ``LGPIOPin`` whose outputs are claimed at their initial level (no glitch)."""

    def output_with_state(self, state: bool) -> None:
        callback: Any = getattr(self, "_callback", None)
        if callback is not None:  # as LGPIOPin does when its function changes
            callback.cancel()
            self._callback = None
        lgpio.gpio_claim_output(self.factory._handle, self._number, int(bool(state)))


class SafeLGPIOFactory(LGPIOFactory):  # type: ignore[misc]
    """``LGPIOFactory`` with :class:`SafeLGPIOPin` on the chip :func:`find_gpio_chip` names."""

    def __init__(self, chip: int | None = None) -> None:
        super().__init__(chip=find_gpio_chip() if chip is None else chip)
        self.pin_class = SafeLGPIOPin
