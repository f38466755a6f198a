"""Open the gate's devices: the real ones, or their simulated twins.

The choice is made by ``hardware.mode`` (or ``kiosk run --sim``) only; nothing
silently falls back to simulation. In real mode a device that cannot be opened
does not stop start-up: a stand-in that refuses every use takes its place, the
gate stays closed and refers visitors (``out_of_service``), and the
:class:`~kiosk.services.supervisor.DeviceSupervisor` retries it until it answers
(see that module). The camera is retried by the scanner loop itself.

In simulation the real MLX90614 driver runs on a register-level fake bus and
the real gpiozero outputs run on gpiozero's ``MockFactory``; only the camera
is replaced outright (by one that renders codes into frames for the real
decoder).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.base import Camera, Frame, GateOutputs, Thermometer
from drivers.gpio_inputs import GpioGateInputs
from drivers.gpio_outputs import GpioGateOutputs
from drivers.mlx90614 import MLX90614, open_mlx90614
from drivers.sim_camera import SimCamera
from drivers.sim_mlx90614 import FakeMLX90614Bus, Fault
from kiosk.config import Config
from kiosk.domain.temperature import EstimationModel
from kiosk.errors import CameraError, InputError, SensorError
from kiosk.services.supervisor import DeviceSlot, DeviceSupervisor

log = logging.getLogger(__name__)


@dataclass
class Devices:
    thermometer: Thermometer
    camera: Camera
    outputs: GateOutputs
    inputs: GpioGateInputs | MissingInputs
    simulator: Simulator | None = None
    supervisor: DeviceSupervisor | None = None
    """Real mode: keeps the devices open (retries the missing, notices the vanished)."""
    handlers: dict[str, Callable[[], object]] = field(default_factory=dict)
    """Officer button and presence callbacks (``on_press``, ``on_hold``, ``on_presence``),
    applied to the inputs now and to every inputs device opened later."""
    _closed: bool = field(default=False, repr=False)

    def on_inputs(self, **handlers: Callable[[], object]) -> None:
        self.handlers.update(handlers)
        self.apply_handlers(self.inputs)

    def apply_handlers(self, inputs: GpioGateInputs | MissingInputs) -> None:
        for name, handler in self.handlers.items():
            setattr(inputs, name, handler)

    def missing(self, *, required_only: bool = True) -> list[str]:
        """Devices missing now (real mode); the camera is reported by the scanner."""
        if self.supervisor is None:
            return []
        return self.supervisor.missing(required_only=required_only)

    def close(self) -> None:
        """Close every device, outputs first so the relay is released whatever else fails."""
        if self._closed:
            return
        self._closed = True
        if self.supervisor is not None:
            self.supervisor.close()
        for device in (self.outputs, self.inputs, self.camera, self.thermometer):
            try:
                device.close()
            except Exception:  # pragma: no cover - best effort on shutdown
                log.exception("closing %s failed", type(device).__name__)


class Simulator:
    """Controls of the simulated devices (used by the simulator panel and tests).

    ``set_body_temperature`` takes the simulated *person's* body temperature
    and sets the fake sensor's object reading with the inverse of the
    configured estimation model, so the whole chain (register read → °C →
    estimate → rule) runs and 36.6 admits while 39.0 refers.
    """

    def __init__(
        self,
        bus: FakeMLX90614Bus,
        camera: SimCamera,
        outputs: GpioGateOutputs,
        model: EstimationModel,
        *,
        inputs: GpioGateInputs | None = None,
        pin_factory: Any = None,
    ) -> None:
        self.bus, self.camera, self.outputs, self.model = bus, camera, outputs, model
        self.inputs, self.pin_factory = inputs, pin_factory
        self.lock = threading.RLock()
        self.faults = tuple(f.value for f in Fault)
        self.ambient_c = 25.0
        self.body_c: float | None = None
        self.walkin_body_c = 36.6
        """The body temperature of the person an officer's walk-in places at the thermometer
        (the simulator panel's field; see :func:`kiosk.services.runtime.simulate_walkin`)."""
        self.set_body_temperature(None)

    def set_body_temperature(self, body_c: float | None, ambient_c: float | None = None) -> None:
        """``None`` means nobody in front of the sensor (it sees the room)."""
        if ambient_c is not None:
            self.ambient_c = ambient_c
        self.body_c = body_c
        self.bus.set_ambient(self.ambient_c)
        if body_c is None:
            self.bus.set_object(self.ambient_c)
        else:
            self.bus.set_object(round(self.model.object_for(body_c, self.ambient_c), 2))

    def present(self, text: str) -> None:
        self.camera.present(text)

    def clear(self) -> None:
        self.camera.clear()

    def inject_fault(self, fault: str | None, count: int | None = None) -> None:
        """Make the simulated thermometer misbehave (``None`` clears every fault)."""
        if fault and fault not in self.faults:
            raise InputError(f"unknown fault {fault!r}; choose one of {', '.join(self.faults)}")
        self.bus.clear_faults()
        if fault:
            self.bus.inject(fault, count)

    def press_button(self, hold: bool = False) -> None:
        """Press (or hold) the officer button: drives the mock pin like a finger would."""
        if self.inputs is None:
            raise InputError("no officer button in this simulation")
        pin = self.inputs.button.pin
        pin.drive_low()
        if hold:
            held = threading.Event()
            previous = self.inputs.button.when_held
            self.inputs.button.when_held = lambda: (previous(), held.set())  # type: ignore[func-returns-value]
            held.wait(self.inputs.button.hold_time + 2.0)
            self.inputs.button.when_held = previous
        else:
            import time

            time.sleep(0.08)  # longer than the 50 ms debounce
        pin.drive_high()

    def state(self) -> dict[str, object]:
        return {
            "showing": self.camera.showing,
            "body_c": self.body_c,
            "ambient_c": self.ambient_c,
            "outputs": self.outputs.state(),
            "events": [{"ts": ts, "outcome": o} for ts, o in self.outputs.events],
        }


def open_outputs(config: Config, pin_factory: object = None) -> GpioGateOutputs:
    hw = config.hardware
    return GpioGateOutputs(
        relay_pin=hw.relay_pin,
        green_pin=hw.green_pin,
        red_pin=hw.red_pin,
        buzzer_pin=hw.buzzer_pin,
        relay_active_high=hw.relay_active_high,
        open_seconds=hw.relay_open_seconds,
        pin_factory=pin_factory,
    )


def open_inputs(config: Config, pin_factory: object = None) -> GpioGateInputs:
    hw = config.hardware
    return GpioGateInputs(
        button_pin=hw.button_pin,
        presence_pin=hw.presence_pin,
        hold_seconds=hw.button_hold_seconds,
        pin_factory=pin_factory,
    )


def open_thermometer(config: Config) -> tuple[MLX90614, FakeMLX90614Bus | None]:
    """Only the thermometer (for `kiosk calibrate`/`sensor`: the GPIO lines stay free).

    In sim mode the real driver runs on a fake bus, returned so callers can set the scene.
    """
    hw = config.hardware
    if hw.mode == "sim":
        bus = FakeMLX90614Bus(hw.i2c_address)
        return MLX90614(bus, hw.i2c_address, check_pec=hw.check_pec), bus
    return open_mlx90614(hw.i2c_bus, hw.i2c_address, check_pec=hw.check_pec), None


def open_devices(config: Config, *, on_change: Callable[[], None] | None = None) -> Devices:
    """Open every device for ``config.hardware.mode``; never raises for a missing device.

    Real mode: one attempt at each device now; whatever is missing is retried by the
    returned ``Devices.supervisor`` once it is started (``supervisor.start()``).
    ``on_change`` is called whenever a device appears or vanishes.
    """
    model = EstimationModel(config.temperature.offset_c, config.temperature.ambient_gain)
    hw = config.hardware
    if hw.mode == "sim":
        from gpiozero.pins.mock import MockFactory

        bus = FakeMLX90614Bus(hw.i2c_address)
        thermometer = MLX90614(bus, hw.i2c_address, check_pec=hw.check_pec)
        camera = SimCamera()
        factory = MockFactory()
        outputs = open_outputs(config, factory)
        inputs = open_inputs(config, factory)
        sim = Simulator(bus, camera, outputs, model, inputs=inputs, pin_factory=factory)
        return Devices(thermometer, camera, outputs, inputs, sim)

    devices = Devices(
        MissingThermometer("not opened yet"),
        MissingCamera("not opened yet"),
        MissingOutputs("not opened yet"),
        MissingInputs("not opened yet"),
    )

    def put(attr: str) -> Callable[[Any], None]:
        def install(device: Any) -> None:
            setattr(devices, attr, device)
            if attr == "inputs":
                devices.apply_handlers(device)

        return install

    bus_path = f"/dev/i2c-{hw.i2c_bus}"
    slots: list[DeviceSlot[Any]] = [
        DeviceSlot(
            "gpio",
            opener=lambda: open_outputs(config),
            stand_in=MissingOutputs,
            install=put("outputs"),
            hint=f"relay GPIO{hw.relay_pin}: check the GPIO chip and the 'gpio' group",
        ),
        DeviceSlot(
            "thermometer",
            opener=lambda: open_mlx90614(hw.i2c_bus, hw.i2c_address, check_pec=hw.check_pec),
            stand_in=MissingThermometer,
            install=put("thermometer"),
            probe=lambda t: t.ambient_temperature(),
            hint=f"MLX90614 at 0x{hw.i2c_address:02x} on {bus_path}: check wiring and I2C",
        ),
        DeviceSlot(
            "inputs",
            opener=lambda: open_inputs(config),
            stand_in=MissingInputs,
            install=put("inputs"),
            required=False,
            hint=f"officer button GPIO{hw.button_pin}",
        ),
    ]
    devices.supervisor = DeviceSupervisor(slots, on_change=on_change)
    devices.supervisor.open_all()
    return devices


class MissingThermometer:
    """Stands in for a thermometer that does not answer: every read raises SensorError."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def object_temperature(self) -> float:
        raise SensorError(f"thermometer unavailable: {self.reason}")

    def ambient_temperature(self) -> float:
        raise SensorError(f"thermometer unavailable: {self.reason}")

    def close(self) -> None:
        pass


class MissingCamera:
    """Stands in for a camera that is not open: every read raises CameraError."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def read(self) -> Frame:
        raise CameraError(f"camera unavailable: {self.reason}")

    def close(self) -> None:
        pass


class MissingOutputs:
    """Stands in for gate outputs whose GPIO cannot be opened: drives nothing (gate closed)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def signal(self, outcome: str) -> None:
        log.warning("gate outputs unavailable (%s): %s not shown", self.reason, outcome)

    def close(self) -> None:
        pass


class MissingInputs:
    """Stands in for the officer button and presence sensor while their GPIO is missing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.on_press: Callable[[], object] = _nothing
        self.on_hold: Callable[[], object] = _nothing
        self.on_presence: Callable[[], object] = _nothing

    def close(self) -> None:
        pass


def _nothing() -> None:
    return None


__all__ = ["Devices", "Simulator", "open_devices"]
