"""The thermometer's optional I2C helpers: a distance sensor and a room-air sensor.

Both are chosen by ``[thermometer]`` (``distance_sensor``, ``room_sensor``); ``none`` means
the gate works without (see :mod:`kiosk.services.screening`). In real mode a configured
helper that is missing closes the gate like the thermometer does (a required device slot,
retried by the supervisor). In simulation the real drivers run on register-level twins.

The adapters here turn the drivers' :class:`~drivers.i2c_helpers.I2CSensorError` into the
kiosk's :class:`~kiosk.errors.SensorError`.
"""

from __future__ import annotations

from typing import Any, Protocol

from drivers.i2c_helpers import I2CSensorError
from drivers.sht3x import SHT3x, open_sht3x
from drivers.vl53l0x import VL53L0X, open_vl53l0x
from kiosk.config import Config
from kiosk.domain import optics
from kiosk.errors import DeviceError, SensorError


class DistanceSensor(Protocol):
    """Forehead distance, cm, or ``None`` with nothing in range; SensorError on failure.

    A reading takes ~30 ms on a real VL53L0X."""

    def distance_cm(self) -> float | None: ...

    def close(self) -> None: ...


class RoomSensor(Protocol):
    """Room-air temperature, °C; SensorError on failure. ~16 ms per reading."""

    def room_temperature(self) -> float: ...

    def close(self) -> None: ...


class Distance:
    def __init__(self, driver: VL53L0X) -> None:
        self.driver = driver

    def distance_cm(self) -> float | None:
        try:
            return self.driver.distance_cm()
        except I2CSensorError as exc:
            raise SensorError(str(exc)) from exc

    def close(self) -> None:
        self.driver.close()


class RoomAir:
    def __init__(self, driver: SHT3x) -> None:
        self.driver = driver

    def room_temperature(self) -> float:
        try:
            return self.driver.room_temperature()
        except I2CSensorError as exc:
            raise SensorError(str(exc)) from exc

    def close(self) -> None:
        self.driver.close()


def open_distance(config: Config) -> Distance:
    t = config.thermometer
    try:
        return Distance(open_vl53l0x(config.hardware.i2c_bus, t.distance_address))
    except I2CSensorError as exc:
        raise DeviceError(str(exc)) from exc


def open_room(config: Config) -> RoomAir:
    t = config.thermometer
    try:
        return RoomAir(open_sht3x(config.hardware.i2c_bus, t.room_address))
    except I2CSensorError as exc:
        raise DeviceError(str(exc)) from exc


def probe_helpers(config: Config, devices: Any = None) -> list[tuple[str, bool, str]]:
    """``(name, ok, detail)`` for each configured helper sensor (`kiosk doctor`).

    Uses the running (or simulated) devices when given, else opens each on its own.
    """
    t = config.thermometer
    found: list[tuple[str, bool, str]] = []
    for name, kind, read in (
        ("distance_sensor", t.distance_sensor, _read_distance),
        ("room_sensor", t.room_sensor, _read_room),
    ):
        if kind == "none":
            continue
        try:
            found.append((name, True, f"{kind}: {read(config, devices)}"))
        except (SensorError, DeviceError) as exc:
            found.append((name, False, f"{kind}: {exc}"))
    return found


def _read_distance(config: Config, devices: Any) -> str:
    sensor = devices.distance if devices is not None else None
    opened = sensor is None
    sensor = sensor or open_distance(config)
    try:
        cm = sensor.distance_cm()
    finally:
        if opened:
            sensor.close()
    low, high = config.thermometer.distance_range_cm
    seen = "nothing in range" if cm is None else f"{cm:.1f} cm"
    return f"{seen}; samples are taken at {low:.1f}–{high:.1f} cm"


def _read_room(config: Config, devices: Any) -> str:
    sensor = devices.room if devices is not None else None
    opened = sensor is None
    sensor = sensor or open_room(config)
    try:
        return f"room air {sensor.room_temperature():.1f} °C (used as the ambient)"
    finally:
        if opened:
            sensor.close()


def ambient_from(die_c: float, room_c: float | None, enclosure_offset_c: float) -> float:
    """The ambient the model uses: the room sensor's, else the die less the enclosure's warmth."""
    return room_c if room_c is not None else die_c - enclosure_offset_c


def scene_object_c(
    skin_c: float, room_c: float, distance_cm: float, fov_deg: float, forehead_cm: float
) -> float:
    """What the thermometer sees of a forehead at ``distance_cm`` in a room (simulator)."""
    fill = optics.fill_fraction(distance_cm, fov_deg, forehead_cm)
    return optics.mixed_object_c(skin_c, room_c, fill)
