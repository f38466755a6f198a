"""`kiosk calibrate` and `kiosk sensor emissivity` (simulated thermometer on the fake bus)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.temperature import EstimationModel
from kiosk.services.runtime import Kiosk


def invoke(*args: str, **kw: Any) -> Any:
    return CliRunner().invoke(main, list(args), **kw)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return init_data_dir(tmp_path / "d")


def pairs_csv(tmp_path: Path, truth: EstimationModel) -> Path:
    rng = random.Random(3)
    lines = ["object_c,ambient_c,clinical_c"]
    for _ in range(8):
        ambient, body = rng.uniform(20, 31), round(rng.uniform(36.0, 38.0), 1)
        lines.append(f"{truth.object_for(body, ambient):.3f},{ambient:.2f},{body}")
    path = tmp_path / "pairs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_calibrate_from_pairs_stores_and_the_gate_uses_it(
    config_path: Path, tmp_path: Path
) -> None:
    truth = EstimationModel(0.9, 0.12)
    result = invoke(
        "calibrate",
        "--config",
        str(config_path),
        "--operator",
        "teknisi",
        "--pairs",
        str(pairs_csv(tmp_path, truth)),
        "--yes",
    )
    assert result.exit_code == 0, result.output
    assert "RMS residual" in result.output
    kiosk = Kiosk.start(load_config(config_path))
    try:
        model = kiosk.gate.model
        assert model.offset_c == pytest.approx(0.9, abs=0.01)
        assert model.ambient_gain == pytest.approx(0.12, abs=0.01)
        actor = (
            kiosk.db.connection()
            .execute("SELECT actor FROM audit_log WHERE action = 'calibrate'")
            .fetchone()[0]
        )
        assert actor == "teknisi"
    finally:
        kiosk.close()


def test_calibrate_declined_saves_nothing(config_path: Path, tmp_path: Path) -> None:
    result = invoke(
        "calibrate",
        "--config",
        str(config_path),
        "--operator",
        "t",
        "--pairs",
        str(pairs_csv(tmp_path, EstimationModel())),
        input="n\n",
    )
    assert "not saved" in result.output
    kiosk = Kiosk.start(load_config(config_path))
    try:
        assert kiosk.gate.model == EstimationModel(0.3, 0.19)  # the configured default
    finally:
        kiosk.close()


def test_calibrate_rejects_bad_pairs(config_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("object_c,ambient_c,clinical_c\n34.5,25,hot\n")
    result = invoke(
        "calibrate", "--config", str(config_path), "--operator", "t", "--pairs", str(bad), "--yes"
    )
    assert result.exit_code == 1
    assert "line 2" in result.output
    few = tmp_path / "few.csv"
    few.write_text("object_c,ambient_c,clinical_c\n34.5,25,36.6\n")
    result = invoke(
        "calibrate", "--config", str(config_path), "--operator", "t", "--pairs", str(few), "--yes"
    )
    assert result.exit_code == 1
    assert "at least 3" in result.output


def test_emissivity_read_and_refuse_silly_values(config_path: Path) -> None:
    result = invoke("sensor", "emissivity", "--config", str(config_path))
    assert result.exit_code == 0
    assert "emissivity 1.000" in result.output
    refused = invoke("sensor", "emissivity", "--config", str(config_path), "--set", "0.5")
    assert refused.exit_code == 1
    assert "0.98" in refused.output
    written = invoke("sensor", "emissivity", "--config", str(config_path), "--set", "0.98")
    assert written.exit_code == 0
    assert "written and verified: 0.980" in written.output


def test_readme_calibration_command_works_as_printed(tmp_path: Path) -> None:
    """The README's command, run as printed (paths moved to a `kiosk init --demo` folder)."""
    import re
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    (line,) = [row for row in readme.splitlines() if " calibrate --" in row and "sudo" in row]
    kiosk = Path(sys.executable).parent / "kiosk"
    data = tmp_path / "data"
    subprocess.run([str(kiosk), "init", str(data), "--demo"], check=True, capture_output=True)
    command = re.sub(r"^sudo -u kiosk ", "", line)  # the test runs as its own user
    for printed, here in (
        ("/opt/kiosk/.venv/bin/kiosk", str(kiosk)),
        ("/etc/kiosk/kiosk.toml", str(data / "kiosk.toml")),
        ("/var/lib/kiosk", str(data)),
    ):
        assert printed in command
        command = command.replace(printed, here)
    answers = "".join(f"\n{36.5 + i / 10:.1f}\n" for i in range(8)) + "y\n"
    result = subprocess.run(
        ["sh", "-c", command], input=answers, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "saved: the gate uses it from its next start (calibrated by Nama Teknisi)" in (
        result.stdout
    )
    kiosk_app = Kiosk.start(load_config(data / "kiosk.toml"))
    try:
        actors = kiosk_app.db.connection().execute(
            "SELECT actor FROM audit_log WHERE action = 'calibrate'"
        )
        assert [row[0] for row in actors.fetchall()] == ["Nama Teknisi"]
    finally:
        kiosk_app.close()
