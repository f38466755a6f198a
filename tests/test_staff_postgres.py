"""Staff attendance storage on PostgreSQL: the same SQL as on SQLite (one gate's registry)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pytest

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.faces.registry import FaceRegistry
from kiosk.storage import staff as store
from kiosk.storage.postgres import PostgresDatabase


@pytest.fixture
def registry(pg_url: str, tmp_path: Any) -> Iterator[FaceRegistry]:
    config = load_config(init_data_dir(tmp_path / "d"))
    db = PostgresDatabase(pg_url)
    db.migrate()
    yield FaceRegistry(config, db)
    db.close()


def test_encodings_marks_roster_and_erasure_on_postgresql(registry: FaceRegistry) -> None:
    db = registry.db
    cipher = registry.cipher(create=True)
    encoding = np.random.default_rng(2).normal(size=128) * 0.1
    with db.transaction() as conn:
        staff_id = store.add_staff(conn, "Ani")
        store.add_encoding(conn, staff_id, cipher.seal(encoding, staff_id))
        store.record_consent(conn, staff_id, "admin")
        ts = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
        store.add_mark(
            conn,
            store.AttendanceMark(
                staff_id,
                ts,
                date(2026, 11, 23),
                "gate-1",
                "in",
                "face",
                "staff",
                "motion,skin",
                0.31,
            ),
        )
        assert store.add_roster(conn, [(date(2026, 11, 23), staff_id)]) == 1
        assert store.add_roster(conn, [(date(2026, 11, 23), staff_id)]) == 0  # kept, not doubled
        # Shift times (migration 0009): a night shift, then corrected by a re-import.
        assert store.add_roster(conn, [(date(2026, 11, 24), staff_id, 22 * 60, 6 * 60)]) == 1
        assert store.add_roster(conn, [(date(2026, 11, 24), staff_id, 21 * 60, 5 * 60)]) == 0
        [shift] = store.shifts_between(conn, date(2026, 11, 23), date(2026, 11, 25))
        assert (shift.day, shift.label(), shift.crosses_midnight) == (
            date(2026, 11, 24),
            "21:00-05:00",
            True,
        )
    gallery = registry.gallery(max_age_s=0)
    assert gallery.people == 1
    assert gallery.match(encoding, tolerance=0.5, margin=0.05).staff_id == staff_id
    with db.transaction(write=False) as conn:
        [mark] = store.marks_between(conn, date(2026, 11, 23), date(2026, 11, 23))
        assert (mark.kind, mark.distance, mark.ts) == ("in", 0.31, ts)
        assert store.counted_marks_since(conn, staff_id, date(2026, 11, 22)) == [ts]
    assert registry.withdraw_consent(staff_id, actor="admin") == (1, True)
    assert registry.gallery().people == 0
    assert registry.delete(staff_id, actor="admin") == (0, True)
    assert registry.list_staff() == []
