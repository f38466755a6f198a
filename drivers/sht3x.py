"""Sensirion SHT3x (SHT30/31/35) room-air temperature sensor on the Pi's I2C bus.

Wiring (breakout board, 3.3 V): VIN → 3.3 V, GND → GND, SDA → GPIO2 (pin 3),
SCL → GPIO3 (pin 5) — the same bus as the MLX90614, which limits it to 100 kHz (the
SHT3x is happy with that). ADDR pin low → address 0x44 (default), high → 0x45.
Mount it in the room air, outside the kiosk's enclosure and away from the Pi.

Protocol (datasheet v6): a single-shot measurement is the 16-bit command 0x2400 (high
repeatability, no clock stretching); the result is ready after at most 15.5 ms — reading
earlier is NACKed. The answer is 6 bytes: temperature MSB, LSB, CRC, humidity MSB, LSB,
CRC. CRC-8 polynomial 0x31, initial 0xFF (datasheet example: 0xBEEF → 0x92).
T = −45 + 175 · raw / 65535 °C.

Errors: :class:`~drivers.i2c_helpers.I2CSensorError` after ``retries`` attempts. Timing:
one reading takes ~16 ms; read it once per visit, not per thermometer sample.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from smbus2 import i2c_msg

from drivers.base import ClosesOnExit
from drivers.i2c_helpers import I2CBus, I2CSensorError, describe_oserror, open_bus

DEFAULT_ADDRESS = 0x44
MEASURE_HIGH = (0x24, 0x00)
CONVERSION_S = 0.016


def crc8(data: bytes) -> int:
    crc = 0xFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def raw_to_celsius(raw: int) -> float:
    return -45.0 + 175.0 * raw / 65535.0


def celsius_to_raw(celsius: float) -> int:
    return max(0, min(0xFFFF, round((celsius + 45.0) * 65535.0 / 175.0)))


class SHT3x(ClosesOnExit):
    """Room-air temperature (°C) from an SHT3x; the bus is closed with the driver if owned."""

    def __init__(
        self,
        bus: I2CBus,
        address: int = DEFAULT_ADDRESS,
        *,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        owns_bus: bool = False,
    ) -> None:
        self.bus, self.address, self.retries = bus, address, retries
        self._sleep, self._owns_bus, self._closed = sleep, owns_bus, False

    def room_temperature(self) -> float:
        """One single-shot measurement, CRC-checked, °C."""
        last = "no attempt"
        for _ in range(self.retries):
            try:
                self.bus.i2c_rdwr(i2c_msg.write(self.address, list(MEASURE_HIGH)))
                self._sleep(CONVERSION_S)
                read = i2c_msg.read(self.address, 6)
                self.bus.i2c_rdwr(read)
            except OSError as exc:
                last = describe_oserror("room sensor SHT3x", self.address, exc)
                continue
            data = bytes(read)
            if crc8(data[0:2]) != data[2]:
                last = f"room sensor SHT3x at 0x{self.address:02x}: CRC mismatch — check cabling"
                continue
            return round(raw_to_celsius(data[0] << 8 | data[1]), 2)
        raise I2CSensorError(last)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_bus:
                self.bus.close()


def open_sht3x(bus_number: int, address: int = DEFAULT_ADDRESS) -> SHT3x:
    """Open the bus and check the sensor answers (one measurement)."""
    sensor = SHT3x(open_bus(bus_number, "room sensor"), address, owns_bus=True)
    try:
        sensor.room_temperature()
    except I2CSensorError:
        sensor.close()
        raise
    return sensor
