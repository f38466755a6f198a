"""When is a forehead reading good enough to screen on? (pure; time passed in)

The service samples the thermometer at ``sample_hz`` and hands the samples
collected so far to :func:`assess`, which answers *wait* or gives the final
:class:`~kiosk.domain.temperature.TemperatureReading`:

1. Room air outside the validated range (any sample) → refuse to screen
   (``AMBIENT_OUT_OF_RANGE``) at once.
2. A person is "in place" from the first sample warmer than ``skin_min_c``;
   the sensor then needs ``settle_s`` (one settling time of its filter).
3. The reading is *stable* when the last ``window`` samples after settling are
   all inside the skin window and spread (max − min) by at most
   ``max_spread_c``; the reading is then their mean, classified and estimated.
4. A sample the thermometer fails to give is skipped; ``max_sensor_errors`` failures in a
   row (or one at the end of ``timeout_s``) make the visit a sensor fault.
5. After ``timeout_s`` without a stable reading: nobody came → ``NO_PERSON``
   ("step closer"); somebody moved about → ``UNSTABLE``.

With a distance sensor the service hands in only the samples taken while the forehead was
inside the working range (see :mod:`kiosk.domain.optics`); the others never reach the rules.

:func:`recheck` judges the second measurement of an elevated first one: it clears the
first only when it is itself a valid, in-place reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from kiosk.domain.temperature import (
    EstimationModel,
    ReadingLimits,
    ReadingState,
    TemperatureReading,
    classify,
)


@dataclass(frozen=True)
class Sample:
    t: float
    """Seconds on a monotonic clock."""
    object_c: float
    ambient_c: float


@dataclass(frozen=True)
class MeasurementPolicy:
    sample_hz: float = 20.0
    settle_s: float = 0.2
    window: int = 4
    max_spread_c: float = 0.3
    timeout_s: float = 4.0
    max_sensor_errors: int = 3
    """Failed samples in a row (each after the driver's own retries) that make a fault."""

    def gives_up(self, errors_in_a_row: int, elapsed_s: float) -> bool:
        """Is a failed sample the end of the visit (sensor fault), or is one more tried?

        One failed sample is a glitch (relay EMI, a process paused past the driver's retry
        budget): sampling goes on while the visit's time lasts. Repeated failures are a fault.
        """
        return errors_in_a_row >= self.max_sensor_errors or elapsed_s >= self.timeout_s


def assess(
    samples: Sequence[Sample],
    *,
    started: float,
    now: float,
    policy: MeasurementPolicy,
    model: EstimationModel,
    limits: ReadingLimits,
) -> TemperatureReading | None:
    """The final reading, or ``None`` to keep sampling. See the module docstring."""
    for s in samples:
        if not limits.ambient_min_c <= s.ambient_c <= limits.ambient_max_c:
            return classify(s.object_c, s.ambient_c, model, limits)
    arrived = next((s.t for s in samples if s.object_c >= limits.skin_min_c), None)
    if arrived is not None:
        settled = [s for s in samples if s.t >= arrived + policy.settle_s]
        recent = settled[-policy.window :]
        if len(recent) == policy.window and all(
            limits.skin_min_c <= s.object_c <= limits.skin_max_c for s in recent
        ):
            values = [s.object_c for s in recent]
            if max(values) - min(values) <= policy.max_spread_c:
                mean_obj = sum(values) / len(values)
                mean_amb = sum(s.ambient_c for s in recent) / len(recent)
                return classify(mean_obj, mean_amb, model, limits)
    if now - started < policy.timeout_s:
        return None
    last = samples[-1] if samples else None
    if arrived is None or last is None:
        if last is None:
            return TemperatureReading(ReadingState.NO_PERSON)
        return classify(last.object_c, last.ambient_c, model, limits)
    reading = classify(last.object_c, last.ambient_c, model, limits)
    return TemperatureReading(
        ReadingState.UNSTABLE, reading.object_c, reading.ambient_c, reading.estimated_c
    )


@dataclass(frozen=True)
class RecheckRule:
    """When a re-measurement may clear an elevated first reading.

    ``distance_range`` (cm, with a distance sensor): the re-measurement's distance must be
    inside it. Without a distance sensor the gate cannot see the fill fraction: the floor
    (state OK needs an estimate ≥ ``min_estimate_c``) catches a visitor who stepped far
    back, but not one just beyond the fill distance. ``max_drop_c`` (opt-in) closes that
    gap with the physics of stepping back: a forehead leaving full fill reads *lower* at
    once, while a body's temperature does not fall by ``max_drop_c`` in the seconds between
    the two measurements; a larger drop counts as "not in place" → refer. With 0.4 °C no
    body 0.5 °C or more above the threshold is ever cleared — at the price of referring a
    visitor who really cooled down (came in from the sun) to the officer.
    """

    max_drop_c: float | None = None
    distance_range: tuple[float, float] | None = None


def recheck(
    first: TemperatureReading, second: TemperatureReading, rule: RecheckRule
) -> TemperatureReading:
    """The re-measurement, marked with the first reading and whether it may clear it.

    Trusted only when it is a valid reading (state OK: skin window, estimate at or above
    the floor) taken in place (``rule``). An untrusted re-measurement refers the visitor
    (``fever``) whatever it reads; see :func:`kiosk.domain.admission.temperature_problem`.
    """
    trusted = second.state is ReadingState.OK and second.estimated_c is not None
    if trusted and rule.distance_range is not None:
        low, high = rule.distance_range
        trusted = second.distance_cm is not None and low <= second.distance_cm <= high
    elif (
        trusted
        and rule.max_drop_c is not None
        and first.estimated_c is not None
        and second.estimated_c is not None
    ):
        trusted = first.estimated_c - second.estimated_c <= rule.max_drop_c
    return replace(second, is_recheck=True, first=first, recheck_trusted=trusted)


@dataclass(frozen=True)
class CalibrationPair:
    object_c: float
    ambient_c: float
    clinical_c: float


@dataclass(frozen=True)
class CalibrationFit:
    model: EstimationModel
    residuals: tuple[float, ...]
    """clinical − estimate, per pair, °C."""

    @property
    def rms(self) -> float:
        return math.sqrt(sum(r * r for r in self.residuals) / len(self.residuals))

    @property
    def worst(self) -> float:
        return max(abs(r) for r in self.residuals)


def fit_calibration(pairs: Sequence[CalibrationPair]) -> CalibrationFit:
    """Least-squares fit of ``offset`` and ``k`` in the estimation model.

    ``clinical − object = offset + k · (object − ambient)`` is a straight line
    in ``x = object − ambient``, so this is ordinary simple regression. Needs
    at least three pairs whose skin-to-air gradients differ (else ``k`` is
    undetermined: measure at different room temperatures or distances).
    """
    if len(pairs) < 3:
        raise ValueError("calibration needs at least 3 pairs (5 or more recommended)")
    xs = [p.object_c - p.ambient_c for p in pairs]
    ys = [p.clinical_c - p.object_c for p in pairs]
    n = len(pairs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx < 0.25:
        raise ValueError(
            "the pairs' skin-to-air gradients hardly differ; take readings in a cooler and a "
            "warmer room state (or at different times of day) so the ambient term can be fitted"
        )
    k = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    offset = my - k * mx
    model = EstimationModel(offset_c=round(offset, 4), ambient_gain=round(k, 4))
    residuals = tuple(
        round(p.clinical_c - model.estimate(p.object_c, p.ambient_c), 3) for p in pairs
    )
    return CalibrationFit(model, residuals)
