"""Acknowledged admissions survive a SIGKILL at any moment, and the file stays sound.

A child process admits walk-ins in a loop and writes ``A <entry_id>`` to a
pipe after each ``admit_walkin`` returns (the call returns only after
COMMIT). It is SIGKILLed at a random moment, usually 5–60 ms after its first
acknowledgement, sometimes at a random moment after the fork (during start-up
and migration checks). After every kill a fresh connection checks:

* ``PRAGMA integrity_check`` is ``ok``;
* every acknowledged entry id is in ``entries`` as an admitted walk-in using a slot;
* at most one committed entry per kill is unacknowledged (killed between
  COMMIT and the acknowledgement), never a phantom or a lost one;
* the day counters equal the entry rows using a slot, and every walk-in has its
  audit row (they are written in the same transaction).

Speed: forking is cheap but the pytest process may have threads from other
tests, so it must not fork. It spawns one clean *driver* process instead; the
driver imports and warms up the kiosk once, checks before every fork that it
has no other thread (and it holds no open database connection), and forks the
short-lived children itself (~40 ms from fork to first acknowledgement).
Set ``KIOSK_CRASH_SEED`` to replay a failing run's kill schedule.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import select
import signal
import sqlite3
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.reasons import Reason
from kiosk.services.runtime import Kiosk

pytestmark = pytest.mark.slow

ITERATIONS = 200
SEED_ENV = "KIOSK_CRASH_SEED"
OVERRIDES: dict[str, dict[str, Any]] = {
    "admission": {"daily_cap": 100_000},
    "hardware": {"relay_open_seconds": 0.5},
}
FIRST_ACK_TIMEOUT_S = 10.0
CHILD_MAX_SECONDS = 20.0  # a child nobody kills gives up (reported as a failure)
DRIVER_TIMEOUT_S = 240.0


# -- the child: admit forever, acknowledge each returned call ---------------
def _child(config: Config, ack_fd: int) -> None:
    """Runs in the forked child; never returns."""
    code = 0
    try:
        kiosk = Kiosk.start(config)
        assert kiosk.simulator is not None
        kiosk.simulator.set_body_temperature(36.6)
        give_up = time.monotonic() + CHILD_MAX_SECONDS
        while time.monotonic() < give_up:
            result = kiosk.gate.admit_walkin("officer-crash")
            d = result.decision
            if d.reason is not Reason.WALKIN or not d.uses_slot or result.entry_id is None:
                os.write(ack_fd, f"E unexpected result {d!r} entry {result.entry_id}\n".encode())
                code = 2
                break
            os.write(ack_fd, f"A {result.entry_id}\n".encode())
        else:
            code = 4
    except BaseException:
        message = repr(traceback.format_exc())[:3000]
        os.write(ack_fd, f"E {message}\n".encode())
        code = 3
    os._exit(code)


# -- the driver: fork, kill, check (runs in a clean spawned process) --------
def _snapshot(db_path: Path) -> dict[str, Any]:
    """A fresh connection's view of the file, as after a reboot."""
    conn = sqlite3.connect(db_path)

    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    try:
        return {
            "integrity": [r[0] for r in conn.execute("PRAGMA integrity_check")],
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
    finally:
        conn.close()


def _one_iteration(config: Config, rng: random.Random) -> dict[str, Any]:
    from_start = rng.random() < 0.15
    delay = rng.uniform(0.0, 0.030) if from_start else rng.uniform(0.005, 0.060)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is SIGKILLed or _exits
        os.close(read_fd)
        _child(config, write_fd)
    os.close(write_fd)
    buf = b""
    kill_at = started + delay if from_start else None
    eof = False
    while not eof:
        now = time.monotonic()
        if kill_at is not None and now >= kill_at:
            break
        if kill_at is None and now - started > FIRST_ACK_TIMEOUT_S:
            break
        timeout = (kill_at if kill_at is not None else started + FIRST_ACK_TIMEOUT_S) - now
        ready, _, _ = select.select([read_fd], [], [], max(0.0, timeout))
        if ready:
            chunk = os.read(read_fd, 65536)
            eof = not chunk
            buf += chunk
            if kill_at is None and b"\n" in buf:
                kill_at = time.monotonic() + delay
    os.kill(pid, signal.SIGKILL)  # a zombie can still be signalled: no race with its exit
    while chunk := os.read(read_fd, 65536):  # what it wrote before dying
        buf += chunk
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    # A pipe write of a short line is atomic: a line is either whole or absent.
    lines = buf.decode().splitlines()
    return {
        "from_start": from_start,
        "killed": os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
        "status": status,
        "acked": [int(line[2:]) for line in lines if line.startswith("A ")],
        "errors": [line for line in lines if not line.startswith("A ")],
        "gave_ack_in_time": kill_at is not None,
    }


def _driver(config_path: str, iterations: int, seed: int, out: Any) -> None:
    try:
        config = load_config(config_path).replace(**OVERRIDES)
        # Warm up once (first-use imports and caches), so each child starts in milliseconds.
        Kiosk.start(config).close()
        rng = random.Random(seed)
        reports = []
        before = _snapshot(config.database_path)
        for _ in range(iterations):
            # Fork only from a process with one thread and no open SQLite handle.
            if threading.active_count() != 1:
                raise RuntimeError(f"driver has {threading.active_count()} threads")
            report = _one_iteration(config, rng)
            after = _snapshot(config.database_path)
            ids_before, ids_after = before.pop("slot_entries"), after.pop("slot_entries")
            report["missing"] = sorted(set(report["acked"]) - ids_after)[:10]
            report["lost"] = sorted(ids_before - ids_after)[:10]
            report["before"], report["after"] = before, after
            reports.append(report)
            before = {**after, "slot_entries": ids_after}
        out.send(("ok", reports))
    except BaseException:
        out.send(("error", traceback.format_exc()))
    out.close()


def _check(i: int, report: dict[str, Any], seen: set[int]) -> list[str]:
    """Everything wrong with one iteration, as messages."""
    before, after = report["before"], report["after"]
    acked = report["acked"]
    problems = []
    if report["errors"]:
        problems.append(f"child reported {report['errors']}")
    if not report["killed"]:
        problems.append(f"child was not killed by us (wait status {report['status']})")
    if not report["from_start"] and not report["gave_ack_in_time"]:
        problems.append(f"child gave no acknowledgement within {FIRST_ACK_TIMEOUT_S} s")
    if after["integrity"] != ["ok"]:
        problems.append(f"integrity_check: {after['integrity'][:5]}")
    if report["missing"]:
        problems.append(f"acknowledged entries lost or changed: {report['missing']}")
    if reused := sorted(set(acked) & seen):
        problems.append(f"entry ids acknowledged twice: {reused[:10]}")
    if report["lost"]:
        problems.append(f"entries committed earlier disappeared: {report['lost']}")
    unacked = after["entries"] - before["entries"] - len(acked)
    if unacked not in (0, 1):
        problems.append(f"{unacked} committed entries without acknowledgement (expected 0 or 1)")
    if not after["counter"] == after["slot_rows"] == after["audit"] == after["entries"]:
        problems.append(
            f"counter {after['counter']}, slot rows {after['slot_rows']}, "
            f"audit rows {after['audit']}, entries {after['entries']} differ"
        )
    return [f"iteration {i}: {p}" for p in problems]


def run_driver(driver_fn: Any, target: str, seed: int, *, join_s: float = 30) -> Any:
    """Run ``driver_fn(target, ITERATIONS, seed, pipe)`` in a spawned process; its payload."""
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    driver = ctx.Process(target=driver_fn, args=(target, ITERATIONS, seed, send), daemon=True)
    driver.start()
    send.close()
    try:
        if not recv.poll(DRIVER_TIMEOUT_S):
            pytest.fail(f"driver gave no report within {DRIVER_TIMEOUT_S} s (seed {seed})")
        status, payload = recv.recv()
    finally:
        driver.join(join_s)
        if driver.is_alive():
            driver.kill()
            driver.join()
    assert status == "ok", f"driver failed (seed {seed}, set {SEED_ENV} to replay):\n{payload}"
    return payload


def assert_reports_hold(reports: list[dict[str, Any]], seed: int) -> set[int]:
    """Every iteration's checks (:func:`_check`) pass, over all ITERATIONS; the acked ids."""
    assert len(reports) == ITERATIONS
    problems: list[str] = []
    seen: set[int] = set()
    for i, report in enumerate(reports):
        problems += _check(i, report, seen)
        seen.update(report["acked"])
    assert problems == [], f"seed {seed} ({SEED_ENV} replays it):\n" + "\n".join(problems[:30])
    return seen


def test_acknowledged_admissions_survive_sigkill(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    seed = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    reports: list[dict[str, Any]] = run_driver(_driver, str(config_path), seed)
    assert_reports_hold(reports, seed)
