"""Register-level twin of the SHT3x: a fake I2C bus that speaks its command protocol.

Models: the single-shot command 0x2400 (other 16-bit commands are ACKed and ignored,
as soft reset 0x30A2 is), a read of up to 6 bytes answering temperature and humidity
words each followed by its CRC-8 (0x31, init 0xFF), a NACK (``OSError(121)``) on a read
before ``conversion_s`` has passed since the command or without a command, and a NACK
for any other address. ``set_room`` sets the scene (°C); ``fail`` makes it stop answering.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable

from smbus2 import i2c_msg

from drivers.sht3x import CONVERSION_S, DEFAULT_ADDRESS, celsius_to_raw, crc8
from drivers.sim_i2c import FakeI2CChip


class FakeSHT3xBus(FakeI2CChip):
    def __init__(
        self,
        address: int = DEFAULT_ADDRESS,
        *,
        conversion_s: float = CONVERSION_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(address)
        self.conversion_s, self.clock = conversion_s, clock
        self.room_c, self.humidity = 25.0, 55.0
        self.commands: list[int] = []
        self._started: float | None = None

    def set_room(self, celsius: float) -> None:
        with self._lock:
            self.room_c = celsius

    def _write(self, data: bytes) -> None:
        if len(data) != 2:
            raise OSError(errno.EREMOTEIO, "SHT3x takes 16-bit commands")
        command = data[0] << 8 | data[1]
        self.commands.append(command)
        self._started = self.clock() if command == 0x2400 else None

    def _read(self, msg: i2c_msg) -> None:
        if self._started is None or self.clock() - self._started < self.conversion_s:
            raise OSError(errno.EREMOTEIO, "measurement not ready (NACK)")
        self._started = None
        t = celsius_to_raw(self.room_c)
        h = round(self.humidity * 65535 / 100)
        words = bytes([t >> 8, t & 0xFF])
        hum = bytes([h >> 8, h & 0xFF])
        answer = words + bytes([crc8(words)]) + hum + bytes([crc8(hum)])
        for i in range(min(msg.len, 6)):
            msg.buf[i] = bytes([answer[i]])
