"""What the small I2C helper sensors (room air, distance) share: their error and bus contract.

They raise :class:`I2CSensorError`, a :class:`drivers.errors.SensorError` whose message says
what to check (so the kiosk's ``except SensorError`` catches it).
"""

from __future__ import annotations

import errno
from typing import Protocol

import smbus2
from smbus2 import i2c_msg

from drivers.errors import SensorError


class I2CSensorError(SensorError):
    """A helper sensor did not answer, or answered nonsense; the message says what to check."""


class I2CBus(Protocol):
    """The part of :class:`smbus2.SMBus` these drivers use (the simulated buses have it)."""

    def i2c_rdwr(self, *msgs: i2c_msg) -> None: ...

    def close(self) -> None: ...


def open_bus(bus_number: int, what: str) -> smbus2.SMBus:
    """Open ``/dev/i2c-<bus_number>`` for ``what``; :class:`I2CSensorError` says why not."""
    path = f"/dev/i2c-{bus_number}"
    try:
        return smbus2.SMBus(bus_number)
    except FileNotFoundError as exc:
        raise I2CSensorError(f"{what}: no I2C bus {path} — enable I2C (raspi-config)") from exc
    except PermissionError as exc:
        raise I2CSensorError(f"{what}: no permission to open {path} — 'i2c' group") from exc
    except OSError as exc:
        raise I2CSensorError(f"{what}: cannot open {path}: {exc}") from exc


def describe_oserror(what: str, address: int, exc: OSError) -> str:
    where = f"at 0x{address:02x}"
    if exc.errno == errno.EREMOTEIO:
        return f"{what} not answering {where} — check wiring, 3.3 V power and the address"
    return f"{what} bus error {where} ({exc.strerror or exc}) — check wiring and bus speed"
