"""The ``kiosk`` command line, and `kiosk run` as a real HTTP server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.domain.clock import business_date


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def datadir(tmp_path: Path) -> Path:
    result = invoke("init", str(tmp_path / "d"))
    assert result.exit_code == 0, result.output
    return tmp_path / "d" / "kiosk.toml"


def today_text(config_path: Path) -> str:
    config = load_config(config_path)
    return business_date(datetime.now(UTC), config.site.zone).isoformat()


def test_init_creates_a_valid_sim_config(datadir: Path) -> None:
    assert datadir.exists()
    result = invoke("check-config", str(datadir))
    assert result.exit_code == 0
    assert "mode sim" in result.output


def test_check_config_reports_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[admission]\ndaily_cap = -1\n")
    result = CliRunner().invoke(main, ["check-config", str(bad)])
    assert result.exit_code == 1
    assert "admission.daily_cap" in result.output


def test_booking_add_prints_the_payload_last(datadir: Path) -> None:
    result = invoke(
        "booking",
        "add",
        "--config",
        str(datadir),
        "--date",
        today_text(datadir),
        "--name",
        "Siti Rahayu",
        "--service",
        "KTP-el",
    )
    assert result.exit_code == 0
    payload = result.output.strip().splitlines()[-1]
    listing = invoke("booking", "list", "--config", str(datadir))
    assert payload in listing.output


@pytest.mark.parametrize(
    "args, hint",
    [
        (["--date", "tomorrow", "--name", "Siti"], "YYYY-MM-DD"),
        (["--date", "2026-11-23", "--name", "   "], "name is empty"),
    ],
)
def test_booking_add_bad_input(datadir: Path, args: list[str], hint: str) -> None:
    result = CliRunner().invoke(main, ["booking", "add", "--config", str(datadir), *args])
    assert result.exit_code == 1
    assert hint in result.output


def test_booking_import_reports_lines(datadir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text("date,name,service\n2026-11-23,Siti,KTP-el\n2026-11-23,Budi,KK\n")
    result = invoke("booking", "import", "--config", str(datadir), str(good))
    assert "2 booking(s) added" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,name\n2026-11-23,Siti\nnot-a-date,Budi\n")
    result = CliRunner().invoke(main, ["booking", "import", "--config", str(datadir), str(bad)])
    assert result.exit_code == 1
    assert "line 3" in result.output


def test_default_config_comes_from_the_environment(
    datadir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIOSK_CONFIG", str(datadir))
    result = invoke("check-config")
    assert result.exit_code == 0
    assert str(datadir.resolve()) in result.output


def test_db_upgrade(datadir: Path) -> None:
    result = invoke("db", "upgrade", "--config", str(datadir))
    assert "up to date" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_COOKIES = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """JSON over HTTP with a session cookie; a POST sends the session's CSRF token."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if method != "GET":
        _, answer = http("GET", url.split("/api/")[0] + "/api/csrf")
        headers["X-CSRF-Token"] = answer["csrf_token"]
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _COOKIES.open(req, timeout=10) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_kiosk_run_serves_the_real_pipeline_and_stops_on_sigterm(datadir: Path) -> None:
    port = free_port()
    kiosk_bin = Path(sys.executable).with_name("kiosk")
    proc = subprocess.Popen(
        [str(kiosk_bin), "run", "--config", str(datadir), "--sim", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = http("GET", base + "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("server did not start") from None
                time.sleep(0.2)
        assert (status, body["status"]) == (200, "ok")
        code = (
            invoke(
                "booking",
                "add",
                "--config",
                str(datadir),
                "--date",
                today_text(datadir),
                "--name",
                "Budi",
            )
            .output.strip()
            .splitlines()[-1]
        )
        status, body = http("POST", base + "/api/sim/present", {"qr": code, "temperature_c": 36.6})
        assert (status, body["decision"], body["code"]) == (200, "admitted", "admitted")
        status, body = http("POST", base + "/api/sim/present", {"qr": code, "temperature_c": "x"})
        assert status == 400
        status, today = http("GET", base + "/api/today")
        assert today["admitted"] == 1
        assert today["date"] == today_text(datadir)
        with urllib.request.urlopen(base + "/", timeout=10) as page:
            assert page.headers["Server"] == "kiosk"  # waitress, not the development server
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out
    assert "closing the gate" in out
