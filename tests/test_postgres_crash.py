"""PostgreSQL: acknowledged admissions survive SIGKILL of the gate, and of the server too.

The mirror of ``test_crash_durability.py`` (SQLite) on a real PostgreSQL
server: a forked child admits walk-ins and acknowledges each returned call
on a pipe; it is SIGKILLed at a random moment (sometimes during start-up and
migration checks). Every 20th iteration the *server* is SIGKILLed at the
same instant and restarted (WAL crash recovery). After every kill a fresh
connection checks that every acknowledged entry is stored, that at most one
committed entry per kill is unacknowledged, that nothing committed earlier
disappeared, and that the day counter, the slot-using entries and the
walk-in audit rows agree.

The driver runs in a spawned process with its own server (it kills and
restarts it) and forks the children itself; it holds no database connection
and no extra thread when it forks.
"""

from __future__ import annotations

import os
import random
import select
import signal
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import psycopg
import pytest

from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk
from tests.conftest import FAST_MEASUREMENT
from tests.pg import TemporaryServer
from tests.test_crash_durability import _child, assert_reports_hold, run_driver

pytestmark = pytest.mark.slow

ITERATIONS = 200
SERVER_KILL_EVERY = 20
SEED_ENV = "KIOSK_CRASH_SEED"
OVERRIDES: dict[str, dict[str, Any]] = {
    "admission": {"daily_cap": 100_000},
    "hardware": {"relay_open_seconds": 0.5},
    # A quick measurement: more admissions (and commits to kill) per child.
    "temperature": FAST_MEASUREMENT,
}
FIRST_ACK_TIMEOUT_S = 15.0
DRIVER_TIMEOUT_S = 420.0


def _snapshot(url: str) -> dict[str, Any]:
    """A fresh connection's view of the database, as after a reboot."""
    with psycopg.connect(url, connect_timeout=10) as conn:

        def one(sql: str) -> int:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            assert row is not None
            return int(row[0])

        tables = one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_name IN ('entries', 'day_counters', 'audit_log', 'schema_migrations')"
        )
        return {
            "integrity": ["ok"] if tables == 4 else [f"{tables} of 4 core tables"],
            "slot_entries": {
                r[0]
                for r in conn.execute(
                    "SELECT id FROM entries WHERE kind = 'walkin' AND outcome = 'admitted' "
                    "AND uses_slot = 1"
                )
            },
            "entries": one("SELECT COUNT(*) FROM entries"),
            "counter": one("SELECT COALESCE(SUM(used), 0) FROM day_counters"),
            "slot_rows": one("SELECT COUNT(*) FROM entries WHERE uses_slot = 1"),
            "audit": one("SELECT COUNT(*) FROM audit_log WHERE action = 'admit_walkin'"),
        }


def _one_iteration(
    config: Config, rng: random.Random, server: TemporaryServer | None
) -> dict[str, Any]:
    """Fork a child, kill it (and the server when given) at a random moment."""
    from_start = rng.random() < 0.15
    delay = rng.uniform(0.0, 0.060) if from_start else rng.uniform(0.005, 0.060)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is SIGKILLed or _exits
        os.close(read_fd)
        _child(config, write_fd)
    os.close(write_fd)
    buf = b""
    kill_at = started + delay if from_start else None
    while True:
        now = time.monotonic()
        if kill_at is not None and now >= kill_at:
            break
        if kill_at is None and now - started > FIRST_ACK_TIMEOUT_S:
            break
        timeout = (kill_at if kill_at is not None else started + FIRST_ACK_TIMEOUT_S) - now
        ready, _, _ = select.select([read_fd], [], [], max(0.0, timeout))
        if ready:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            buf += chunk
            if kill_at is None and b"\n" in buf:
                kill_at = time.monotonic() + delay
    os.kill(pid, signal.SIGKILL)
    if server is not None:
        server.kill()  # at the same instant, maybe in the middle of the child's last commit
    while chunk := os.read(read_fd, 65536):
        buf += chunk
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if server is not None:
        server.start()  # crash recovery
    lines = buf.decode().splitlines()
    errors = [line for line in lines if not line.startswith("A ")]
    return {
        "from_start": from_start,
        "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
        "status": status,
        "acked": [int(line[2:]) for line in lines if line.startswith("A ")],
        "errors": errors,
        "gave_ack_in_time": kill_at is not None,
        "server_killed": server is not None,
    }


def _driver(data_dir: str, iterations: int, seed: int, out: Any) -> None:
    server = None
    try:
        server = TemporaryServer().start()
        url = server.create_database("kiosk_crash")
        config_path = init_data_dir(Path(data_dir))
        config = load_config(config_path).replace(paths={"database_url": url}, **OVERRIDES)
        Kiosk.start(config).close()  # migrate and warm up once
        rng = random.Random(seed)
        reports = []
        before = _snapshot(url)
        for i in range(iterations):
            if threading.active_count() != 1:
                raise RuntimeError(f"driver has {threading.active_count()} threads")
            kill_server = (i + 1) % SERVER_KILL_EVERY == 0
            report = _one_iteration(config, rng, server if kill_server else None)
            after = _snapshot(url)
            ids_before, ids_after = before.pop("slot_entries"), after.pop("slot_entries")
            report["missing"] = sorted(set(report["acked"]) - ids_after)[:10]
            report["lost"] = sorted(ids_before - ids_after)[:10]
            report["before"], report["after"] = before, after
            reports.append(report)
            before = {**after, "slot_entries": ids_after}
        # Finally the kiosk starts on the database and admits.
        kiosk = Kiosk.start(config)
        try:
            assert kiosk.simulator is not None
            kiosk.simulator.set_body_temperature(36.6)
            final = kiosk.gate.admit_walkin("officer-after").decision.reason.value
            integrity = kiosk.db.integrity_ok()
        finally:
            kiosk.close()
        out.send(("ok", (reports, final, integrity, _snapshot(url)["entries"])))
    except BaseException:
        out.send(("error", traceback.format_exc() + (server.log_tail() if server else "")))
    finally:
        if server is not None:
            server.remove()
    out.close()


def test_acknowledged_admissions_survive_sigkill_on_postgresql(
    tmp_path: Path, pg_server: TemporaryServer
) -> None:
    del pg_server  # only for the skip/fail rule: the driver runs (and kills) its own server
    seed = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    payload = run_driver(_driver, str(tmp_path / "data"), seed, join_s=60)
    reports, final, integrity, entries = payload
    seen = assert_reports_hold(reports, seed)

    mid_loop = sum(1 for r in reports if r["killed"] and r["acked"])
    assert mid_loop >= ITERATIONS // 2, f"only {mid_loop} kills after an acknowledgement"
    assert sum(r["server_killed"] for r in reports) == ITERATIONS // SERVER_KILL_EVERY
    assert final == "walkin"
    assert integrity
    assert len(seen) < entries <= len(seen) + ITERATIONS + 1
