"""Device contracts (Protocols) shared by real drivers and simulated twins."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt


class ClosesOnExit:
    """Mixin for drivers: ``with Device(...) as d:`` calls ``d.close()`` at the end."""

    def close(self) -> None:  # pragma: no cover - every driver defines its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


Frame = npt.NDArray[np.uint8]
"""A camera frame: ``H×W×3`` BGR or ``H×W`` grayscale, dtype uint8."""


@runtime_checkable
class Thermometer(Protocol):
    """An IR thermometer aimed at the visitor's forehead.

    Units are degrees Celsius. Both reads may raise
    :class:`drivers.errors.SensorError` after the driver's own retries; a read
    takes at most a few tens of milliseconds.
    """

    def object_temperature(self) -> float:
        """Temperature of what the sensor sees (the skin), °C."""
        ...

    def ambient_temperature(self) -> float:
        """Temperature of the sensor die (≈ room air), °C."""
        ...

    def close(self) -> None:
        """Release the bus; idempotent."""
        ...


@runtime_checkable
class Camera(Protocol):
    """A source of frames.

    ``read()`` returns the newest frame or raises
    :class:`drivers.errors.CameraError` when none arrives within the driver's
    timeout.
    """

    def read(self) -> Frame: ...

    def close(self) -> None: ...


@runtime_checkable
class GateOutputs(Protocol):
    """Relay, lights and buzzer at the gate.

    ``signal`` must return quickly; timed actions (relay open for N seconds,
    buzzer patterns) run in the background. ``close`` leaves the relay
    de-energised (gate closed) and is idempotent.
    """

    def signal(self, outcome: str) -> None:
        """Show an outcome: ``admitted``, ``denied``, ``refer`` or ``fault``."""
        ...

    def close(self) -> None: ...
