"""The part every register-level twin of an I2C chip shares: the bus framing.

:meth:`FakeI2CChip.i2c_rdwr` answers smbus2's ``i2c_rdwr`` as the kernel would: a closed bus
is ``EBADF``, another address or a chip told to ``fail()`` is a NACK (``OSError(121)``), and
each message is handed to the chip's own :meth:`~FakeI2CChip._read` or
:meth:`~FakeI2CChip._write`, under one lock.
"""

from __future__ import annotations

import errno
import threading

from smbus2 import i2c_msg

_I2C_M_RD = 0x0001


class FakeI2CChip:
    def __init__(self, address: int) -> None:
        self.address = address
        self.failing = False
        self.closed = False
        self._lock = threading.Lock()

    def fail(self, failing: bool = True) -> None:
        """``True``: the chip stops answering (every transaction is a NACK)."""
        with self._lock:
            self.failing = failing

    def i2c_rdwr(self, *msgs: i2c_msg) -> None:
        with self._lock:
            if self.closed:
                raise OSError(errno.EBADF, "bus closed")
            for msg in msgs:
                if msg.addr != self.address or self.failing:
                    raise OSError(errno.EREMOTEIO, "Remote I/O error")
                if msg.flags & _I2C_M_RD:
                    self._read(msg)
                else:
                    self._write(bytes(msg))

    def close(self) -> None:
        self.closed = True

    def _read(self, msg: i2c_msg) -> None:  # pragma: no cover - every chip defines its own
        raise NotImplementedError

    def _write(self, data: bytes) -> None:  # pragma: no cover - every chip defines its own
        raise NotImplementedError
