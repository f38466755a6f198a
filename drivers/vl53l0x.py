"""ST VL53L0X time-of-flight distance sensor on the Pi's I2C bus (forehead distance).

Wiring (breakout board with regulator): VIN → 3.3 V, GND → GND, SDA → GPIO2 (pin 3),
SCL → GPIO3 (pin 5) — the MLX90614's bus, at its 100 kHz limit or below (fine for the
VL53L0X). Default address 0x29. Mount it next to the thermometer, aimed the same way, so
both see the same forehead.

Registers used (ST API register map, as the Pololu and Adafruit drivers use them):
``0xC0`` model id (0xEE), ``0x88`` I2C mode (0x00 standard), ``0x00`` SYSRANGE_START
(write 0x01 = single shot; bit 0 reads 1 until the measurement has started), ``0x13``
RESULT_INTERRUPT_STATUS (bits 2:0 ≠ 0 = sample ready), ``0x14`` RESULT_RANGE_STATUS
(bits 6:3 = 11 for a valid range), ``0x1E``/``0x1F`` the range in mm (big-endian, within
the 12-byte result block at 0x14), ``0x0B`` SYSTEM_INTERRUPT_CLEAR (write 0x01).
Register reads are ``write([reg])`` + ``read(n)`` with auto-increment.

What this driver does not do: load ST's tuning table, SPAD management and reference
calibration (the ST API's static init). Ranging then runs on the power-on defaults, good
to ~±1–2 cm at forehead distances (enough for the gate's working range, whose far limit
keeps 20 % margin) but not ST's specified accuracy; bench a new board with `kiosk doctor`.

Units: centimetres. Errors: :class:`~drivers.i2c_helpers.I2CSensorError` (not answering,
wrong chip, no ready sample within ``timeout_s``). :meth:`VL53L0X.distance_cm` returns
``None`` when nothing is in range (range status not valid, or the 8190/8191 mm "no
target" codes). Timing: one single-shot range takes ~30 ms on the chip.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from smbus2 import i2c_msg

from drivers.base import ClosesOnExit
from drivers.i2c_helpers import I2CBus, I2CSensorError, describe_oserror, open_bus

DEFAULT_ADDRESS = 0x29
REG_SYSRANGE_START = 0x00
REG_INTERRUPT_CLEAR = 0x0B
REG_RESULT_INTERRUPT = 0x13
REG_RESULT_RANGE = 0x14
REG_RANGE_MM = REG_RESULT_RANGE + 10
REG_I2C_MODE = 0x88
REG_MODEL_ID = 0xC0
MODEL_ID = 0xEE
RANGE_VALID = 11
NO_TARGET_MM = 8190


class VL53L0X(ClosesOnExit):
    def __init__(
        self,
        bus: I2CBus,
        address: int = DEFAULT_ADDRESS,
        *,
        timeout_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        owns_bus: bool = False,
    ) -> None:
        self.bus, self.address, self.timeout_s = bus, address, timeout_s
        self._clock, self._sleep = clock, sleep
        self._owns_bus, self._closed = owns_bus, False

    def init(self) -> None:
        """Check the model id and set standard I2C mode; raises I2CSensorError."""
        model = self._read(REG_MODEL_ID, 1)[0]
        if model != MODEL_ID:
            raise I2CSensorError(
                f"the device at 0x{self.address:02x} is not a VL53L0X (model id "
                f"0x{model:02x}, expected 0x{MODEL_ID:02x}) — check the address"
            )
        self._write(REG_I2C_MODE, 0x00)

    def distance_cm(self) -> float | None:
        """One single-shot range: the distance in cm, or ``None`` when nothing is in range."""
        self._write(REG_SYSRANGE_START, 0x01)
        deadline = self._clock() + self.timeout_s
        while self._read(REG_SYSRANGE_START, 1)[0] & 0x01:
            self._wait(deadline, "start")
        while not self._read(REG_RESULT_INTERRUPT, 1)[0] & 0x07:
            self._wait(deadline, "result")
        block = self._read(REG_RESULT_RANGE, 12)
        self._write(REG_INTERRUPT_CLEAR, 0x01)
        status = (block[0] >> 3) & 0x0F
        mm = block[10] << 8 | block[11]
        if status != RANGE_VALID or mm >= NO_TARGET_MM:
            return None
        return mm / 10.0

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owns_bus:
                self.bus.close()

    def _wait(self, deadline: float, what: str) -> None:
        if self._clock() > deadline:
            raise I2CSensorError(
                f"distance sensor VL53L0X at 0x{self.address:02x}: no range {what} within "
                f"{self.timeout_s * 1000:.0f} ms — power-cycle it, check the XSHUT pin"
            )
        self._sleep(0.002)

    def _read(self, register: int, count: int) -> bytes:
        read = i2c_msg.read(self.address, count)
        try:
            self.bus.i2c_rdwr(i2c_msg.write(self.address, [register]), read)
        except OSError as exc:
            raise I2CSensorError(describe_oserror("distance sensor", self.address, exc)) from exc
        return bytes(read)

    def _write(self, register: int, value: int) -> None:
        try:
            self.bus.i2c_rdwr(i2c_msg.write(self.address, [register, value]))
        except OSError as exc:
            raise I2CSensorError(describe_oserror("distance sensor", self.address, exc)) from exc


def open_vl53l0x(bus_number: int, address: int = DEFAULT_ADDRESS) -> VL53L0X:
    sensor = VL53L0X(open_bus(bus_number, "distance sensor"), address, owns_bus=True)
    try:
        sensor.init()
    except I2CSensorError:
        sensor.close()
        raise
    return sensor
