"""Melexis MLX90614 IR thermometer on the Pi's I2C bus (SMBus, via smbus2).

Wiring (GY-906 style board, 3.3 V part):
    VIN → 3.3 V (header pin 1)   GND → GND (pin 6)
    SDA → GPIO2 / SDA1 (pin 3)   SCL → GPIO3 / SCL1 (pin 5)
The Pi has 1.8 kΩ pull-ups on pins 3/5; most breakout boards add 10 kΩ, which is fine.
Use a clean 3.3 V supply (readings shift ~0.6 °C per volt) and a short cable.
The chip only works at 10–100 kHz: put ``dtparam=i2c_arm_baudrate=50000`` in
``/boot/firmware/config.txt`` (a bus raised to 400 kHz for another device breaks it).

Units: every temperature is in °C (°C = raw × 0.02 − 273.15); emissivity is 0.1–1.0.

Errors: every failure a gate officer can meet is a :class:`drivers.errors.SensorError`
whose message names the bus, the address, the cause and what to check. A missing
``/dev/i2c-N`` node is a :class:`drivers.errors.DeviceError` from :func:`open_mlx90614`.

Timing: one read is one SMBus read-word (~1 ms at 50 kHz). Failed reads are retried
(``retries`` attempts in total, back-off ``retry_delay_s`` × 1, 2, 4 …) on NACK
(errno 121), I/O error/timeout (errno 5, 110), bad PEC (errno 74 or our own check)
and rejected words (error flag, 0x0000, 0xFFFF). The deadline is per attempt: each
attempt is judged by its answer, so a late but valid (PEC-checked) answer is used — a
busy Pi (another thread holding the GIL, like dlib's face encoder for ~100 ms or more)
delays us, not the sensor. Retries run inside a larger budget (``retry_budget_s``; by
default the back-off total plus 20 ms per attempt plus :data:`STALL_ALLOWANCE_S`): no new
attempt starts once it is spent, so a sick bus (each transfer ending in the kernel's
timeout) fails with a "timeout" SensorError instead of stalling the gate.

EEPROM: :meth:`MLX90614.write_emissivity` is the only write. The cell survives about
100 000 writes, so the driver never writes at start-up; it is a deliberate
maintenance action, skipped when the stored value already matches.

Stuck sensors: a chip whose RAM freezes keeps answering with a valid, plausible
word. Pass a :class:`StuckDetector` to catch it (opt-in, see its docstring).
"""

from __future__ import annotations

import errno
import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

import smbus2
from smbus2 import i2c_msg

from drivers.base import ClosesOnExit
from drivers.errors import DeviceError, InputError, SensorError

DEFAULT_ADDRESS = 0x5A
RAM_AMBIENT = 0x06
RAM_OBJECT1 = 0x07
RAM_OBJECT2 = 0x08
EEPROM_EMISSIVITY = 0x24
EEPROM_WRITE_DELAY_S = 0.02
PER_ATTEMPT_ALLOWANCE_S = 0.02
STALL_ALLOWANCE_S = 0.4
"""How long the process itself may be paused (GIL, CPU) during a read's retries."""
RETRYABLE_ERRNOS = frozenset({errno.EREMOTEIO, errno.EIO, errno.EBADMSG, errno.ETIMEDOUT})
ERROR_FLAG = 0x8000

_ADVICE = {
    errno.EREMOTEIO: "thermometer not answering {where} — check wiring (SDA pin 3, SCL pin 5), "
    "3.3 V power and the address",
    errno.EIO: "thermometer bus I/O error or timeout {where} — check wiring and set the bus "
    "to 50 kHz (dtparam=i2c_arm_baudrate=50000)",
    "pec": "thermometer data corrupted (PEC mismatch) {where} — check cable length, pull-ups "
    "and bus speed (≤100 kHz, 50 kHz recommended)",
    "flag": "thermometer reports an internal error flag {where} — power-cycle the sensor; "
    "replace it if this persists",
    "garbage": "thermometer returned an invalid word {where} — check power supply and wiring",
}
_ADVICE[errno.ETIMEDOUT] = _ADVICE[errno.EIO]
_ADVICE[errno.EBADMSG] = _ADVICE["pec"]


