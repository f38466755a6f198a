"""Calibration with physical bounds: fits outside them are refused, stored ones outside
them are not used; the room's temperature is the room's (room sensor, enclosure offset)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.cli.common import open_database
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.calibration import fit_problems, model_problems
from kiosk.domain.measurement import CalibrationPair, fit_calibration
from kiosk.domain.temperature import EstimationModel
from kiosk.services.runtime import Kiosk
from kiosk.storage import repository as repo
from tests.conftest import web_client


def synthetic(
    truth: EstimationModel, rooms: tuple[float, ...], n: int = 12, noise: float = 0.0
) -> list[CalibrationPair]:
    rng = random.Random(11)
    pairs = []
    for i in range(n):
        room = rooms[i % len(rooms)] + rng.uniform(-0.5, 0.5)
        body = round(rng.uniform(36.0, 38.0), 1)
        obj = truth.object_for(body, room) + rng.gauss(0, noise)
        pairs.append(CalibrationPair(round(obj, 3), round(room, 2), body))
    return pairs


@pytest.mark.parametrize("offset, k", [(0.3, 0.19), (1.2, 0.05), (-0.5, 0.35), (3.5, 0.45)])
def test_known_parameters_are_recovered_and_accepted(offset: float, k: float) -> None:
    pairs = synthetic(EstimationModel(offset, k), (20.0, 26.0, 31.0))
    fit = fit_calibration(pairs)
    assert fit.model.offset_c == pytest.approx(offset, abs=1e-3)
    assert fit.model.ambient_gain == pytest.approx(k, abs=1e-3)
    assert fit_problems(pairs, fit) == []


@pytest.mark.parametrize(
    "truth, rooms, noise, problem",
    [
        (EstimationModel(0.3, -0.05), (20.0, 26.0), 0.0, "k = -0.050 is outside"),
        (EstimationModel(0.3, 0.7), (20.0, 26.0), 0.0, "k = 0.700 is outside"),
        (EstimationModel(4.6, 0.2), (20.0, 26.0), 0.0, "offset = +4.60 °C is outside"),
        (EstimationModel(-4.5, 0.2), (20.0, 26.0), 0.0, "offset = -4.50 °C is outside"),
        (EstimationModel(0.3, 0.19), (20.0, 26.0), 0.6, "RMS residual"),
        (EstimationModel(0.3, 0.19), (24.0,), 0.0, "span only"),
    ],
)
def test_each_bound_rejects(
    truth: EstimationModel, rooms: tuple[float, ...], noise: float, problem: str
) -> None:
    pairs = synthetic(truth, rooms, noise=noise)
    if len(rooms) == 1:  # one room: the gradients still differ through the bodies
        pairs = [
            CalibrationPair(p.object_c, 24.0 + i % 2, p.clinical_c) for i, p in enumerate(pairs)
        ]
    fit = fit_calibration(pairs)
    problems = fit_problems(pairs, fit)
    assert any(problem in p for p in problems), problems


def pairs_file(tmp_path: Path, pairs: list[CalibrationPair]) -> Path:
    path = tmp_path / "pairs.csv"
    rows = [f"{p.object_c},{p.ambient_c},{p.clinical_c}" for p in pairs]
    path.write_text("object_c,ambient_c,clinical_c\n" + "\n".join(rows) + "\n")
    return path


def calibrate(config: Path, pairs: Path) -> Any:
    args = ["calibrate", "--operator", "teknisi", "--pairs", str(pairs), "--config", str(config)]
    return CliRunner().invoke(main, [*args, "--yes"])


def stored(config: Path) -> int:
    with open_database(load_config(config)) as db:
        return int(db.connection().execute("SELECT COUNT(*) FROM calibrations").fetchone()[0])


def test_cli_refuses_a_same_room_fit_and_stores_nothing(tmp_path: Path) -> None:
    config = init_data_dir(tmp_path / "d")
    # six same-room pairs: the k = −0.044 case
    pairs = synthetic(EstimationModel(0.8, -0.044), (25.0,), n=6)
    result = calibrate(config, pairs_file(tmp_path, pairs))
    assert result.exit_code != 0
    assert "NOT stored" in result.output and "span only" in result.output
    assert "room 18.0 °C" in result.output  # the reference cases were shown first
    assert stored(config) == 0


def test_cli_stores_a_fit_inside_the_bounds(tmp_path: Path) -> None:
    config = init_data_dir(tmp_path / "d")
    pairs = synthetic(EstimationModel(0.6, 0.15), (21.0, 28.0))
    result = calibrate(config, pairs_file(tmp_path, pairs))
    assert result.exit_code == 0, result.output
    assert "room 32.0 °C" in result.output
    assert stored(config) == 1


def add_calibration(kiosk: Kiosk, model: EstimationModel, rooms: tuple[float, ...]) -> None:
    pairs = synthetic(model, rooms, n=6)
    with kiosk.db.transaction() as conn:
        repo.add_calibration(
            conn,
            repo.Calibration(
                ts=datetime(2026, 11, 20, tzinfo=UTC),
                gate_id=kiosk.config.site.gate_id,
                operator="Budi Santoso",
                offset_c=model.offset_c,
                ambient_gain=model.ambient_gain,
                pairs=len(pairs),
                rms_residual_c=0.0,
                pairs_json=json.dumps([p.__dict__ for p in pairs]),
            ),
        )


def test_a_stored_calibration_outside_the_bounds_is_not_used(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk()
    add_calibration(kiosk, EstimationModel(0.8, -0.044), (25.0,))
    assert kiosk.gate.current_model() == EstimationModel(0.3, 0.19)  # the configured default
    assert model_problems(EstimationModel(0.8, -0.044))
    codes = [a["code"] for a in kiosk.alerts()]
    assert "calibration_rejected" in codes
    health = web_client(kiosk).get("/healthz").get_json()
    assert health["calibration"]["source"] == "rejected"
    assert health["calibration"]["k"] == 0.19


def test_healthz_shows_the_active_calibration_and_its_residuals_without_names(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk()
    add_calibration(kiosk, EstimationModel(0.6, 0.15), (21.0, 28.0))
    kiosk.gate.model = kiosk.gate.current_model()
    cal = web_client(kiosk).get("/healthz").get_json()["calibration"]
    assert cal["source"] == "stored"
    assert (cal["date"], cal["pairs"], cal["k"], cal["offset_c"]) == ("2026-11-20", 6, 0.15, 0.6)
    assert cal["rms_c"] == 0.0 and len(cal["residuals_c"]) == 6
    assert all(abs(r) < 0.01 for r in cal["residuals_c"])
    assert "Budi" not in json.dumps(cal)


def test_ambient_drift_alert_when_the_die_runs_above_the_calibrations_room(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk()
    add_calibration(kiosk, EstimationModel(0.6, 0.15), (21.0, 28.0))  # mean ≈ 24.5 °C
    kiosk.gate.model = kiosk.gate.current_model()  # as at the next start
    sim = kiosk.simulator
    assert sim is not None
    sim.die_offset_c = 6.0  # the enclosure warms the sensor
    sim.set_body_temperature(36.6, 25.0)
    kiosk.gate.admit_walkin("ani")
    assert "ambient_drift" in [a["code"] for a in kiosk.alerts()]


def test_the_room_sensor_is_the_ambient_and_the_die_is_ignored(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk(thermometer={"room_sensor": "sht3x"})
    sim = kiosk.simulator
    assert sim is not None and sim.room_bus is not None
    sim.die_offset_c = 6.0
    sim.set_body_temperature(36.6, 22.0)
    result = kiosk.gate.admit_walkin("ani")
    assert result.reading.ambient_c == pytest.approx(22.0, abs=0.05)
    assert result.reading.estimated_c == pytest.approx(36.6, abs=0.05)


@pytest.mark.parametrize("offset, expected", [(0.0, 35.5), (6.0, 36.6)])
def test_without_a_room_sensor_the_enclosure_offset_corrects_the_die(
    make_kiosk: Callable[..., Kiosk], offset: float, expected: float
) -> None:
    kiosk = make_kiosk(temperature={"enclosure_offset_c": offset})
    sim = kiosk.simulator
    assert sim is not None
    sim.die_offset_c = 6.0
    sim.set_body_temperature(36.6, 22.0)
    result = kiosk.gate.admit_walkin("ani")
    assert result.reading.estimated_c == pytest.approx(expected, abs=0.1)
