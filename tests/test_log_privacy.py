"""No NIK, names or QR payloads in application logs, over a whole scenario on a real server.

The kiosk runs as `kiosk -v run` (debug logging) in a subprocess; the test
imports bookings whose ids are NIKs, presents plain and signed codes, junk
containing a NIK, a feverish visitor, a live booking system that is down,
and then greps everything the server logged.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.config import load_config
from kiosk.datadir import init_data_dir, render_config
from kiosk.domain.clock import business_date

NIK_A = "3314012503870001"
NIK_B = "3314016607920002"
NIK_JUNK = "3314019901010003"
NAMES = ("Siti Rahayu Wulandari", "Bambang Prasetyo Nugroho", "Dewi Kartika Sari")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kiosk_cli(*args: str) -> str:
    kiosk_bin = Path(sys.executable).with_name("kiosk")
    done = subprocess.run([str(kiosk_bin), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def csrf_headers(session: requests.Session, base: str) -> dict[str, str]:
    """The session's CSRF token as the pages' scripts send it."""
    token = session.get(base + "/api/csrf", timeout=10).json()["csrf_token"]
    return {"X-CSRF-Token": token}


def test_logs_carry_no_nik_names_or_payloads(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    config_path = init_data_dir(folder)
    config = load_config(config_path)
    secret = tmp_path / "secret"
    secret.mkdir(mode=0o700)
    dead = f"http://127.0.0.1:{free_port()}"  # the booking system is down: warnings get logged
    config = config.replace(
        booking_source={"live_lookup_url": dead, "live_deadline_s": 1.0, "retries": 0},
        bookings={"private_key": str(secret / "signing.pem")},
        admission={"reentry_min_minutes": 0},  # the re-entry below comes at once
    )
    config_path.write_text(render_config(config), encoding="utf-8")
    today = business_date(datetime.now(UTC), config.site.zone).isoformat()
    csv = tmp_path / "bookings.csv"
    csv.write_text(
        f"id,date,name,service\n{NIK_A},{today},{NAMES[0]},KTP-el\n{NIK_B},{today},{NAMES[1]},KK\n",
        encoding="utf-8",
    )
    kiosk_cli("booking", "import", str(csv), "--config", str(config_path))
    kiosk_cli("keys", "generate", "--config", str(config_path))
    signed = kiosk_cli(
        "booking", "issue", "--config", str(config_path), "--date", today, "--name", NAMES[2]
    ).splitlines()[-1]
    assert signed.startswith("KB:")

    port = free_port()
    log_file = tmp_path / "kiosk.log"
    kiosk_bin = Path(sys.executable).with_name("kiosk")
    with log_file.open("w") as sink:
        proc = subprocess.Popen(
            [
                str(kiosk_bin),
                "-v",
                "run",
                "--config",
                str(config_path),
                "--sim",
                "--port",
                str(port),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TZ": "UTC"},
        )
    base = f"http://127.0.0.1:{port}"
    presented: list[Any] = []
    try:
        session = requests.Session()
        deadline = time.monotonic() + 30
        while True:
            try:
                if session.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.2)
        headers = csrf_headers(session, base)
        for qr, temp in [
            (NIK_A, 36.6),  # admitted (live look-up down → local list)
            (NIK_A, 36.6),  # re-entry
            (NIK_B, 39.4),  # fever → refer
            (signed, 36.7),  # signed code
            (f"NIK:{NIK_JUNK};{NAMES[0]}", 36.6),  # junk carrying personal data
            ("3314010000000099", 36.6),  # unknown booking
        ]:
            reply = session.post(
                base + "/api/sim/present",
                json={"qr": qr, "temperature_c": temp},
                headers=headers,
                timeout=30,
            )
            assert reply.status_code in (200, 422), reply.text
            presented.append(reply.json())
        assert session.get(base + "/api/today", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    codes = [p.get("code") for p in presented]
    assert codes[:4] == ["admitted", "readmitted", "fever", "admitted"], presented
    logged = log_file.read_text(encoding="utf-8", errors="replace")
    assert "live look-up of ref:" in logged  # the scenario really logged about these bookings
    for secret in (NIK_A, NIK_B, NIK_JUNK, "3314010000000099", signed, signed[3:20], *NAMES):
        assert secret not in logged, f"{secret!r} leaked into the log"
    assert not re.search(r"(?<!\d)\d{16}(?!\d)", logged), "a 16-digit number (NIK) is in the log"