class SMBusLike(Protocol):
    """The part of :class:`smbus2.SMBus` the driver uses (the simulated bus has it too)."""

    def i2c_rdwr(self, *msgs: i2c_msg) -> None: ...

    def read_word_data(self, i2c_addr: int, register: int) -> int: ...

    def write_word_data(self, i2c_addr: int, register: int, value: int) -> None: ...

    def close(self) -> None: ...


class EmissivityOutOfRange(InputError, ValueError):
    """An emissivity outside 0.1–1.0 (or not a number) was requested."""


class _BadWord(Exception):
    """A word arrived but must not be used; ``kind`` keys :data:`_ADVICE`."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def crc8_pec(data: bytes) -> int:
    """SMBus packet error code: CRC-8, polynomial 0x07 (x⁸+x²+x+1), initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def raw_to_celsius(raw: int) -> float:
    """Convert a RAM temperature word (units of 0.02 K) to °C."""
    return raw * 0.02 - 273.15


def celsius_to_raw(celsius: float) -> int:
    """Convert °C to the nearest RAM temperature word; ValueError outside 0x0000–0x7FFF."""
    raw = round((celsius + 273.15) / 0.02)
    if not 0 <= raw <= 0x7FFF:
        raise ValueError(f"{celsius} °C cannot be represented by the MLX90614")
    return raw


class StuckDetector:
    """Flags a frozen sensor: the same raw object *and* ambient words, read after read.

    ``observe`` returns True once ``max_repeats`` consecutive reads carried the same pair
    of words over at least ``min_duration_s`` seconds. A live sensor's object word moves
    by a few 0.02 K steps from read to read and changes with each visitor, so a long
    identical run means the chip (or something between it and us) is replaying one
    answer. Both conditions are needed: many reads in a quick burst, or a long pause
    between two reads, are not evidence. Time is passed in; nothing here reads a clock.
    """

    def __init__(self, max_repeats: int = 20, min_duration_s: float = 10.0) -> None:
        if max_repeats < 2 or min_duration_s < 0:
            raise ValueError("max_repeats must be ≥ 2 and min_duration_s ≥ 0")
        self.max_repeats = max_repeats
        self.min_duration_s = min_duration_s
        self.reset()

    def reset(self) -> None:
        """Forget the current run (e.g. after the sensor was power-cycled)."""
        self._last: tuple[int, int] | None = None
        self._count = 0
        self._since = 0.0

    def observe(self, object_raw: int, ambient_raw: int, now: float) -> bool:
        """Record one read taken at ``now`` (seconds); True if the value looks frozen."""
        if (object_raw, ambient_raw) != self._last:
            self._last, self._count, self._since = (object_raw, ambient_raw), 0, now
        self._count += 1
        return self._count >= self.max_repeats and now - self._since >= self.min_duration_s

    @property
    def run(self) -> tuple[int, float]:
        """Length of the current identical run and when it started."""
        return self._count, self._since


