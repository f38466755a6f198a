"""Physical bounds on a calibration of the estimation model (pure).

``body = object + offset + k · (object − ambient)`` is a heat balance: ``k`` is how far the
skin sits below the core per degree of skin-to-air gradient, so it is not negative (skin
does not get *warmer* than the core in a colder room) and stays well below 1 (published
forehead models and our own fits lie around 0.1–0.3). ``offset`` absorbs the sensor's bias
and the site's geometry: a few degrees at most. A least-squares fit happily leaves those
ranges when the pairs cannot tell the terms apart — six pairs in one room gave k = −0.044
with a tiny residual, which turns a 39.1 °C estimate into 37.3 °C in an 18 °C room. So a
fit is stored only inside these documented bounds:

=========================  ===========================  =================================
bound                      default                      what to do when it fails
=========================  ===========================  =================================
``k`` (ambient gain)       0 … 0.5                      take pairs in a cooler and a
                                                        warmer room state
``offset``                 −4 … +4 °C                   check the clinical thermometer,
                                                        the emissivity and the distance
RMS residual               ≤ 0.3 °C                     re-take the outlying pairs (steady
                                                        forehead, same moment)
ambient levels             ≥ 2, ≥ 3 °C apart            measure again after the room has
                                                        warmed or cooled by 3 °C or more
=========================  ===========================  =================================

The same bounds apply to a *stored* calibration when the gate loads it
(:func:`model_problems`): one outside them is not used (the configured default is, with
an alert), so nothing stored can bypass them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.domain.measurement import CalibrationFit, CalibrationPair
from kiosk.domain.temperature import EstimationModel


@dataclass(frozen=True)
class CalibrationBounds:
    k_min: float = 0.0
    k_max: float = 0.5
    offset_max_c: float = 4.0
    """|offset| at most this."""
    max_rms_c: float = 0.3
    min_ambient_spread_c: float = 3.0
    """The pairs' ambients must span at least this (two levels at least this far apart)."""


BOUNDS = CalibrationBounds()

REFERENCE_BODY_C = 36.8
REFERENCE_CASES: tuple[tuple[float, float], ...] = tuple(
    (round(EstimationModel().object_for(REFERENCE_BODY_C, room), 1), room)
    for room in (18.0, 25.0, 32.0)
)
"""(object °C, ambient °C): what a normal (36.8 °C) visitor's skin reads in a cool, an
ordinary and a warm room under the default model. A calibration's estimate for each is
shown before it is stored, so a fit that moves them far from 36.8 °C is seen."""


def model_problems(model: EstimationModel, bounds: CalibrationBounds = BOUNDS) -> list[str]:
    """What puts the model's parameters outside the bounds, each with what to do."""
    problems = []
    if not bounds.k_min <= model.ambient_gain <= bounds.k_max:
        problems.append(
            f"k = {model.ambient_gain:.3f} is outside {bounds.k_min}–{bounds.k_max}: the pairs "
            "cannot separate skin from room — take pairs in a cooler and a warmer room state "
            "(or at different times of day) and calibrate again"
        )
    if abs(model.offset_c) > bounds.offset_max_c:
        problems.append(
            f"offset = {model.offset_c:+.2f} °C is outside ±{bounds.offset_max_c} °C: check "
            "the clinical thermometer, the sensor's emissivity (≈ 0.98) and that the forehead "
            "was at the working distance, then calibrate again"
        )
    return problems


def fit_problems(
    pairs: Sequence[CalibrationPair], fit: CalibrationFit, bounds: CalibrationBounds = BOUNDS
) -> list[str]:
    """Everything that makes a fit unfit to store (empty: it may be stored)."""
    problems = []
    ambients = [p.ambient_c for p in pairs]
    spread = max(ambients) - min(ambients)
    if spread < bounds.min_ambient_spread_c:
        problems.append(
            f"the room temperatures span only {spread:.1f} °C (need two levels at least "
            f"{bounds.min_ambient_spread_c:.0f} °C apart): take more pairs after the room "
            "has cooled or warmed (morning and afternoon, fan or air conditioning on/off)"
        )
    problems.extend(model_problems(fit.model, bounds))
    if fit.rms > bounds.max_rms_c:
        problems.append(
            f"RMS residual {fit.rms:.2f} °C is above {bounds.max_rms_c} °C: re-take the pairs "
            "with the largest residuals (forehead steady at the marked spot, clinical reading "
            "at the same moment)"
        )
    return problems
