"""Load: 500 scans arriving at once across 3 gate processes sharing one database.

Run from the repository root::

    .venv/bin/python -m bench.load                      # PostgreSQL, 3 gates, 500 scans
    .venv/bin/python -m bench.load --backend sqlite     # the same gates on one SQLite file
    .venv/bin/python -m bench.load --scans 60 --cap 40  # what the test runs

What runs: a throw-away PostgreSQL server started the way the tests start it
(``initdb`` into a temporary folder, tests/pg.py), three data folders with
their own gate id and port, and three real ``kiosk run`` servers (waitress,
simulated hardware with fast temperature sampling). Every scan is a distinct
booking of today presented through ``POST /api/sim/present``: the frame is
rendered, decoded by the real decoder, the booking looked up, the simulated
thermometer read, the decision recorded against the shared cap, the outputs
driven. All requests are released at one instant by a barrier (one thread
each); latency is measured by the client from sending to the full response,
so it includes queueing: a simulated gate presents one frame at a time (one
camera), so a gate with 167 visitors in front of it answers the last one
after all the others — that is the figure, not the cost of one decision.

Checks: no 5xx (or lost connection), exactly ``min(cap, scans)`` admitted, the
day counter equals the slot-using entries, every gate served its share.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/load.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from kiosk.bookings import new_booking_id
from kiosk.config import parse_config
from kiosk.datadir import render_config
from kiosk.domain.clock import business_date
from kiosk.storage import Booking, open_database
from kiosk.storage import repository as repo

OFFICE = "LOAD"
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 180.0
FAST_MEASUREMENT = {
    "sample_hz": 1000.0,
    "settle_s": 0.0,
    "stable_window": 2,
    "recheck_pause_s": 0.0,
}


@dataclass
class LoadResult:
    backend: str
    gates: int
    scans: int
    cap: int
    statuses: Counter[int] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    per_gate: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    # (gate, seconds after the release) of every answer: the gates' pace
    answered_at: list[tuple[int, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    used: int = -1
    slot_rows: int = -1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500 or status == 0)

    @property
    def admitted(self) -> int:
        return self.decisions["admitted"]

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, max(0, round(p / 100 * len(data)) - 1))]

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "backend": self.backend,
            "gates": self.gates,
            "scans": self.scans,
            "cap": self.cap,
            "statuses": dict(sorted(self.statuses.items())),
            "decisions": dict(sorted(self.decisions.items())),
            "per_gate": dict(sorted(self.per_gate.items())),
            "server_errors": self.server_errors,
            "admitted": self.admitted,
            "counter_used": self.used,
            "slot_rows": self.slot_rows,
            "latency_ms": {
                "p50": round(self.percentile(50), 1),
                "p95": round(self.percentile(95), 1),
                "max": round(max(lat), 1) if lat else None,
                "mean": round(statistics.fmean(lat), 1) if lat else None,
                "min": round(min(lat), 1) if lat else None,
            },
            "service_ms_per_scan": self.service_ms(),
            "wall_s": round(self.wall_s, 2),
            "scans_per_s": round(self.scans / self.wall_s, 1) if self.wall_s else None,
            "failures": self.failures[:10],
        }

    def service_ms(self) -> dict[int, float]:
        """Per gate: time between consecutive answers while its queue was full."""
        pace: dict[int, float] = {}
        for gate in sorted({g for g, _ in self.answered_at}):
            times = sorted(t for g, t in self.answered_at if g == gate)
            if len(times) > 1:
                pace[gate] = round((times[-1] - times[0]) * 1000 / (len(times) - 1), 1)
        return pace

    def problems(self) -> list[str]:
        found = list(self.failures[:10])
        if self.server_errors:
            found.append(f"{self.server_errors} responses were 5xx or lost")
        expected = min(self.cap, self.scans)
        if self.admitted != expected:
            found.append(f"{self.admitted} admitted, expected {expected}")
        if not self.used == self.slot_rows == expected:
            found.append(f"counter {self.used}, slot rows {self.slot_rows}, expected {expected}")
        if len(self.per_gate) != self.gates:
            found.append(f"only gates {sorted(self.per_gate)} answered")
        return found


# -- set-up ------------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_gate(folder: Path, gate: int, port: int, cap: int, target: str | Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Any] = {"data_dir": "."}
    if isinstance(target, Path):
        paths["database"] = str(target)
    else:
        paths["database_url"] = target
    config = parse_config(
        {
            "site": {"office_id": OFFICE, "gate_id": f"gate-{gate}"},
            "admission": {"daily_cap": cap},
            "hardware": {"mode": "sim", "relay_open_seconds": 0.5},
            "temperature": FAST_MEASUREMENT,
            "server": {"port": port, "threads": 16},
            "paths": paths,
        },
        source=(folder / "kiosk.toml").resolve(),
    )
    path = folder / "kiosk.toml"
    path.write_text(render_config(config), encoding="utf-8")
    return path


def _add_bookings(target: str | Path, n: int) -> list[str]:
    today = business_date(datetime.now(UTC), parse_config({}).site.zone)
    ids = [new_booking_id() for _ in range(n)]
    db = open_database(target)
    try:
        db.migrate()
        with db.transaction() as conn:
            for i, booking_id in enumerate(ids):
                repo.insert_booking(conn, Booking(booking_id, OFFICE, today, f"Warga {i}"))
    finally:
        db.close()
    return ids


def _counts(target: str | Path) -> tuple[int, int]:
    today = business_date(datetime.now(UTC), parse_config({}).site.zone)
    db = open_database(target)
    try:
        conn = db.connection()
        return repo.slots_used(conn, OFFICE, today), repo.slot_rows(conn, OFFICE, today)
    finally:
        db.close()


class Gate:
    """One ``kiosk run`` server process."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        kiosk_bin = Path(sys.executable).with_name("kiosk")
        with log.open("w") as sink:
            self.proc = subprocess.Popen(
                [str(kiosk_bin), "run", "--config", str(config)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.cookies: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def wait_ready(self, deadline: float) -> None:
        session = requests.Session()
        while True:
            try:
                if session.get(self.base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gate on port {self.port} did not start:\n{self.tail()}")
            time.sleep(0.2)
        token = session.get(self.base + "/api/csrf", timeout=10).json()["csrf_token"]
        self.headers = {"X-CSRF-Token": token}
        self.cookies = session.cookies.get_dict()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


# -- the run -----------------------------------------------------------------------------------
def run(
    *,
    scans: int = 500,
    gates: int = 3,
    cap: int = 300,
    backend: str = "postgresql",
    database_url: str | None = None,
) -> LoadResult:
    """Start the database and the gates, fire ``scans`` at once, check, stop everything.

    ``database_url``: use this (empty) PostgreSQL database instead of starting a server.
    """
    result = LoadResult(backend, gates, scans, cap)
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-load-"))
    server = None
    started: list[Gate] = []
    try:
        target: str | Path
        if database_url:
            target = database_url
        elif backend == "postgresql":
            from tests.pg import TemporaryServer

            server = TemporaryServer().start()
            target = server.create_database("kiosk_load")
        else:
            target = workdir / "shared.db"
        codes = _add_bookings(target, scans)
        for g in range(gates):
            port = _free_port()
            config = _write_gate(workdir / f"gate-{g}", g, port, cap, target)
            started.append(Gate(config, port, workdir / f"gate-{g}.log"))
        deadline = time.monotonic() + START_TIMEOUT_S
        for gate in started:
            gate.wait_ready(deadline)
        _fire(started, codes, result)
        result.used, result.slot_rows = _counts(target)
    finally:
        for gate in started:
            if gate.stop() != 0:
                result.failures.append(f"gate {gate.port} exit {gate.proc.returncode}")
            text = gate.log.read_text(errors="replace") if gate.log.exists() else ""
            if "Traceback" in text:
                result.failures.append(f"gate {gate.port} logged a traceback:\n{gate.tail(40)}")
        if server is not None:
            server.remove()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _fire(gates: list[Gate], codes: list[str], result: LoadResult) -> None:
    ready = threading.Barrier(len(codes) + 1)
    lock = threading.Lock()
    t0 = [time.perf_counter()]

    def one(i: int) -> None:
        gate = gates[i % len(gates)]
        session = requests.Session()
        session.cookies.update(gate.cookies)
        body = {"qr": codes[i], "temperature_c": 36.6}
        status, decision = 0, "lost"
        try:
            ready.wait(60)
            started = time.perf_counter()
            try:
                res = session.post(
                    gate.base + "/api/sim/present",
                    json=body,
                    headers=gate.headers,
                    timeout=REQUEST_TIMEOUT_S,
                )
                status = res.status_code
                decision = res.json().get("code", f"http-{status}") if status < 500 else "5xx"
            except (requests.RequestException, ValueError) as exc:
                with lock:
                    result.failures.append(f"scan {i}: {exc!r}")
            done = time.perf_counter()
            elapsed = (done - started) * 1000
            with lock:
                result.answered_at.append((i % len(gates), done - t0[0]))
                result.statuses[status] += 1
                result.decisions[decision] += 1
                result.per_gate[i % len(gates)] += 1 if status == 200 else 0
                result.latencies_ms.append(elapsed)
        finally:
            session.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(codes))]
    for t in threads:
        t.start()
    t0[0] = time.perf_counter()
    ready.wait(60)
    for t in threads:
        t.join(REQUEST_TIMEOUT_S + 30)
    result.wall_s = time.perf_counter() - t0[0]
    result.per_gate = +result.per_gate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=500)
    parser.add_argument("--gates", type=int, default=3)
    parser.add_argument("--cap", type=int, default=300)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--database-url", help="An empty PostgreSQL database to use instead of a fresh server."
    )
    parser.add_argument("--json", action="store_true", help="Print the summary as JSON only.")
    args = parser.parse_args(argv)
    result = run(
        scans=args.scans,
        gates=args.gates,
        cap=args.cap,
        backend=args.backend,
        database_url=args.database_url,
    )
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        lat = summary["latency_ms"]
        print(
            f"{args.backend}: {args.scans} scans at once on {args.gates} gates (cap {args.cap}) "
            f"in {summary['wall_s']} s ({summary['scans_per_s']} scans/s)"
        )
        print(f"  HTTP statuses: {summary['statuses']}   5xx/lost: {summary['server_errors']}")
        print(f"  decisions: {summary['decisions']}   per gate: {summary['per_gate']}")
        print(f"  counter {summary['counter_used']}, slot rows {summary['slot_rows']}")
        print(
            f"  latency ms (send → full answer, queueing included): p50 {lat['p50']}  "
            f"p95 {lat['p95']}  max {lat['max']}  mean {lat['mean']}  min {lat['min']}"
        )
        print(f"  each gate's pace, ms per scan under full load: {summary['service_ms_per_scan']}")
    problems = result.problems()
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
