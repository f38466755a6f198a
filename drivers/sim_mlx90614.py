"""Register-level simulated twin of the MLX90614: a fake SMBus bus that speaks its protocol.

Simulation mode runs the real :class:`drivers.mlx90614.MLX90614` driver on
:class:`FakeMLX90614Bus`, so the code under test is the code that runs on the Pi.

What the fake models (datasheet rev 13):

* RAM 0x06 (Ta), 0x07 (Tobj1), 0x08 (Tobj2) as 0.02 K words; set the scene with
  :meth:`~FakeMLX90614Bus.set_ambient`, :meth:`~FakeMLX90614Bus.set_object`,
  :meth:`~FakeMLX90614Bus.set_object2` (°C) or :meth:`~FakeMLX90614Bus.set_raw`.
* EEPROM 0x20|cell (0x20–0x3F) with factory-like defaults: 0x24 emissivity 0xFFFF,
  0x25 config 1, 0x2E SMBus address. Only user cells 0x20–0x25 and 0x2E are writable;
  writes elsewhere are ignored (factory calibration is write-protected).
* Reads: ``i2c_rdwr(write(addr, [cmd]), read(addr, 3))`` answers LSB, MSB, PEC over
  ``[addr<<1, cmd, addr<<1|1, LSB, MSB]``; ``read_word_data`` answers the word only.
* Writes: ``i2c_rdwr(write(addr, [cmd, LSB, MSB, PEC]))`` with PEC over
  ``[addr<<1, cmd, LSB, MSB]``. A wrong or missing PEC means the chip does not perform the
  write (ACKed, silently dropped, as on the chip). ``write_word_data`` sends no PEC unless
  ``pec`` is True (like ``smbus2.SMBus.pec``).
* EEPROM needs an erase (write 0x0000) before a new value. Writing a non-zero word over a
  non-erased cell leaves ``old | new`` (programming can only set bits) — the read-back
  shows the corruption, as a real driver's verify step would.
* Any message to another address raises ``OSError(121)`` (NACK). Emissivity does not
  change the simulated object temperature.

Faults (:class:`Fault`) are injected with :meth:`~FakeMLX90614Bus.inject`, persistent or
for the next ``count`` transactions *they apply to*; every transaction is recorded in
:attr:`~FakeMLX90614Bus.log`. All public methods are thread-safe.
"""

from __future__ import annotations

import errno
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from smbus2 import i2c_msg

from drivers.mlx90614 import (
    DEFAULT_ADDRESS,
    RAM_AMBIENT,
    RAM_OBJECT1,
    RAM_OBJECT2,
    celsius_to_raw,
    crc8_pec,
)

_I2C_M_RD = 0x0001
_RAM = (RAM_AMBIENT, RAM_OBJECT1, RAM_OBJECT2)
_WRITABLE = frozenset({0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x2E})
_EEPROM_DEFAULTS = {
    0x20: 0x9993,  # To max
    0x21: 0x62E3,  # To min
    0x22: 0x0201,  # PWM control
    0x23: 0xF71C,  # Ta range
    0x24: 0xFFFF,  # emissivity 1.0
    0x25: 0x9FB4,  # config register 1
}


LOG_LENGTH = 1000


class Fault(StrEnum):
    """Faults the fake bus can inject, and which transactions each applies to."""

    NACK = "nack"  # any transaction: OSError(121), the chip does not answer
    EIO = "eio"  # any transaction: OSError(5), bus timeout / arbitration lost
    EBADMSG = "ebadmsg"  # reads: OSError(74), as the kernel reports a bad PEC
    SLOW = "slow"  # any transaction: sleep ``delay_s`` before answering
    BAD_PEC = "bad_pec"  # i2c_rdwr reads: PEC byte inverted
    ERROR_FLAG = "error_flag"  # object reads (0x07/0x08): bit 15 set
    WORD_FFFF = "word_ffff"  # RAM reads: 0xFFFF
    WORD_0000 = "word_0000"  # RAM reads: 0x0000
    STUCK = "stuck"  # RAM reads: the words current at injection, whatever the scene
    DROP_WRITE = "drop_write"  # writes: ACKed but not performed (brown-out, noise)


_ANY = frozenset({Fault.NACK, Fault.EIO, Fault.SLOW})
_READ = frozenset({Fault.EBADMSG, Fault.BAD_PEC, Fault.ERROR_FLAG})
_RAM_READ = frozenset({Fault.WORD_FFFF, Fault.WORD_0000, Fault.STUCK})


