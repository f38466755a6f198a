"""Measurement policy, re-measurement of elevated readings, clinical readings, calibration."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kiosk.domain.measurement import (
    CalibrationPair,
    MeasurementPolicy,
    Sample,
    assess,
    fit_calibration,
)
from kiosk.domain.reasons import Reason
from kiosk.domain.temperature import EstimationModel, ReadingLimits, ReadingState
from kiosk.storage import repository as repo

MODEL = EstimationModel(0.3, 0.19)
LIMITS = ReadingLimits()
POLICY = MeasurementPolicy(sample_hz=10, settle_s=0.3, window=4, max_spread_c=0.3, timeout_s=4.0)


def run(objects: list[float], ambient: float = 25.0, hz: float = 10.0) -> tuple[Any, float]:
    """Feed samples at ``hz`` until assess() answers; returns (reading, time taken)."""
    samples: list[Sample] = []
    for i, obj in enumerate(objects):
        t = i / hz
        samples.append(Sample(t, obj, ambient))
        reading = assess(samples, started=0.0, now=t, policy=POLICY, model=MODEL, limits=LIMITS)
        if reading is not None:
            return reading, t
    raise AssertionError("no verdict")


def test_stable_reading_after_settling() -> None:
    reading, t = run([25.0] * 5 + [34.5] * 20)
    assert reading.state is ReadingState.OK
    assert reading.object_c == pytest.approx(34.5)
    # person at t=0.5, settled at 0.8, four samples → 0.8 … 1.1
    assert t == pytest.approx(1.1)


def test_noisy_reading_waits_until_it_settles() -> None:
    reading, t = run([34.0, 35.5, 33.8, 35.9, 34.1, 35.6] + [34.6, 34.7, 34.6, 34.65] * 3)
    assert reading.state is ReadingState.OK
    assert t > 0.6


def test_nobody_in_front_times_out_as_no_person() -> None:
    reading, t = run([24.0] * 50)
    assert reading.state is ReadingState.NO_PERSON
    assert t == pytest.approx(4.0)


def test_moving_person_times_out_as_unstable() -> None:
    rng = random.Random(1)
    reading, _ = run([rng.uniform(31, 36) for _ in range(50)])
    assert reading.state is ReadingState.UNSTABLE


def test_cold_room_refuses_to_screen_at_once() -> None:
    reading, t = run([34.0] * 10, ambient=12.0)
    assert reading.state is ReadingState.AMBIENT_OUT_OF_RANGE
    assert t == 0.0


@pytest.mark.parametrize("offset, gain", [(0.3, 0.19), (0.8, 0.1), (-0.2, 0.3)])
def test_calibration_fit_recovers_known_parameters(offset: float, gain: float) -> None:
    truth = EstimationModel(offset, gain)
    rng = random.Random(7)
    pairs = []
    for _ in range(12):
        ambient = rng.uniform(20, 32)
        body = rng.uniform(36.0, 38.5)
        pairs.append(CalibrationPair(truth.object_for(body, ambient), ambient, body))
    fit = fit_calibration(pairs)
    assert fit.model.offset_c == pytest.approx(offset, abs=1e-3)
    assert fit.model.ambient_gain == pytest.approx(gain, abs=1e-3)
    assert fit.rms < 1e-3


def test_calibration_refuses_too_few_or_degenerate_pairs() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        fit_calibration([CalibrationPair(34.5, 25, 36.6)] * 2)
    with pytest.raises(ValueError, match="gradients"):
        fit_calibration([CalibrationPair(34.5, 25, 36.6 + i / 10) for i in range(5)])


# -- through the gate service --------------------------------------------------------
def test_elevated_first_reading_is_remeasured_then_referred(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    interim: list[Reason] = []
    kiosk.gate.interim_listeners.append(interim.append)
    kiosk.simulator.set_body_temperature(39.0)
    result = kiosk.gate.admit_walkin("ani")
    assert result.decision.reason is Reason.FEVER
    assert result.reading.is_recheck is True
    assert interim == [Reason.TEMPERATURE_RECHECK]


def test_elevated_then_normal_on_remeasure_admits(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    kiosk.simulator.set_body_temperature(38.2)
    # The visitor cools down (e.g. came in from the sun) before the second measurement.
    kiosk.gate.interim_listeners.append(lambda _: kiosk.simulator.set_body_temperature(36.8))
    result = kiosk.gate.admit_walkin("ani")
    assert result.decision.reason is Reason.WALKIN
    assert result.reading.estimated_c == pytest.approx(36.8, abs=0.05)


def test_without_recheck_the_first_elevated_reading_refers(make_kiosk: Any) -> None:
    kiosk = make_kiosk(temperature={"recheck_elevated": False})
    kiosk.simulator.set_body_temperature(38.0)
    result = kiosk.gate.admit_walkin("ani")
    assert (result.decision.reason, result.reading.is_recheck) == (Reason.FEVER, False)


@pytest.mark.parametrize("clinical, reason", [(37.0, Reason.WALKIN), (38.1, Reason.FEVER)])
def test_officer_clinical_reading_decides_and_is_recorded(
    make_kiosk: Any, clinical: float, reason: Reason
) -> None:
    kiosk = make_kiosk()
    kiosk.simulator.set_body_temperature(39.0)
    referred = kiosk.gate.admit_walkin("ani")
    assert referred.decision.reason is Reason.FEVER
    decided = kiosk.gate.clinical_reading(referred.entry_id, clinical, "dr-budi")
    assert decided.decision.reason is reason
    conn = kiosk.db.connection()
    row = conn.execute("SELECT * FROM entries WHERE id = ?", (decided.entry_id,)).fetchone()
    assert (row["temp_source"], row["temp_estimated_c"], row["officer"]) == (
        "clinical",
        clinical,
        "dr-budi",
    )
    audit = conn.execute("SELECT actor, action FROM audit_log WHERE action = 'clinical_reading'")
    assert [tuple(r) for r in audit.fetchall()] == [("dr-budi", "clinical_reading")]
    with pytest.raises(Exception, match="not a referral"):
        kiosk.gate.clinical_reading(referred.entry_id, clinical, "dr-budi")


def test_sensor_fault_only_an_officer_admits(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    kiosk.simulator.inject_fault("nack")
    result = kiosk.gate.admit_walkin("ani")
    assert result.decision.reason is Reason.SENSOR_FAULT
    assert kiosk.simulator.outputs.state()["relay"] is False
    override = kiosk.gate.admit_priority(
        "ani", "other", note="thermometer broken, measured manually"
    )
    assert override.decision.admitted
    conn = kiosk.db.connection()
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE actor = 'ani'")]
    assert actions == ["admit_walkin", "admit_priority"]


def test_one_failed_sample_is_a_glitch_not_a_sensor_fault(make_kiosk: Any) -> None:
    kiosk = make_kiosk()
    kiosk.simulator.set_body_temperature(36.8)
    kiosk.simulator.inject_fault("nack", 4)  # one whole read (3 attempts) fails, then one NACK
    result = kiosk.gate.admit_walkin("ani")
    assert result.decision.reason is Reason.WALKIN
    assert result.reading.estimated_c == pytest.approx(36.8, abs=0.05)


@pytest.mark.parametrize(
    ("errors", "elapsed", "gives_up"),
    [(1, 0.5, False), (2, 3.9, False), (3, 0.5, True), (1, 4.0, True)],
)
def test_measurement_gives_up_on_repeated_failures_or_at_the_timeout(
    errors: int, elapsed: float, gives_up: bool
) -> None:
    assert MeasurementPolicy(timeout_s=4.0).gives_up(errors, elapsed) is gives_up


def test_newest_calibration_is_the_model_in_use(make_kiosk: Any) -> None:
    from datetime import UTC, datetime

    kiosk = make_kiosk()
    with kiosk.db.transaction() as conn:
        repo.add_calibration(
            conn,
            repo.Calibration(
                ts=datetime.now(UTC),
                gate_id=kiosk.config.site.gate_id,
                operator="tech",
                offset_c=1.0,
                ambient_gain=0.1,
                pairs=5,
                rms_residual_c=0.1,
            ),
        )
    assert kiosk.gate.current_model() == EstimationModel(1.0, 0.1)
