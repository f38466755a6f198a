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

from drivers.base import Camera, GateOutputs, Thermometer
from drivers.gpio_inputs import GpioGateInputs
from drivers.gpio_outputs import GpioGateOutputs
from drivers.mlx90614 import MLX90614, open_mlx90614
from drivers.sht3x import SHT3x
from drivers.sim_camera import SimCamera
from drivers.sim_mlx90614 import FakeMLX90614Bus, Fault
from drivers.sim_sht3x import FakeSHT3xBus
from drivers.sim_vl53l0x import FakeVL53L0XBus
from drivers.vl53l0x import VL53L0X
from kiosk.config import Config
from kiosk.domain.temperature import EstimationModel
from kiosk.errors import InputError
from kiosk.services.helper_sensors import (
    Distance,
    DistanceSensor,
    RoomAir,
    RoomSensor,
    open_distance,
    open_room,
    scene_object_c,
)
from kiosk.services.standins import (
    MissingCamera,
    MissingHelper,
    MissingInputs,
    MissingOutputs,
    MissingThermometer,
)
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
    distance: DistanceSensor | None = None
    """The optional forehead distance sensor (``thermometer.distance_sensor``)."""
    room: RoomSensor | None = None
    """The optional room-air sensor (``thermometer.room_sensor``)."""
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
        helpers = [d for d in (self.distance, self.room) if d is not None]
        for device in (self.outputs, self.inputs, self.camera, self.thermometer, *helpers):
            try:
                device.close()
            except Exception:  # pragma: no cover - best effort on shutdown
                log.exception("closing %s failed", type(device).__name__)


@dataclass
class Scene:
    """The simulated visitor: body temperature, forehead distance (cm), the room."""

    body_c: float | None = None
    distance_cm: float | None = None
    room_c: float = 25.0


class Simulator:
    """Controls of the simulated devices (used by the simulator panel and tests).

    ``set_body_temperature`` takes the simulated *person's* body temperature and how far
    their forehead is from the sensor, and sets the fake sensors' registers physically:
    the skin is the body through the inverse of the configured estimation model (at full
    fill, in that room), and the thermometer sees the area-weighted mix of skin and room
    for its field of view at that distance (:mod:`kiosk.domain.optics`). The die runs
    ``die_offset_c`` above the room (an enclosure); a room sensor, when configured, reads
    the room; a distance sensor reads the distance. So the whole chain (register read →
    °C → estimate → rule) runs: 36.6 admits at the working distance, 39.0 refers, and a
    forehead too far away reads low and is asked closer.
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
        optics: tuple[float, float, float] = (90.0, 5.0, 1.25),
        distance_bus: FakeVL53L0XBus | None = None,
        room_bus: FakeSHT3xBus | None = None,
    ) -> None:
        self.bus, self.camera, self.outputs, self.model = bus, camera, outputs, model
        self.inputs, self.pin_factory = inputs, pin_factory
        self.fov_deg, self.forehead_cm, self.working_distance_cm = optics
        self.distance_bus, self.room_bus = distance_bus, room_bus
        self.lock = threading.RLock()
        self.faults = tuple(f.value for f in Fault)
        self.scene = Scene()
        self.die_offset_c = 0.0
        self.recheck_scene: Scene | None = None
        self.walkin_body_c = 36.6
        """The body temperature of the person an officer's walk-in places at the thermometer
        (the simulator panel's field; see :func:`kiosk.services.runtime.simulate_walkin`)."""
        self.set_body_temperature(None)

    @property
    def body_c(self) -> float | None:
        return self.scene.body_c

    @property
    def ambient_c(self) -> float:
        return self.scene.room_c

    def set_body_temperature(
        self,
        body_c: float | None,
        ambient_c: float | None = None,
        distance_cm: float | None = None,
    ) -> None:
        """``None`` means nobody in front of the sensor (it sees the room).

        ``ambient_c`` is the room (kept when omitted); ``distance_cm`` the forehead's
        distance (omitted: the working distance).
        """
        room = self.scene.room_c if ambient_c is None else ambient_c
        if body_c is not None and distance_cm is None:
            distance_cm = self.working_distance_cm
        self.scene = Scene(body_c, distance_cm if body_c is not None else None, room)
        self._apply()

    def set_recheck(self, body_c: float | None, distance_cm: float | None) -> None:
        """Where the visitor is when the gate measures again (see :meth:`step_to_recheck`)."""
        self.recheck_scene = Scene(body_c, distance_cm, self.scene.room_c)

    def step_to_recheck(self) -> None:
        """The visitor moves as planned for the re-measurement (called on its interim)."""
        if (scene := self.recheck_scene) is not None:
            self.set_body_temperature(scene.body_c, scene.room_c, scene.distance_cm)

    def _apply(self) -> None:
        scene = self.scene
        self.bus.set_ambient(scene.room_c + self.die_offset_c)
        if self.room_bus is not None:
            self.room_bus.set_room(scene.room_c)
        if self.distance_bus is not None:
            self.distance_bus.set_distance(scene.distance_cm)
        if scene.body_c is None or scene.distance_cm is None:
            self.bus.set_object(scene.room_c)
            return
        skin = self.model.object_for(scene.body_c, scene.room_c)
        seen = scene_object_c(skin, scene.room_c, scene.distance_cm, self.fov_deg, self.forehead_cm)
        self.bus.set_object(round(seen, 2))

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
            "distance_cm": self.scene.distance_cm,
            "working_distance_cm": round(self.working_distance_cm, 2),
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
        t = config.thermometer
        distance_bus = room_bus = None
        devices = Devices(thermometer, camera, outputs, inputs)
        if t.distance_sensor != "none":
            distance_bus = FakeVL53L0XBus(t.distance_address)
            ranger = VL53L0X(distance_bus, t.distance_address)
            ranger.init()
            devices.distance = Distance(ranger)
        if t.room_sensor != "none":
            room_bus = FakeSHT3xBus(t.room_address)
            devices.room = RoomAir(SHT3x(room_bus, t.room_address))
        devices.simulator = Simulator(
            bus,
            camera,
            outputs,
            model,
            inputs=inputs,
            pin_factory=factory,
            optics=(t.fov_deg, t.forehead_cm, t.working_distance_cm),
            distance_bus=distance_bus,
            room_bus=room_bus,
        )
        return devices

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
    t = config.thermometer
    if t.distance_sensor != "none":
        devices.distance = MissingHelper("not opened yet")
        slots.append(
            DeviceSlot(
                "distance",
                opener=lambda: open_distance(config),
                stand_in=MissingHelper,
                install=put("distance"),
                probe=lambda d: d.distance_cm(),
                hint=f"VL53L0X at 0x{t.distance_address:02x} on {bus_path}: check wiring",
            )
        )
    if t.room_sensor != "none":
        devices.room = MissingHelper("not opened yet")
        slots.append(
            DeviceSlot(
                "room_sensor",
                opener=lambda: open_room(config),
                stand_in=MissingHelper,
                install=put("room"),
                probe=lambda r: r.room_temperature(),
                hint=f"SHT3x at 0x{t.room_address:02x} on {bus_path}: check wiring",
            )
        )
    devices.supervisor = DeviceSupervisor(slots, on_change=on_change)
    devices.supervisor.open_all()
    return devices


__all__ = ["Devices", "Simulator", "open_devices"]
