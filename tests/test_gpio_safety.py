"""The relay is safe without software: claimed at "off" with no pulse, held off by a resistor.

Two levels of simulation:

* gpiozero's ``MockFactory`` (the kiosk's simulated twin), with the board's pull resistor
  modelled by driving the idle line to "off" before the outputs claim it;
* a fake ``lgpio`` module — the C library's calls as gpiozero's own ``LGPIOFactory`` makes
  them — with the line level each call leaves, so gpiozero's real lgpio pin code runs and
  its pin history shows what the relay input would see on a Pi.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory, MockPin

from drivers.gpio_outputs import GpioGateOutputs, relay_idle_level, use_safe_pin_factory

PINS = {"relay_pin": 17, "green_pin": 22, "red_pin": 27, "buzzer_pin": 23}
POLARITIES = pytest.mark.parametrize(
    "active_high", [False, True], ids=["active-low", "active-high"]
)


# -- MockFactory ----------------------------------------------------------------------------
@POLARITIES
def test_relay_is_claimed_at_off_with_no_pulse_on_mock_pins(active_high: bool) -> None:
    factory = MockFactory()
    relay = factory.pin(17)
    off = not active_high
    relay.drive_high() if off else relay.drive_low()  # the pull resistor holds "off"
    mark = len(relay.states)
    outputs = GpioGateOutputs(**PINS, relay_active_high=active_high, pin_factory=factory)
    try:
        assert relay.function == "output"
        assert [s.state for s in relay.states[mark - 1 :]] == [off] * len(relay.states[mark - 1 :])
        assert outputs.state()["relay"] is False
    finally:
        outputs.close()
        factory.close()


class ResistorMockPin(MockPin):  # type: ignore[misc]
    """A mock pin with an external resistor: ``external`` True/False wins over the SoC pull."""

    external: bool | None = None

    def _set_pull(self, value: str) -> None:
        if self.external is None:
            super()._set_pull(value)
        else:  # the board's 10 kΩ outweighs the SoC's ~50 kΩ pull
            self._pull = value
            self._change_state(self.external)


@pytest.mark.parametrize(
    ("active_high", "external", "expected"),
    [
        (False, True, "off"),  # active-low board, 10 kΩ to 3.3 V
        (True, False, "off"),  # active-high board, 10 kΩ to GND
        (False, False, "on"),  # active-low board pulled to GND: the lock opens at boot
        (True, True, "on"),
        (False, None, "floating"),  # no resistor
        (True, None, "floating"),
    ],
)
def test_relay_idle_level_sees_the_pull_resistor(
    active_high: bool, external: bool | None, expected: str
) -> None:
    factory = MockFactory(pin_class=ResistorMockPin)
    try:
        factory.pin(17).external = external
        assert relay_idle_level(17, active_high=active_high, pin_factory=factory) == expected
        outputs = GpioGateOutputs(**PINS, relay_active_high=active_high, pin_factory=factory)
        outputs.close()  # the probe released the pin
    finally:
        factory.close()


# -- gpiozero's LGPIOFactory on a fake lgpio ------------------------------------------------
class FakeLgpio(types.ModuleType):
    """The lgpio calls gpiozero makes; each line's level goes to the resistor when not driven."""

    SET_ACTIVE_LOW, SET_OPEN_DRAIN, SET_OPEN_SOURCE = 4, 8, 16
    SET_PULL_UP = SET_BIAS_PULL_UP = 32
    SET_PULL_DOWN = SET_BIAS_PULL_DOWN = 64
    SET_PULL_NONE = SET_BIAS_DISABLE = 128
    RISING_EDGE, FALLING_EDGE, BOTH_EDGES = 1, 2, 3

    class error(Exception):  # lgpio's name
        pass

    def __init__(self, chips: dict[int, str], links: dict[int, int] | None = None) -> None:
        super().__init__("lgpio")
        self.chips, self.links = chips, links or {}
        self.resistor: dict[int, bool] = {}  # line → level its pull resistor holds
        self.history: dict[int, list[int]] = {}
        self.output: set[int] = set()
        self.handles: dict[int, int] = {}

    def gpiochip_open(self, chip: int) -> int:
        chip = self.links.get(chip, chip)
        if chip not in self.chips:
            raise self.error(f"no gpiochip{chip}")
        handle = 100 + len(self.handles)
        self.handles[handle] = chip
        return handle

    def gpiochip_close(self, handle: int) -> None:
        self.handles.pop(handle)

    def gpio_get_chip_info(self, handle: int) -> tuple[int, int, str, str]:
        chip = self.handles[handle]
        return 0, 54, f"gpiochip{chip}", self.chips[chip]

    def _level(self, line: int, level: int) -> None:
        history = self.history.setdefault(line, [])
        if not history or history[-1] != level:
            history.append(level)

    def gpio_claim_input(self, handle: int, line: int, flags: int = 0) -> int:
        self.output.discard(line)
        if line in self.resistor:
            self._level(line, int(self.resistor[line]))
        return 0

    def gpio_claim_output(self, handle: int, line: int, level: int = 0, flags: int = 0) -> int:
        self.output.add(line)
        self._level(line, level)
        return 0

    def gpio_write(self, handle: int, line: int, level: int) -> int:
        assert line in self.output
        self._level(line, int(level))
        return 0

    def gpio_read(self, handle: int, line: int) -> int:
        return self.history.get(line, [0])[-1]

    def gpio_get_mode(self, handle: int, line: int) -> int:
        return 2 if line in self.output else 0  # GPIO_IS_OUT

    def gpio_free(self, handle: int, line: int) -> int:
        self.output.discard(line)
        return 0