@dataclass(frozen=True)
class Transaction:
    """One bus transaction as the fake saw it."""

    op: str  # "read" or "write"
    address: int
    command: int
    word: int | None  # word answered or written (None if the transaction failed)
    faults: tuple[Fault, ...]


@dataclass
class _Active:
    fault: Fault
    remaining: int | None  # None: persistent
    delay_s: float
    frozen: dict[int, int]


class FakeMLX90614Bus:
    """An smbus2-compatible bus with one simulated MLX90614 at ``address``."""

    def __init__(self, address: int = DEFAULT_ADDRESS) -> None:
        self.address = address
        self.pec = False
        self.closed = False
        # Bounded: the simulated kiosk runs for days; tests look at the recent past only.
        self.log: deque[Transaction] = deque(maxlen=LOG_LENGTH)
        self._count = 0
        self._lock = threading.RLock()
        self._ram = {RAM_AMBIENT: 0, RAM_OBJECT1: 0, RAM_OBJECT2: 0}
        self._eeprom = {0x20 | cell: 0x0000 for cell in range(0x20)}
        self._eeprom.update(_EEPROM_DEFAULTS)
        self._eeprom[0x2E] = 0xBE00 | address
        self._faults: list[_Active] = []
        self.set_ambient(23.0)
        self.set_object(23.0)
        self.set_object2(23.0)

    # -- scene ----------------------------------------------------------------------------

    def set_object(self, celsius: float) -> None:
        self.set_raw(RAM_OBJECT1, celsius_to_raw(celsius))

    def set_object2(self, celsius: float) -> None:
        self.set_raw(RAM_OBJECT2, celsius_to_raw(celsius))

    def set_ambient(self, celsius: float) -> None:
        self.set_raw(RAM_AMBIENT, celsius_to_raw(celsius))

    def set_raw(self, command: int, word: int) -> None:
        """Put a raw 16-bit word into RAM (0x06–0x08) or EEPROM (0x20–0x3F)."""
        if not 0 <= word <= 0xFFFF or command not in (*_RAM, *self._eeprom):
            raise ValueError(f"cannot set 0x{command:02X} to {word!r}")
        with self._lock:
            (self._ram if command in _RAM else self._eeprom)[command] = word

    def eeprom(self, command: int) -> int:
        """The word stored in EEPROM cell ``command`` (0x20–0x3F), bypassing the bus."""
        with self._lock:
            return self._eeprom[command]

    # -- faults ---------------------------------------------------------------------------

    def inject(self, fault: Fault | str, count: int | None = None, *, delay_s: float = 0.0) -> None:
        """Inject ``fault`` for the next ``count`` applicable transactions (None: until cleared).

        ``delay_s`` is the sleep of :attr:`Fault.SLOW`; :attr:`Fault.STUCK` freezes the
        RAM words current now.
        """
        fault = Fault(fault)
        if count is not None and count < 1:
            raise ValueError("count must be ≥ 1 or None")
        with self._lock:
            self._faults.append(_Active(fault, count, delay_s, dict(self._ram)))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def transaction_count(self) -> int:
        with self._lock:
            return self._count

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()
            self._count = 0

    # -- smbus2 interface -----------------------------------------------------------------

    def i2c_rdwr(self, *msgs: i2c_msg) -> None:
        """Combined transaction: ``write([cmd])`` + ``read(3)``, or ``write([cmd, l, m, pec])``."""
        with self._lock:
            self._check_open()
            if any(m.addr != self.address for m in msgs):
                self._record("read" if len(msgs) == 2 else "write", msgs[0].addr, 0, None, ())
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            if len(msgs) == 2 and not msgs[0].flags & _I2C_M_RD and msgs[1].flags & _I2C_M_RD:
                request = bytes(msgs[0])
                if len(request) != 1:
                    raise OSError(errno.EINVAL, "MLX90614 read takes a one-byte command")
                lsb, msb, pec = self._read(request[0], with_pec=True)
                answer = bytes([lsb, msb, pec])[: msgs[1].len]
                for i, byte in enumerate(answer):
                    msgs[1].buf[i] = bytes([byte])
            elif len(msgs) == 1 and not msgs[0].flags & _I2C_M_RD and len(msgs[0]) == 4:
                cmd, lsb, msb, pec = bytes(msgs[0])
                self._write(cmd, lsb | msb << 8, pec)
            else:
                raise OSError(errno.EINVAL, "transaction not supported by the MLX90614")

    def read_word_data(self, i2c_addr: int, register: int) -> int:
        with self._lock:
            self._check_open()
            if i2c_addr != self.address:
                self._record("read", i2c_addr, register, None, ())
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            lsb, msb, _ = self._read(register, with_pec=False)
            return lsb | msb << 8

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None:
        with self._lock:
            self._check_open()
            if i2c_addr != self.address:
                self._record("write", i2c_addr, register, None, ())
                raise OSError(errno.EREMOTEIO, "Remote I/O error")
            lsb, msb = value & 0xFF, (value >> 8) & 0xFF
            pec = crc8_pec(bytes([i2c_addr << 1, register, lsb, msb])) if self.pec else None
            self._write(register, value & 0xFFFF, pec)

    def close(self) -> None:
        with self._lock:
            self.closed = True

    # -- chip -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise OSError(errno.EBADF, "Bad file descriptor (bus closed)")

    def _record(
        self, op: str, addr: int, cmd: int, word: int | None, faults: tuple[Fault, ...]
    ) -> None:
        self.log.append(Transaction(op, addr, cmd, word, faults))
        self._count += 1

    def _take(self, applies: frozenset[Fault]) -> list[_Active]:
        """Faults that apply to this transaction; consume one use of each."""
        hits = [a for a in self._faults if a.fault in applies]
        for hit in hits:
            if hit.remaining is not None:
                hit.remaining -= 1
        self._faults = [a for a in self._faults if a.remaining != 0]
        return hits

    def _bus_faults(self, op: str, cmd: int, hits: list[_Active]) -> None:
        """Apply SLOW, then raise for NACK / EIO / EBADMSG if any hit."""
        names = tuple(h.fault for h in hits)
        for hit in hits:
            if hit.fault is Fault.SLOW:
                time.sleep(hit.delay_s)
        for fault, code in ((Fault.NACK, errno.EREMOTEIO), (Fault.EIO, errno.EIO)):
            if fault in names:
                self._record(op, self.address, cmd, None, names)
                raise OSError(code, f"{fault.value} injected")
        if Fault.EBADMSG in names:
            self._record(op, self.address, cmd, None, names)
            raise OSError(errno.EBADMSG, "Bad message (PEC)")

    def _read(self, cmd: int, *, with_pec: bool) -> tuple[int, int, int]:
        if cmd not in _RAM and cmd not in self._eeprom:
            self._record("read", self.address, cmd, None, ())
            raise OSError(errno.EREMOTEIO, f"command 0x{cmd:02X} not answered")
        applies = _ANY | _READ if with_pec else _ANY | (_READ - {Fault.BAD_PEC})
        if cmd in _RAM:
            applies |= _RAM_READ
        if cmd == RAM_AMBIENT:
            applies -= {Fault.ERROR_FLAG}
        hits = self._take(applies)
        self._bus_faults("read", cmd, hits)
        word = self._ram[cmd] if cmd in _RAM else self._eeprom[cmd]
        for hit in hits:
            if hit.fault is Fault.STUCK:
                word = hit.frozen[cmd]
            elif hit.fault is Fault.ERROR_FLAG:
                word |= 0x8000
            elif hit.fault in (Fault.WORD_FFFF, Fault.WORD_0000):
                word = 0xFFFF if hit.fault is Fault.WORD_FFFF else 0x0000
        lsb, msb = word & 0xFF, word >> 8
        a = self.address << 1
        pec = crc8_pec(bytes([a, cmd, a | 1, lsb, msb]))
        if any(h.fault is Fault.BAD_PEC for h in hits):
            pec ^= 0xFF
        self._record("read", self.address, cmd, word, tuple(h.fault for h in hits))
        return lsb, msb, pec

    def _write(self, cmd: int, word: int, pec: int | None) -> None:
        hits = self._take(_ANY | {Fault.DROP_WRITE})
        self._bus_faults("write", cmd, hits)
        names = tuple(h.fault for h in hits)
        self._record("write", self.address, cmd, word, names)
        expected = crc8_pec(bytes([self.address << 1, cmd, word & 0xFF, word >> 8]))
        if pec != expected or cmd not in _WRITABLE or Fault.DROP_WRITE in names:
            return  # the chip does not perform the write
        old = self._eeprom[cmd]
        self._eeprom[cmd] = word if word == 0 or old == 0 else old | word
