"""Screening that distance cannot fool, end to end through the simulated gate: the fake
MLX90614 sees skin and room mixed by the field of view at the visitor's distance, the
optional VL53L0X and SHT3x twins answer on their registers, and the real gate decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.domain import optics
from kiosk.domain.reasons import Reason
from kiosk.domain.temperature import ReadingState
from kiosk.services.runtime import Kiosk
from kiosk.storage import entry_log
from tests.conftest import add_staff, login, web_client
from tests.test_api import add_booking

ROOMS_C = (18.0, 25.0, 32.0)


def gate(make_kiosk: Callable[..., Kiosk], part: str, sensor: bool, **temperature: Any) -> Kiosk:
    thermometer = {"part": part, "distance_sensor": "vl53l0x" if sensor else "none"}
    return make_kiosk(
        thermometer=thermometer, temperature={"measure_timeout_s": 0.5, **temperature}
    )


def visit(
    kiosk: Kiosk,
    body_c: float | None,
    room_c: float,
    distance_cm: float | None,
    *,
    recheck: tuple[float, float] | None = None,
) -> Any:
    sim = kiosk.simulator
    assert sim is not None
    sim.set_body_temperature(body_c, room_c, distance_cm)
    if recheck is not None:
        sim.set_recheck(*recheck)

    def step(reason: Reason) -> None:
        if reason is Reason.TEMPERATURE_RECHECK:
            sim.step_to_recheck()

    kiosk.gate.interim_listeners.append(step)
    try:
        return kiosk.gate.admit_walkin("ani")
    finally:
        kiosk.gate.interim_listeners.remove(step)


# (part, distance sensor, body, factor of the fill distance (None: working distance), reason)
CASES = [
    ("xAA", False, 36.6, None, Reason.WALKIN),
    ("xAA", False, 38.5, None, Reason.FEVER),
    ("xAA", False, 38.5, 2.0, Reason.NO_READING),
    ("xAA", True, 38.5, 1.1, Reason.NO_READING),
    ("xAA", True, 36.6, None, Reason.WALKIN),
    ("xCC", False, 38.0, 1.0, Reason.FEVER),
    ("xCC", True, 38.0, 3.0, Reason.NO_READING),
    ("xCF", False, 36.6, None, Reason.WALKIN),
    ("xCF", True, 39.0, 1.25, Reason.NO_READING),
    ("xCI", False, 38.5, 0.75, Reason.FEVER),
    ("xCI", True, 38.5, 0.25, Reason.NO_READING),
    ("xCI", True, 36.6, None, Reason.WALKIN),
]


@pytest.mark.parametrize("part, sensor, body_c, factor, reason", CASES)
def test_body_room_distance_part_decide(
    make_kiosk: Callable[..., Kiosk],
    part: str,
    sensor: bool,
    body_c: float,
    factor: float | None,
    reason: Reason,
) -> None:
    kiosk = gate(make_kiosk, part, sensor)
    fov = kiosk.config.thermometer.fov_deg
    distance = None if factor is None else factor * optics.fill_distance_cm(fov)
    for room_c in ROOMS_C:
        result = visit(kiosk, body_c, room_c, distance)
        assert result.decision.reason is reason, room_c
        if reason is Reason.NO_READING:
            assert result.decision.outcome.value == "denied"  # "try again", never a referral


def test_too_far_is_asked_closer_and_measured_again(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = gate(make_kiosk, "xCF", False, closer_attempts=2)
    told: list[Reason] = []
    kiosk.gate.interim_listeners.append(told.append)
    result = visit(kiosk, 36.6, 25.0, 1.5 * optics.fill_distance_cm(10.0))
    assert result.decision.reason is Reason.NO_READING
    assert result.decision.detail["state"] == ReadingState.TOO_FAR.value
    assert told == [Reason.MOVE_CLOSER, Reason.MOVE_CLOSER]
    told.clear()
    # further still the reading leaves the skin window, but is warmer than the room
    visit(kiosk, 36.6, 25.0, 2.5 * optics.fill_distance_cm(10.0))
    assert told == [Reason.MOVE_CLOSER, Reason.MOVE_CLOSER]
    told.clear()
    visit(kiosk, None, 25.0, None)  # nobody at all: nothing to say
    assert told == []


def test_the_distance_sensor_says_closer_or_a_little_back(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = gate(make_kiosk, "xCI", True)
    told: list[Reason] = []
    kiosk.gate.interim_listeners.append(told.append)
    visit(kiosk, 36.6, 25.0, 5.0)
    assert told[0] is Reason.MOVE_BACK
    told.clear()
    result = visit(kiosk, 36.6, 25.0, 100.0)
    assert told[0] is Reason.MOVE_CLOSER
    assert result.decision.detail["state"] == ReadingState.TOO_FAR.value
    admitted = visit(kiosk, 36.6, 25.0, None)
    assert admitted.decision.reason is Reason.WALKIN
    assert admitted.reading.distance_cm == pytest.approx(28.6, abs=0.1)


@pytest.mark.parametrize("sensor", [False, True])
def test_stepping_back_for_the_recheck_does_not_clear_a_fever(
    make_kiosk: Callable[..., Kiosk], sensor: bool
) -> None:
    kiosk = gate(make_kiosk, "xCF", sensor, recheck_max_drop_c=0.4)
    fill = optics.fill_distance_cm(10.0)
    # 1.1× the fill distance in a warm room reads ~37 °C for a 38.5 °C body: above the floor
    result = visit(kiosk, 38.5, 32.0, None, recheck=(38.5, 1.1 * fill))
    assert result.decision.reason is Reason.FEVER
    assert result.reading.first is not None
    assert result.reading.first.estimated_c == pytest.approx(38.5, abs=0.05)
    assert result.reading.recheck_trusted is False


def test_without_the_drop_rule_only_the_distance_sensor_catches_the_step_back(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    """Documented limit: without a distance sensor and without recheck_max_drop_c, a
    re-measurement just past the fill distance (above the floor) is taken as valid."""
    kiosk = gate(make_kiosk, "xCF", False)
    fill = optics.fill_distance_cm(10.0)
    result = visit(kiosk, 38.5, 32.0, None, recheck=(38.5, 1.1 * fill))
    assert result.reading.recheck_trusted is True
    assert result.decision.reason is Reason.WALKIN


def test_a_recheck_from_too_far_refers(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = gate(make_kiosk, "xAA", False)
    result = visit(kiosk, 38.5, 25.0, None, recheck=(38.5, 3.1))
    assert result.decision.reason is Reason.FEVER
    assert result.reading.state is ReadingState.TOO_FAR
    assert result.reading.recheck_trusted is False


def test_a_valid_in_place_recheck_clears_and_both_readings_are_stored(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = gate(make_kiosk, "xCI", True)
    result = visit(kiosk, 37.8, 25.0, None, recheck=(36.9, 30.0))
    assert result.decision.reason is Reason.WALKIN
    day = result.business_date
    row = entry_log.latest(kiosk.db.connection(), kiosk.config.site.office_id, day, limit=1)[0]
    assert row.temp_first_estimated_c == pytest.approx(37.8, abs=0.05)
    assert row.temp_estimated_c == pytest.approx(36.9, abs=0.05)
    assert row.temp_recheck_trusted is True
    assert row.temp_distance_cm == pytest.approx(30.0, abs=0.1)
    assert row.temp_first_distance_cm == pytest.approx(28.6, abs=0.1)
    add_staff(kiosk, "admin", "admin")  # an administrator exists: no setup page
    add_staff(kiosk, "officer", "officer")
    officer = web_client(kiosk)
    assert login(officer, "officer").status_code == 302
    (entry,) = officer.get("/officer/api/today").get_json()["entries"]
    assert entry["temperature_first_c"] == pytest.approx(37.8, abs=0.05)
    assert entry["temperature_c"] == pytest.approx(36.9, abs=0.05)
    assert entry["recheck_trusted"] is True
    page = officer.get("/officer").get_data(as_text=True)
    assert 'data-first-label="' in page and "data-not-in-place-label" in page


def test_sim_api_takes_distance_and_recheck(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = gate(make_kiosk, "xCF", True)
    client = web_client(kiosk)
    far = client.post(
        "/api/sim/present",
        json={"qr": add_booking(kiosk, "BK-FAR00001"), "temperature_c": 39.0, "distance_cm": 60},
    ).get_json()
    assert (far["decision"], far["code"]) == ("denied", "no_reading")
    stepped = client.post(
        "/api/sim/present",
        json={
            "qr": add_booking(kiosk, "BK-BACK0001"),
            "temperature_c": 38.6,
            "recheck_distance_cm": 40,
        },
    ).get_json()
    assert (stepped["decision"], stepped["code"]) == ("refer", "fever")
    assert stepped["temperature"]["first_estimated_c"] == pytest.approx(38.6, abs=0.05)
    assert stepped["temperature"]["recheck_trusted"] is False
    cooled = client.post(
        "/api/sim/present",
        json={
            "qr": add_booking(kiosk, "BK-COOL0001"),
            "temperature_c": 37.7,
            "recheck_temperature_c": 36.9,
        },
    ).get_json()
    assert (cooled["decision"], cooled["code"]) == ("admitted", "admitted")


def test_doctor_says_the_optics_and_checks_the_helper_sensors(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    from kiosk import doctor

    kiosk = make_kiosk(
        thermometer={"part": "xCC", "distance_sensor": "vl53l0x", "room_sensor": "sht3x"}
    )
    checks = {c.name: c for c in doctor.run_checks(kiosk.config, devices=kiosk.devices)}
    assert "field of view 35°" in checks["thermometer"].detail
    assert "working distance 4.0 cm" in checks["thermometer"].detail
    assert checks["distance_sensor"].ok and checks["room_sensor"].ok
    sim = kiosk.simulator
    assert sim is not None and sim.distance_bus is not None
    sim.distance_bus.fail()
    failed = {c.name: c for c in doctor.run_checks(kiosk.config, devices=kiosk.devices)}
    assert not failed["distance_sensor"].ok
    assert failed["distance_sensor"].fix and "i2cdetect" in failed["distance_sensor"].fix


def test_a_failing_distance_sensor_is_a_sensor_fault_and_refers(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = gate(make_kiosk, "xCI", True)
    sim = kiosk.simulator
    assert sim is not None and sim.distance_bus is not None
    sim.distance_bus.fail()
    result = visit(kiosk, 36.6, 25.0, None)
    assert result.decision.reason is Reason.SENSOR_FAULT
