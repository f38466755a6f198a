"""The validation table in the docs, and what it must show: table-driven over
(body, room, distance, part) through the same optics and rules the gate uses."""

from __future__ import annotations

import pytest

from bench.validation_table import DOC, predict, render
from kiosk.domain import optics

PARTS = tuple(optics.PART_FOV_DEG)
ROOMS_C = (16.0, 18.0, 21.0, 25.0, 28.0, 32.0, 36.0, 40.0)
"""The validated ambient range is 16–40 °C (temperature.ambient_min_c/max_c)."""
FACTORS = tuple(f / 20 for f in range(2, 81))
"""Distances from 0.1× to 4× the fill distance, in 5 % steps."""


def test_committed_table_is_the_scripts_output() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/screening-validation.md is stale: run `python -m bench.validation_table --write`"
    )


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("room_c", ROOMS_C)
@pytest.mark.parametrize("body_c", [38.0, 38.5, 39.5, 41.0])
def test_with_a_distance_sensor_a_fever_is_never_admitted_at_any_distance(
    part: str, room_c: float, body_c: float
) -> None:
    fov = optics.PART_FOV_DEG[part]
    fill = optics.fill_distance_cm(fov)
    for factor in FACTORS:
        p = predict(body_c, room_c, factor * fill, fov, distance_sensor=True)
        assert p.outcome != "admitted", (part, room_c, body_c, factor, p)


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("room_c", ROOMS_C)
@pytest.mark.parametrize("body_c", [38.0, 38.5, 39.5])
def test_without_one_a_fever_is_referred_wherever_the_forehead_fills_the_view(
    part: str, room_c: float, body_c: float
) -> None:
    fov = optics.PART_FOV_DEG[part]
    fill = optics.fill_distance_cm(fov)
    for factor in (0.1, 0.25, 0.5, 0.75, 1.0):
        assert predict(body_c, room_c, factor * fill, fov).outcome == "refer"


@pytest.mark.parametrize("part", PARTS)
@pytest.mark.parametrize("room_c", ROOMS_C)
@pytest.mark.parametrize("body_c", [36.0, 36.6, 37.0, 37.4])
@pytest.mark.parametrize("distance_sensor", [False, True])
def test_a_normal_body_at_the_working_distance_is_admitted(
    part: str, room_c: float, body_c: float, distance_sensor: bool
) -> None:
    fov = optics.PART_FOV_DEG[part]
    p = predict(
        body_c, room_c, optics.working_distance_cm(fov), fov, distance_sensor=distance_sensor
    )
    assert p.outcome == "admitted"
    assert p.estimated_c == pytest.approx(body_c, abs=0.02)


@pytest.mark.parametrize(
    "part, room_c, body_c, factor, outcome",
    [
        # far away the room dominates: the floor turns it into "come closer", never a refusal
        ("xAA", 25.0, 38.5, 2.0, "closer"),
        ("xCI", 18.0, 36.6, 1.5, "closer"),
        # the band just past the fill distance: the table's ⚠ cells (no distance sensor)
        ("xAA", 25.0, 38.5, 1.1, "admitted"),
        ("xCF", 32.0, 38.5, 1.25, "admitted"),
    ],
)
def test_what_the_table_shows_without_a_distance_sensor(
    part: str, room_c: float, body_c: float, factor: float, outcome: str
) -> None:
    fov = optics.PART_FOV_DEG[part]
    distance = round(factor * optics.fill_distance_cm(fov), 1)
    assert predict(body_c, room_c, distance, fov).outcome == outcome
    if body_c >= 38.0 and factor > 1.0:
        assert predict(body_c, room_c, distance, fov, distance_sensor=True).outcome == "closer"


def test_fov_geometry_matches_the_field_notes() -> None:
    # "35° (xCC) ≈ 8 cm, 10° (xCF) ≈ 29 cm, 5° (xCI) ≈ 57 cm for a 5 cm spot"
    assert optics.fill_distance_cm(90.0) == pytest.approx(2.5, abs=0.05)
    assert optics.fill_distance_cm(35.0) == pytest.approx(7.9, abs=0.1)
    assert optics.fill_distance_cm(10.0) == pytest.approx(28.6, abs=0.1)
    assert optics.fill_distance_cm(5.0) == pytest.approx(57.3, abs=0.1)
    assert optics.spot_diameter_cm(15.0, 90.0) == pytest.approx(30.0)
    assert optics.fill_fraction(15.0, 90.0) == pytest.approx((5 / 30) ** 2)
    assert optics.fill_fraction(1.0, 90.0) == 1.0
