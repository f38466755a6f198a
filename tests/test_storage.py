"""Storage: durability settings, migrations, append-only entries, the cap constraint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kiosk.errors import ConstraintError, StorageError
from kiosk.storage import Database, Entry, open_database
from kiosk.storage import repository as repo
from kiosk.storage.database import migration_scripts

DAY = date(2026, 11, 23)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """Each storage rule holds on both backends (PostgreSQL: a real server, fresh database)."""
    if request.param == "postgresql":
        database = open_database(request.getfixturevalue("pg_url"))
    else:
        database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


def entry(**kw: object) -> Entry:
    base = {
        "ts": datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
        "business_date": DAY,
        "office_id": "O",
        "gate_id": "g1",
        "kind": "walkin",
        "outcome": "admitted",
        "reason": "walkin",
        "uses_slot": True,
    }
    return Entry(**{**base, **kw})  # type: ignore[arg-type]


def test_pragmas(sqlite_db: Database) -> None:
    conn = sqlite_db.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrations_are_idempotent(db: Database) -> None:
    assert db.migrate() == []
    assert db.schema_version() == max(v for v, _, _ in migration_scripts())


def test_entries_are_append_only(db: Database) -> None:
    with db.transaction() as conn:
        entry_id = repo.insert_entry(conn, entry())
    with pytest.raises(ConstraintError, match="append-only"), db.transaction() as conn:
        conn.execute("UPDATE entries SET outcome = 'denied' WHERE id = ?", (entry_id,))


def test_cap_counter_is_conditional_and_checked(db: Database) -> None:
    with db.transaction() as conn:
        assert [repo.take_slot(conn, "O", DAY, 2) for _ in range(3)] == [1, 2, None]
    with pytest.raises(ConstraintError, match="CHECK"), db.transaction() as conn:
        conn.execute("UPDATE day_counters SET used = cap + 1")
    assert repo.slots_used(db.connection(), "O", DAY) == 2


def test_lowering_the_cap_never_goes_below_used(db: Database) -> None:
    with db.transaction() as conn:
        for _ in range(5):
            repo.take_slot(conn, "O", DAY, 10)
        assert repo.take_slot(conn, "O", DAY, 3) is None
    assert repo.slots_used(db.connection(), "O", DAY) == 5


def test_one_slot_per_booking_per_day(db: Database) -> None:
    with db.transaction() as conn:
        repo.insert_entry(conn, entry(kind="booking", booking_id="BK-1", reason="admitted"))
    with pytest.raises(ConstraintError), db.transaction() as conn:
        repo.insert_entry(conn, entry(kind="booking", booking_id="BK-1", reason="admitted"))


def test_slot_only_for_admissions(db: Database) -> None:
    with pytest.raises(ConstraintError), db.transaction() as conn:
        repo.insert_entry(conn, entry(outcome="denied", reason="cap_reached", uses_slot=True))


def test_missing_folder_is_an_actionable_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="kiosk init"):
        Database(tmp_path / "nope" / "k.db").connection()


def test_lock_held_too_long_becomes_storage_error(tmp_path: Path) -> None:
    holder = Database(tmp_path / "k.db")
    holder.migrate()
    waiter = Database(tmp_path / "k.db", busy_timeout_ms=200)
    with holder.transaction(), pytest.raises(StorageError, match="busy"), waiter.transaction():
        pass
    holder.close()
    waiter.close()


def test_disk_full_is_a_clean_cannot_record(make_kiosk) -> None:  # type: ignore[no-untyped-def]
    """Full disk (simulated with max_page_count): a clean refer, nothing half-written."""
    kiosk = make_kiosk()
    kiosk.simulator.set_body_temperature(36.6)
    conn = kiosk.db.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    results = [kiosk.gate.admit_walkin("ani") for _ in range(200)]
    failed = [r for r in results if r.decision.reason.value == "cannot_record"]
    assert failed, "the database never filled up"
    assert all(r.entry_id is None and r.decision.outcome.value == "refer" for r in failed)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    day = results[0].business_date
    office = kiosk.config.site.office_id
    assert repo.slots_used(conn, office, day) == repo.slot_rows(conn, office, day)


def test_storage_failure_during_scan_is_cannot_record(make_kiosk, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import threading

    kiosk = make_kiosk()
    folder = kiosk.config.data_dir
    kiosk.db.close()
    shutil.move(folder, tmp_path / "moved")
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(kiosk.gate.scan("BK-AAAA1111")))
    worker.start()
    worker.join()
    assert out[0].decision.reason.value == "cannot_record"  # type: ignore[attr-defined]
