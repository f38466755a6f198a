"""A real kiosk server for end-to-end tests: ``kiosk run --sim`` (waitress) in a subprocess.

Not Flask's test client: the browser and these helpers talk HTTP to the same
production server a gate runs, on a free port, with its own data folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir, render_config
from kiosk.domain.clock import business_date
from kiosk.storage import Booking, open_database
from kiosk.storage import repository as repo

# Slow enough that a browser sees "measuring" (and a screenshot catches it), fast enough
# for a quick suite; a fever is re-measured after half a second.
BROWSER_TEMPERATURE = {"settle_s": 1.2, "recheck_pause_s": 0.5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_data_dir(folder: Path, **sections: Any) -> Config:
    """A demo data folder whose kiosk.toml carries ``sections`` (e.g. admission={...})."""
    path = init_data_dir(folder, demo=True)
    config = load_config(path).replace(**sections)
    path.write_text(render_config(config), encoding="utf-8")
    return load_config(path)


@dataclass
class LiveKiosk:
    """A running ``kiosk run --sim``; ``stop()`` sends SIGTERM and returns its output."""

    config: Config
    proc: subprocess.Popen[str]
    port: int
    log: Path
    http: requests.Session = field(default_factory=requests.Session)
    _serial: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def today(self) -> date:
        return business_date(datetime.now(UTC), self.config.site.zone)

    def add_booking(self, days: int = 0) -> str:
        """A new booking for today (+ ``days``); returns the QR text (its id)."""
        self._serial += 1
        booking = Booking(
            id=f"BK-E2E{self._serial:04d}{os.getpid() % 1000:03d}",
            office_id=self.config.site.office_id,
            date=self.today() + timedelta(days=days),
            name="Sri Wahyuni",
            service="KTP-el",
        )
        db = open_database(self.config.database_target)
        try:
            with db.transaction() as conn:
                repo.insert_booking(conn, booking)
        finally:
            db.close()
        return booking.id

    def csrf(self) -> str:
        res = self.http.get(self.url + "/api/csrf", timeout=10)
        res.raise_for_status()
        return str(res.json()["csrf_token"])

    def present(self, qr: str, temperature_c: float = 36.6) -> dict[str, Any]:
        """The simulated visitor shows ``qr`` at ``temperature_c`` (the real pipeline decides)."""
        res = self.http.post(
            self.url + "/api/sim/present",
            json={"qr": qr, "temperature_c": temperature_c},
            headers={"X-CSRF-Token": self.csrf()},
            timeout=30,
        )
        assert res.status_code == 200, res.text
        return res.json()  # type: ignore[no-any-return]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def restart(self, wait_s: float = 30) -> None:
        """Serve the same data folder on the same port again (after :meth:`stop`)."""
        self.http = requests.Session()
        self.proc = _serve(self.config, self.port, self.log, append=True)
        _wait_up(self, wait_s)

    def stop(self, timeout: float = 20) -> str:
        """SIGTERM (the gate closes first), wait for the exit; returns the server's output."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.http.close()
        return self.output()


def start_kiosk(folder: Path, *, wait_s: float = 30, **sections: Any) -> LiveKiosk:
    """Create a data folder in ``folder`` and serve it; returns once /healthz answers."""
    sections.setdefault("temperature", BROWSER_TEMPERATURE)
    config = make_data_dir(folder, **sections)
    port = free_port()
    log = folder / "server.log"  # a file, not a pipe nobody reads: the server never blocks
    live = LiveKiosk(config, _serve(config, port, log), port, log)
    _wait_up(live, wait_s)
    return live


def _serve(config: Config, port: int, log: Path, *, append: bool = False) -> subprocess.Popen[str]:
    kiosk_bin = Path(sys.executable).with_name("kiosk")
    with open(log, "a" if append else "w", encoding="utf-8") as out:
        return subprocess.Popen(
            [str(kiosk_bin), "run", "--config", str(config.source), "--sim", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _wait_up(live: LiveKiosk, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if requests.get(live.url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        if live.proc.poll() is not None or time.monotonic() > deadline:
            out = live.stop()
            raise AssertionError(f"kiosk run did not start:\n{out}")
        time.sleep(0.2)


@contextmanager
def running_kiosk(folder: Path, **sections: Any) -> Iterator[LiveKiosk]:
    live = start_kiosk(folder, **sections)
    try:
        yield live
    finally:
        live.stop()