PI4_REVISION = 0xC03114


@pytest.fixture
def fake_lgpio(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLgpio]:
    """A fake lgpio on a Pi 4; gpiozero's lgpio module and ours are imported on it afresh."""
    fake = FakeLgpio({0: "pinctrl-bcm2711", 1: "raspberrypi-exp-gpio"})
    monkeypatch.setitem(sys.modules, "lgpio", fake)
    for name in ("gpiozero.pins.lgpio", "drivers.lgpio_factory"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr("gpiozero.pins.local.get_pi_revision", lambda: PI4_REVISION)
    yield fake
    for name in ("gpiozero.pins.lgpio", "drivers.lgpio_factory"):
        sys.modules.pop(name, None)


def lgpio_factory(safe: bool) -> Any:
    if safe:
        return importlib.import_module("drivers.lgpio_factory").SafeLGPIOFactory(chip=0)
    return importlib.import_module("gpiozero.pins.lgpio").LGPIOFactory(chip=0)


@POLARITIES
def test_relay_line_never_reaches_on_with_the_lgpio_factory(
    fake_lgpio: FakeLgpio, active_high: bool
) -> None:
    off = int(not active_high)
    fake_lgpio.resistor[17] = bool(off)
    fake_lgpio.gpio_claim_input(0, 17)  # at boot: an input, held by the resistor
    factory = lgpio_factory(safe=True)
    outputs = GpioGateOutputs(**PINS, relay_active_high=active_high, pin_factory=factory)
    assert fake_lgpio.history[17] == [off]  # claimed: driven at "off" from the first moment
    outputs.signal("admitted")
    assert fake_lgpio.history[17] == [off, 1 - off]
    outputs.close()
    factory.close()
    assert fake_lgpio.history[17] == [off, 1 - off, off]  # released: the resistor holds off


def test_stock_lgpio_factory_pulses_an_active_low_relay(fake_lgpio: FakeLgpio) -> None:
    """Why SafeLGPIOPin exists: gpiozero 2.0.1 claims LOW first, then writes HIGH."""
    fake_lgpio.resistor[17] = True
    fake_lgpio.gpio_claim_input(0, 17)
    factory = lgpio_factory(safe=False)
    outputs = GpioGateOutputs(**PINS, relay_active_high=False, pin_factory=factory)
    assert fake_lgpio.history[17] == [1, 0, 1]  # the LOW in the middle energises the relay
    outputs.close()
    factory.close()


@pytest.mark.parametrize(
    ("chips", "links", "expected"),
    [
        ({0: "pinctrl-bcm2711", 1: "raspberrypi-exp-gpio"}, {}, 0),  # Pi 4
        ({0: "pinctrl-bcm2835", 1: "raspberrypi-exp-gpio"}, {}, 0),  # Pi 3
        (  # Pi 5, kernel < 6.6.45: RP1 is gpiochip4
            {0: "gpio-brcmstb@107d508500", 1: "gpio-brcmstb@107d517c00", 4: "pinctrl-rp1"},
            {},
            4,
        ),
        (  # Pi 5, kernel ≥ 6.6.45: RP1 is gpiochip0, gpiochip4 a link to it
            {0: "pinctrl-rp1", 10: "gpio-brcmstb@107d508500", 11: "gpio-brcmstb@107d517c00"},
            {4: 0},
            0,
        ),
        ({0: "some-other-board"}, {}, None),  # unknown: gpiozero's own guess
    ],
    ids=["pi4", "pi3", "pi5 old kernel", "pi5 kernel 6.6.45+", "unknown"],
)
def test_the_header_chip_is_found_by_its_label(
    fake_lgpio: FakeLgpio,
    tmp_path: Path,
    chips: dict[int, str],
    links: dict[int, int],
    expected: int | None,
) -> None:
    fake_lgpio.chips, fake_lgpio.links = chips, links
    for number in [*chips, *links]:
        (tmp_path / f"gpiochip{number}").touch()
    (tmp_path / "gpiochipX").touch()  # not a chip number: ignored
    find = importlib.import_module("drivers.lgpio_factory").find_gpio_chip
    assert find(tmp_path) == expected
    assert fake_lgpio.handles == {}  # every chip it opened was closed


def test_the_safe_factory_becomes_gpiozeros_default_on_a_pi(
    fake_lgpio: FakeLgpio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GPIOZERO_PIN_FACTORY", raising=False)
    monkeypatch.setattr(Device, "pin_factory", None)
    module = importlib.import_module("drivers.lgpio_factory")
    monkeypatch.setattr(module, "find_gpio_chip", lambda: 0)
    use_safe_pin_factory()
    factory = Device.pin_factory
    try:
        assert isinstance(factory, module.SafeLGPIOFactory) and factory.chip == 0
        use_safe_pin_factory()  # once only
        assert Device.pin_factory is factory
    finally:
        factory.close()


def test_an_explicit_pin_factory_choice_is_respected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "mock")
    monkeypatch.setattr(Device, "pin_factory", None)
    use_safe_pin_factory()
    assert Device.pin_factory is None
