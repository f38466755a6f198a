"""Register-level twin of the VL53L0X: a fake I2C bus with its register map.

Models the registers :mod:`drivers.vl53l0x` uses: the model id 0xEE at 0xC0, writes to
any register stored, reads auto-incrementing from the written register; a write of 0x01
to SYSRANGE_START (0x00) runs one single-shot range at once (start bit clear, interrupt
status 0x04 "new sample", range status 11 and the distance in mm at 0x1E/0x1F — or range
status 4 "phase fail" and 8190 mm with nobody within ``max_range_cm``); a write to
SYSTEM_INTERRUPT_CLEAR (0x0B) clears the interrupt status. Other addresses NACK
(``OSError(121)``); ``fail()`` makes the chip stop answering. ``set_distance`` sets the
scene (cm, ``None`` = nobody in front).
"""

from __future__ import annotations

from smbus2 import i2c_msg

from drivers.sim_i2c import FakeI2CChip
from drivers.vl53l0x import (
    DEFAULT_ADDRESS,
    MODEL_ID,
    NO_TARGET_MM,
    RANGE_VALID,
    REG_INTERRUPT_CLEAR,
    REG_MODEL_ID,
    REG_RANGE_MM,
    REG_RESULT_INTERRUPT,
    REG_RESULT_RANGE,
    REG_SYSRANGE_START,
)


class FakeVL53L0XBus(FakeI2CChip):
    def __init__(self, address: int = DEFAULT_ADDRESS, *, max_range_cm: float = 120.0) -> None:
        super().__init__(address)
        self.max_range_cm = max_range_cm
        self.registers = bytearray(256)
        self.registers[REG_MODEL_ID] = MODEL_ID
        self.distance: float | None = None
        self.ranges = 0
        self._pointer = 0

    def set_distance(self, cm: float | None) -> None:
        with self._lock:
            self.distance = cm

    def _read(self, msg: i2c_msg) -> None:
        for i in range(msg.len):
            msg.buf[i] = bytes([self.registers[(self._pointer + i) & 0xFF]])
        self._pointer = (self._pointer + msg.len) & 0xFF

    def _write(self, data: bytes) -> None:
        self._pointer = data[0]
        for i, value in enumerate(data[1:]):
            self._store((data[0] + i) & 0xFF, value)

    def _store(self, register: int, value: int) -> None:
        if register == REG_MODEL_ID:
            return  # read-only
        if register == REG_SYSRANGE_START and value & 0x01:
            self._range()
            return
        if register == REG_INTERRUPT_CLEAR and value & 0x01:
            self.registers[REG_RESULT_INTERRUPT] = 0x00
            return
        self.registers[register] = value

    def _range(self) -> None:
        self.ranges += 1
        cm = self.distance
        valid = cm is not None and 0 <= cm <= self.max_range_cm
        mm = round(cm * 10) if valid and cm is not None else NO_TARGET_MM
        status = RANGE_VALID if valid else 4
        self.registers[REG_SYSRANGE_START] = 0x00
        self.registers[REG_RESULT_RANGE] = status << 3
        self.registers[REG_RANGE_MM] = mm >> 8
        self.registers[REG_RANGE_MM + 1] = mm & 0xFF
        self.registers[REG_RESULT_INTERRUPT] = 0x04
