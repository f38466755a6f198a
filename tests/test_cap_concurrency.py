"""The daily cap under real concurrency: many processes and threads, one SQLite file.

``GateService._record`` reads the counter, decides, takes a slot with one
conditional UPDATE and inserts the entry in one ``BEGIN IMMEDIATE``
transaction. These tests hammer that from 8 processes × 25 threads (each with
its own connection, so 200 connections contend for the write lock at once) and
check that the cap holds exactly, that the counter and the entry rows agree,
and that lock contention never reaches a caller: not as an exception and not
as a ``cannot_record`` refusal.

The workers are started with the ``spawn`` context (never ``fork`` from the
threaded pytest process); every failure in a worker, including log records at
WARNING or above, is sent back to the parent, which asserts there were none.
"""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.clock import business_date
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking, open_database
from kiosk.storage import repository as repo

pytestmark = pytest.mark.slow

# 09:00 WIB on a Monday: open, and far from the business-day boundary.
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CAP = 50
PROCESSES = 8
THREADS = 25
WAIT_S = 120.0  # generous upper bound for any one wait; a hang fails instead of blocking
# Short relay pulses: every admission starts a non-daemon timer thread for this long.
HARDWARE = {"relay_open_seconds": 0.5}


def fixed_clock() -> datetime:
    return NOW


class _Collect(logging.Handler):
    """Collects log records at WARNING and above (e.g. "cannot record a gate decision")."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"log {record.levelname} {record.name}: {record.getMessage()}")


def _start(config_path: Path, **sections: Any) -> Kiosk:
    config = load_config(config_path).replace(hardware=HARDWARE, **sections)
    kiosk = Kiosk.start(config)
    kiosk.gate.clock = fixed_clock
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    return kiosk


def _run_together(
    n_threads: int, attempt: Callable[[int], tuple[Any, ...]], before_go: Callable[[], None]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Run ``attempt(i)`` in ``n_threads`` threads released at the same instant.

    Every thread first opens its database connection (via ``attempt(-1)``),
    then all wait at a barrier; ``before_go`` runs once they are all ready
    (e.g. a cross-process barrier), then one event releases them.
    """
    results: list[tuple[Any, ...]] = []
    errors: list[str] = []
    ready = threading.Barrier(n_threads + 1)
    go = threading.Event()
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            attempt(-1)
            ready.wait(WAIT_S)
            if not go.wait(WAIT_S):
                raise TimeoutError("never released")
            result = attempt(i)
            with lock:
                results.append(result)
        except BaseException as exc:
            with lock:
                errors.append(f"thread {i}: {exc!r}\n{traceback.format_exc()}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    try:
        ready.wait(WAIT_S)
        before_go()
    except BaseException as exc:
        errors.append(f"start line: {exc!r}\n{traceback.format_exc()}")
        ready.abort()
    finally:
        go.set()
    for t in threads:
        t.join(WAIT_S)
        if t.is_alive():
            errors.append(f"{t.name} still running after {WAIT_S} s")
    return results, errors


def _walkin_worker(config_path: str, worker: int, barrier: Any, out: Any) -> None:
    """One gate process: ``THREADS`` walk-in attempts released together with the other gates."""
    handler = _Collect()  # collects only while the attempts run (start-up may warn)
    results: list[tuple[Any, ...]] = []
    errors: list[str] = []
    try:
        kiosk = _start(Path(config_path), admission={"daily_cap": CAP})
        logging.getLogger().addHandler(handler)
        try:

            def attempt(i: int) -> tuple[Any, ...]:
                if i < 0:
                    kiosk.db.connection()  # open this thread's connection before the start
                    return ()
                r = kiosk.gate.admit_walkin(f"officer-{worker}")
                d = r.decision
                return (d.outcome.value, d.reason.value, d.uses_slot, r.entry_id)

            results, errors = _run_together(THREADS, attempt, lambda: barrier.wait(WAIT_S))
        finally:
            kiosk.close()
    except BaseException as exc:
        errors.append(f"worker {worker}: {exc!r}\n{traceback.format_exc()}")
    out.send((results, errors + handler.messages))
    out.close()


def _counts(target: Path | str, day: date, office_id: str) -> dict[str, int]:
    """A fresh connection's view (a SQLite file, or a PostgreSQL URL)."""
    if isinstance(target, str):
        db = open_database(target)
        try:
            conn = db.connection()
            return {
                "integrity_ok": db.integrity_ok(),
                "used": repo.slots_used(conn, office_id, day),
                "slot_rows": repo.slot_rows(conn, office_id, day),
                "entries": conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0],
                "audit": conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0],
            }
        finally:
            db.close()
    conn = sqlite3.connect(target)
    conn.row_factory = sqlite3.Row
    try:
        return {
            "integrity_ok": conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok",
            "used": repo.slots_used(conn, office_id, day),
            "slot_rows": repo.slot_rows(conn, office_id, day),
            "entries": conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0],
            "audit": conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0],
        }
    finally:
        conn.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return init_data_dir(tmp_path / "data")