class MLX90614(ClosesOnExit):
    """Driver for one MLX90614 on an smbus2-compatible ``bus``; a :class:`Thermometer`.

    ``check_pec`` verifies each read's PEC byte (read through ``i2c_rdwr`` with a repeated
    start); with False reads use ``read_word_data`` and no PEC. Writes always carry a PEC,
    since the chip ignores a write without a valid one. ``sleep`` and ``clock`` are
    injectable so tests run fast; ``bus_number`` only appears in messages.
    """

    def __init__(
        self,
        bus: SMBusLike,
        address: int = DEFAULT_ADDRESS,
        *,
        check_pec: bool = True,
        retries: int = 3,
        retry_delay_s: float = 0.005,
        bus_number: int | None = None,
        retry_budget_s: float | None = None,
        eeprom_write_delay_s: float = EEPROM_WRITE_DELAY_S,
        stuck_detector: StuckDetector | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0x01 <= address <= 0x7F:
            raise ValueError(f"I2C address 0x{address:02X} out of range 0x01–0x7F")
        if retries < 1 or retry_delay_s < 0:
            raise ValueError("retries must be ≥ 1 and retry_delay_s ≥ 0")
        self._bus: SMBusLike | None = bus
        self.address = address
        self.check_pec = check_pec
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        if retry_budget_s is None:
            backoff = sum(retry_delay_s * 2**i for i in range(retries - 1))
            retry_budget_s = backoff + retries * PER_ATTEMPT_ALLOWANCE_S + STALL_ALLOWANCE_S
        self.retry_budget_s = retry_budget_s
        self.eeprom_write_delay_s = eeprom_write_delay_s
        self.stuck_detector = stuck_detector
        self._sleep = sleep
        self._clock = clock
        self._owns_bus = False
        self._lock = threading.RLock()
        bus_name = "the I2C bus" if bus_number is None else f"I2C bus {bus_number}"
        self._where = f"on {bus_name} at 0x{address:02X}"

    # -- Thermometer protocol -------------------------------------------------------------

    def object_temperature(self) -> float:
        """Object (skin) temperature, zone 1 (RAM 0x07), °C."""
        with self._lock:
            raw = self._read_temperature(RAM_OBJECT1)
            if self.stuck_detector is not None:
                ambient = self._read_temperature(RAM_AMBIENT)
                now = self._clock()
                if self.stuck_detector.observe(raw, ambient, now):
                    count, since = self.stuck_detector.run
                    raise SensorError(
                        f"thermometer value frozen (same reading {count} times over "
                        f"{now - since:.0f} s) {self._where} — power-cycle the "
                        "sensor; replace it if this persists"
                    )
            return raw_to_celsius(raw)

    def object2_temperature(self) -> float:
        """Object temperature, zone 2 (RAM 0x08; dual-zone parts only), °C."""
        with self._lock:
            return raw_to_celsius(self._read_temperature(RAM_OBJECT2))

    def ambient_temperature(self) -> float:
        """Sensor die temperature (RAM 0x06), °C."""
        with self._lock:
            return raw_to_celsius(self._read_temperature(RAM_AMBIENT))

    def close(self) -> None:
        """Forget the bus; close it only if :func:`open_mlx90614` opened it. Idempotent."""
        with self._lock:
            bus, self._bus = self._bus, None
            if bus is not None and self._owns_bus:
                bus.close()

    # -- EEPROM ---------------------------------------------------------------------------

    def read_emissivity(self) -> float:
        """Emissivity stored in EEPROM cell 0x24 (0.1–1.0)."""
        with self._lock:
            raw = self._retrying(lambda: self._read_word(EEPROM_EMISSIVITY))
            if raw < round(0.1 * 0xFFFF):
                raise SensorError(
                    f"thermometer emissivity cell holds an implausible 0x{raw:04X} "
                    f"{self._where} — write the emissivity again (skin: 0.98)"
                )
            return raw / 0xFFFF

    def write_emissivity(self, value: float) -> None:
        """Store ``value`` (0.1–1.0) in EEPROM: erase, wait, write, wait, read back.

        Skipped when the cell already holds the value (saves write cycles). Raises
        :class:`EmissivityOutOfRange` for a bad value, SensorError if the read-back differs.
        """
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EmissivityOutOfRange(f"emissivity must be a number, got {value!r}")
        if not (math.isfinite(value) and 0.1 <= value <= 1.0):
            raise EmissivityOutOfRange(f"emissivity must be between 0.1 and 1.0, got {value}")
        target = round(value * 0xFFFF)
        with self._lock:
            if self._retrying(lambda: self._read_word(EEPROM_EMISSIVITY)) == target:
                return
            for word in (0x0000, target):
                self._retrying(functools.partial(self._write_word, EEPROM_EMISSIVITY, word))
                self._sleep(self.eeprom_write_delay_s)
            stored = self._retrying(lambda: self._read_word(EEPROM_EMISSIVITY))
        if stored != target:
            raise SensorError(
                f"thermometer emissivity write failed {self._where}: wrote 0x{target:04X}, "
                f"read back 0x{stored:04X} — retry once; if it fails again the EEPROM is "
                "worn, replace the sensor"
            )

    # -- internals ------------------------------------------------------------------------

    def _read_temperature(self, command: int) -> int:
        def attempt() -> int:
            raw = self._read_word(command)
            if raw in (0x0000, 0xFFFF):
                raise _BadWord("garbage", f"0x{raw:04X}")
            if command != RAM_AMBIENT and raw & ERROR_FLAG:
                raise _BadWord("flag", f"0x{raw:04X}")
            return raw

        return self._retrying(attempt)

    def _live_bus(self) -> SMBusLike:
        if self._bus is None:
            raise SensorError(f"thermometer driver {self._where} is closed — restart the kiosk")
        return self._bus

    def _read_word(self, command: int) -> int:
        bus = self._live_bus()
        if not self.check_pec:
            return bus.read_word_data(self.address, command) & 0xFFFF
        request = i2c_msg.write(self.address, [command])
        answer = i2c_msg.read(self.address, 3)
        bus.i2c_rdwr(request, answer)
        lsb, msb, pec = bytes(answer)
        a = self.address << 1
        expected = crc8_pec(bytes([a, command, a | 1, lsb, msb]))
        if pec != expected:
            raise _BadWord("pec", f"got 0x{pec:02X}, expected 0x{expected:02X}")
        return lsb | msb << 8

    def _write_word(self, command: int, word: int) -> int:
        lsb, msb = word & 0xFF, word >> 8
        pec = crc8_pec(bytes([self.address << 1, command, lsb, msb]))
        self._live_bus().i2c_rdwr(i2c_msg.write(self.address, [command, lsb, msb, pec]))
        return word

    def _retrying(self, attempt: Callable[[], int]) -> int:
        """Run ``attempt`` up to ``retries`` times with back-off inside the retry budget.

        A valid answer is returned however late it came (the deadline is per attempt: a
        pause of this process is not a sensor fault); a failed attempt is retried only if
        the back-off still ends inside the budget.
        """
        started = self._clock()
        cause = "no attempt made"
        for n in range(1, self.retries + 1):
            try:
                return attempt()
            except OSError as exc:
                if exc.errno not in RETRYABLE_ERRNOS:
                    raise SensorError(
                        f"thermometer bus error {self._where}: {exc} — check the I2C "
                        "setup and restart the kiosk"
                    ) from exc
                kind: int | str = exc.errno
                cause = f"errno {exc.errno}"
            except _BadWord as exc:
                kind, cause = exc.kind, f"{exc.kind}: {exc}"
            if n == self.retries:
                break
            delay = self.retry_delay_s * 2 ** (n - 1)
            if self._clock() + delay - started > self.retry_budget_s:
                raise self._timeout(cause, n)
            self._sleep(delay)
        advice = _ADVICE[kind].format(where=self._where)
        raise SensorError(f"{advice} (failed {self.retries} attempts; last: {cause})")

    def _timeout(self, cause: str, attempts: int) -> SensorError:
        return SensorError(
            f"thermometer timeout: no valid answer in {attempts} attempt(s) within "
            f"{self.retry_budget_s * 1000:.0f} ms {self._where} ({cause}) — check wiring and "
            "bus speed (50 kHz recommended)"
        )

    def probe(self) -> float:
        """Read the ambient temperature once at start-up; DeviceError if nothing answers."""
        try:
            return self.ambient_temperature()
        except SensorError as exc:
            raise DeviceError(f"no working thermometer found: {exc}") from exc


def open_mlx90614(
    bus_number: int, address: int = DEFAULT_ADDRESS, *, check_pec: bool = True
) -> MLX90614:
    """Open ``/dev/i2c-<bus_number>`` and return a driver that owns (and will close) it."""
    path = f"/dev/i2c-{bus_number}"
    try:
        bus = smbus2.SMBus(bus_number)
    except FileNotFoundError as exc:
        raise DeviceError(
            f"no I2C bus {path} — enable I2C with raspi-config (Interface Options → I2C) "
            "or dtparam=i2c_arm=on in /boot/firmware/config.txt, then reboot"
        ) from exc
    except PermissionError as exc:
        raise DeviceError(
            f"no permission to open {path} — add the kiosk user to the 'i2c' group"
        ) from exc
    except OSError as exc:
        raise DeviceError(f"cannot open I2C bus {path}: {exc}") from exc
    driver = MLX90614(bus, address, check_pec=check_pec, bus_number=bus_number)
    driver._owns_bus = True
    return driver
