"""The drivers' own exceptions: ``drivers/`` imports nothing from ``kiosk``.

:class:`DriverError` is the base of every error a driver raises on purpose, as
gpiozero's ``GPIOZeroError`` is for gpiozero. Each message is written for the
person standing at the gate: what is wrong and what to check.

The kiosk uses these very classes: :mod:`kiosk.errors` re-exports them, so
``kiosk.errors.SensorError is drivers.errors.SensorError`` and every
``except SensorError`` catches what a driver raised, wherever it was imported
from. They are not subclasses of ``kiosk.errors.KioskError`` (a driver cannot
import the kiosk); kiosk code that turns any expected failure into a message
catches ``kiosk.errors.EXPECTED_ERRORS``, which holds both bases.
"""

from __future__ import annotations


class DriverError(Exception):
    """Base class of every error a driver raises on purpose."""


class DeviceError(DriverError):
    """A device cannot be opened: missing, wrong bus or address, no permission, unknown kind.

    Raised while opening. In the kiosk it never stops start-up: the device
    supervisor puts a stand-in in its place that refuses every use, the gate
    stays closed (visitors referred, alert on ``/healthz``), and it opens the
    device again until it answers.
    """


class SensorError(DriverError):
    """A sensor that was open does not answer or answers nonsense; the gate stays closed."""


class CameraError(DriverError):
    """A camera that was open gives no frames (unplugged, ended, too slow)."""


class PrinterError(DriverError):
    """A receipt printer did not take a receipt (off, no paper, unplugged, unreachable).

    Never a gate fault: the kiosk shows it as an alert and the gate keeps working.
    """


class InputError(DriverError):
    """An argument is malformed: a value given to a driver, a request, a command option.

    The kiosk re-exports this class for its own argument checks (the web app
    answers it with HTTP 400), so a driver's refusal of a bad value is the same
    kind of error as any other bad input.
    """


__all__ = [
    "CameraError",
    "DeviceError",
    "DriverError",
    "InputError",
    "PrinterError",
    "SensorError",
]
