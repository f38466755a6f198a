"""From a forehead reading to an estimated body temperature.

The MLX90614 sees skin, which runs 1–3 °C below core temperature and cools
further in cold air. Like cleared forehead thermometers we estimate body
temperature from the skin (object) and the sensor's own ambient reading with a
heat-balance model, and the fever rule applies to that estimate, never to the
raw reading::

    body = object + offset + k · (object − ambient)

``k`` (``ambient_gain``) accounts for heat flowing from the core through the
skin into the room: the larger the skin-to-air gradient, the further the skin
sits below the core. ``offset`` absorbs the sensor's bias and the site's
geometry. Both are fitted per kiosk against a clinical thermometer
(``kiosk calibrate``); the defaults (0.3 °C, 0.19) are a starting point
only. The model is linear in its parameters, so calibration is an ordinary
least-squares fit and the simulator can invert it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class EstimationModel:
    offset_c: float = 0.3
    ambient_gain: float = 0.19

    def estimate(self, object_c: float, ambient_c: float) -> float:
        """Estimated body temperature (°C) for a skin reading at an ambient."""
        return object_c + self.offset_c + self.ambient_gain * (object_c - ambient_c)

    def object_for(self, body_c: float, ambient_c: float) -> float:
        """Inverse of :meth:`estimate`: the skin reading a body temperature gives."""
        return (body_c - self.offset_c + self.ambient_gain * ambient_c) / (1.0 + self.ambient_gain)


class ReadingState(StrEnum):
    OK = "ok"
    NO_PERSON = "no_person"
    IMPLAUSIBLE = "implausible"
    UNSTABLE = "unstable"
    """Somebody was there but the reading never settled (moving, hair, hat)."""
    TOO_FAR = "too_far"
    """Skin seen, but the estimate is below the floor (``min_estimate_c``) or the distance
    sensor says too far: the forehead does not fill the view, the reading is part room."""
    TOO_CLOSE = "too_close"
    """The distance sensor says the forehead is closer than the working range."""
    AMBIENT_OUT_OF_RANGE = "ambient_out_of_range"
    FAULT = "fault"


@dataclass(frozen=True)
class TemperatureReading:
    """One screening measurement as the rules see it.

    ``state`` is FAULT when the sensor failed (``object_c`` etc. may be None);
    ``estimated_c`` is set whenever object and ambient are.
    """

    state: ReadingState
    object_c: float | None = None
    ambient_c: float | None = None
    estimated_c: float | None = None
    fault: str | None = None
    is_recheck: bool = False
    """True for the second measurement after a first elevated one."""
    source: str = "sensor"
    """``sensor`` or ``clinical`` (an officer's clinical thermometer value)."""
    distance_cm: float | None = None
    """Forehead distance from the distance sensor (None without one)."""
    first: TemperatureReading | None = None
    """On a re-measurement: the first, elevated reading it answers."""
    recheck_trusted: bool = True
    """On a re-measurement: whether it was a valid in-place reading that may clear the
    first (see :func:`kiosk.domain.measurement.recheck`); an untrusted one refers."""

    @classmethod
    def sensor_fault(cls, message: str) -> TemperatureReading:
        return cls(ReadingState.FAULT, fault=message)


@dataclass(frozen=True)
class ReadingLimits:
    skin_min_c: float = 28.0
    skin_max_c: float = 42.0
    ambient_min_c: float = 16.0
    ambient_max_c: float = 40.0
    min_estimate_c: float = 35.0
    """The floor: an estimate below it is never "ok" (TOO_FAR). A living visitor's body is
    not at 34 °C; a forehead that only partly fills the view (room mixed in) is."""


def classify(
    object_c: float, ambient_c: float, model: EstimationModel, limits: ReadingLimits
) -> TemperatureReading:
    """Turn raw sensor values into a :class:`TemperatureReading`.

    Order: room outside the validated range → AMBIENT_OUT_OF_RANGE (we refuse
    to screen); skin colder than ``skin_min_c`` → NO_PERSON (step closer);
    hotter than ``skin_max_c`` → IMPLAUSIBLE; an estimate below the floor
    ``min_estimate_c`` → TOO_FAR (come closer); otherwise OK with the estimate.
    """
    object_c, ambient_c = round(object_c, 2), round(ambient_c, 2)
    estimate = round(model.estimate(object_c, ambient_c), 2)
    if not limits.ambient_min_c <= ambient_c <= limits.ambient_max_c:
        state = ReadingState.AMBIENT_OUT_OF_RANGE
    elif object_c < limits.skin_min_c:
        state = ReadingState.NO_PERSON
    elif object_c > limits.skin_max_c:
        state = ReadingState.IMPLAUSIBLE
    elif estimate < limits.min_estimate_c:
        state = ReadingState.TOO_FAR
    else:
        state = ReadingState.OK
    return TemperatureReading(state, object_c, ambient_c, estimate)