def test_cap_holds_across_processes_and_threads(data_dir: Path) -> None:
    config = load_config(data_dir)
    day = business_date(NOW, config.site.zone)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    pipes = [ctx.Pipe(duplex=False) for _ in range(PROCESSES)]
    procs = [
        ctx.Process(target=_walkin_worker, args=(str(data_dir), n, barrier, send), daemon=True)
        for n, (_, send) in enumerate(pipes)
    ]
    for p in procs:
        p.start()
    for _, send in pipes:
        send.close()  # the parent only reads; EOF if a worker dies without reporting

    results: list[tuple[Any, ...]] = []
    errors: list[str] = []
    for n, (recv, _) in enumerate(pipes):
        try:
            if not recv.poll(WAIT_S):
                errors.append(f"worker {n}: no report within {WAIT_S} s")
                continue
            got, errs = recv.recv()
        except EOFError:
            errors.append(f"worker {n}: died without reporting")
            continue
        results += got
        errors += errs
    for p in procs:
        p.join(WAIT_S)
        if p.is_alive():
            p.kill()
            errors.append(f"{p.name} did not exit")
        elif p.exitcode != 0:
            errors.append(f"{p.name} exit code {p.exitcode}")

    assert errors == [], "\n".join(errors)
    total = PROCESSES * THREADS
    assert len(results) == total
    by_reason = Counter((outcome, reason, uses_slot) for outcome, reason, uses_slot, _ in results)
    assert by_reason == {
        ("admitted", "walkin", True): CAP,
        ("denied", "cap_reached", False): total - CAP,
    }
    entry_ids = [entry_id for *_, entry_id in results]
    assert None not in entry_ids
    assert len(set(entry_ids)) == total

    counts = _counts(config.database_path, day, config.site.office_id)
    assert counts == {
        "integrity_ok": True,
        "used": CAP,
        "slot_rows": CAP,
        "entries": total,
        "audit": total,  # every walk-in attempt is audited in its own transaction
    }


@pytest.mark.parametrize(
    ("admission", "others"),
    [
        pytest.param(
            {"reentry_min_minutes": 0, "reentries_per_day": 100},
            ("admitted", "readmitted", False),
            id="reentry-allowed",
        ),
        pytest.param({}, ("denied", "reentry_too_soon", False), id="shared-code-refused"),
        pytest.param(
            {"reentry_window_minutes": 0}, ("denied", "booking_used", False), id="reentry-off"
        ),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_same_booking_scanned_at_once_uses_one_slot(
    data_dir: Path,
    admission: dict[str, Any],
    others: tuple[str, str, bool],
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """20 threads on two gates scan the same booking at once: exactly one slot is used.

    On PostgreSQL the gates really write concurrently: the losers of the race on
    the one-slot-per-booking index are rolled back and retried, never refused.
    """
    n_threads = 20
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    paths = {"paths": {"database_url": url}} if url else {}
    config = load_config(data_dir).replace(**paths)
    day = business_date(NOW, config.site.zone)
    booking_id = "BK-SAMEONE1"
    gates = [
        _start(data_dir, admission={"daily_cap": CAP, **admission}, site={"gate_id": gate}, **paths)
        for gate in ("gate-1", "gate-2")
    ]
    try:
        with gates[0].db.transaction() as conn:
            repo.insert_booking(
                conn, Booking(booking_id, config.site.office_id, day, "Siti Rahayu", "KTP-el")
            )

        def attempt(i: int) -> tuple[Any, ...]:
            if i < 0:  # open this thread's connections before the start
                for kiosk in gates:
                    kiosk.db.connection()
                return ()
            r = gates[i % 2].gate.scan(booking_id)
            d = r.decision
            return (d.outcome.value, d.reason.value, d.uses_slot, r.entry_id)

        handler = _Collect()
        logging.getLogger().addHandler(handler)
        try:
            results, errors = _run_together(n_threads, attempt, lambda: None)
        finally:
            logging.getLogger().removeHandler(handler)
    finally:
        for kiosk in gates:
            kiosk.close()

    assert errors + handler.messages == [], "\n".join(errors + handler.messages)
    by_reason = Counter((outcome, reason, uses_slot) for outcome, reason, uses_slot, _ in results)
    assert by_reason == {("admitted", "admitted", True): 1, others: n_threads - 1}
    assert len({entry_id for *_, entry_id in results} - {None}) == n_threads

    counts = _counts(config.database_target, day, config.site.office_id)
    assert counts == {
        "integrity_ok": True,
        "used": 1,
        "slot_rows": 1,
        "entries": n_threads,
        "audit": 0,  # citizen scans are not officer actions
    }
