"""The body-temperature estimation model and reading classification."""

from __future__ import annotations

import pytest

from kiosk.domain.temperature import EstimationModel, ReadingLimits, ReadingState, classify

MODEL = EstimationModel(offset_c=0.3, ambient_gain=0.19)


@pytest.mark.parametrize(
    "object_c, ambient_c, expected",
    [
        (34.5, 25.0, 34.5 + 0.3 + 0.19 * 9.5),  # 36.605
        (35.0, 25.0, 35.0 + 0.3 + 0.19 * 10.0),  # 37.2
        (33.0, 18.0, 33.0 + 0.3 + 0.19 * 15.0),  # cold room: larger correction
        (36.0, 35.0, 36.0 + 0.3 + 0.19 * 1.0),  # hot room: small correction
    ],
)
def test_estimate_table(object_c: float, ambient_c: float, expected: float) -> None:
    assert MODEL.estimate(object_c, ambient_c) == pytest.approx(expected)


@pytest.mark.parametrize("body_c", [35.0, 36.6, 37.5, 39.0])
@pytest.mark.parametrize("ambient_c", [18.0, 25.0, 32.0])
def test_inverse_model_round_trips(body_c: float, ambient_c: float) -> None:
    assert MODEL.estimate(MODEL.object_for(body_c, ambient_c), ambient_c) == pytest.approx(body_c)


@pytest.mark.parametrize(
    "object_c, ambient_c, state",
    [
        (34.5, 25.0, ReadingState.OK),
        (24.0, 24.0, ReadingState.NO_PERSON),
        (50.0, 24.0, ReadingState.IMPLAUSIBLE),
        (34.5, 12.0, ReadingState.AMBIENT_OUT_OF_RANGE),
        (34.5, 41.0, ReadingState.AMBIENT_OUT_OF_RANGE),
    ],
)
def test_classify(object_c: float, ambient_c: float, state: ReadingState) -> None:
    reading = classify(object_c, ambient_c, MODEL, ReadingLimits())
    assert reading.state is state
    assert reading.estimated_c == pytest.approx(MODEL.estimate(object_c, ambient_c), abs=0.01)
