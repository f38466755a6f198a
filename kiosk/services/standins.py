"""Stand-ins for devices that are missing or not answering (real mode).

While a device is missing, its :class:`~kiosk.services.supervisor.DeviceSlot` holds one of
these: every read raises (so the gate refers instead of guessing), the outputs drive nothing
(so the relay stays de-energised), and ``close()`` does nothing. ``reason`` says why, in the
words of the error that made the device missing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.base import Frame
from kiosk.errors import CameraError, SensorError

log = logging.getLogger(__name__)


class StandIn:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def close(self) -> None:
        """Nothing is open."""


class MissingThermometer(StandIn):
    """A thermometer that does not answer: every read raises SensorError."""

    def object_temperature(self) -> float:
        raise SensorError(f"thermometer unavailable: {self.reason}")

    def ambient_temperature(self) -> float:
        raise SensorError(f"thermometer unavailable: {self.reason}")


class MissingCamera(StandIn):
    """A camera that is not open: every read raises CameraError."""

    def read(self) -> Frame:
        raise CameraError(f"camera unavailable: {self.reason}")


class MissingOutputs(StandIn):
    """Gate outputs whose GPIO cannot be opened: drives nothing (the gate stays closed)."""

    def signal(self, outcome: str) -> None:
        log.warning("gate outputs unavailable (%s): %s not shown", self.reason, outcome)


class MissingInputs(StandIn):
    """The officer button and presence sensor while their GPIO is missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.on_press: Callable[[], object] = _nothing
        self.on_hold: Callable[[], object] = _nothing
        self.on_presence: Callable[[], object] = _nothing


class MissingHelper(StandIn):
    """A configured helper sensor (distance, room air) that does not answer: every read raises."""

    def distance_cm(self) -> float | None:
        raise SensorError(f"distance sensor unavailable: {self.reason}")

    def room_temperature(self) -> float:
        raise SensorError(f"room sensor unavailable: {self.reason}")


def _nothing() -> None:
    return None
