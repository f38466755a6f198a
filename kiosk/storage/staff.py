"""SQL for staff members, their sealed face encodings, attendance marks and the duty roster.

Face data is erased for real: the erasing transaction runs with SQLite's
``secure_delete`` on (deleted cells and freed pages are overwritten with zeros) and is followed
by a ``wal_checkpoint(TRUNCATE)``, so the ciphertext survives neither in the database file nor
in its write-ahead log (``tests/test_staff_privacy.py`` reads the raw bytes to prove it). Every
connection that writes here turns ``secure_delete`` on first, so page splits and moves never
leave stale copies of an encoding in free space either. On PostgreSQL the rows are deleted and
the table is vacuumed by the database's own autovacuum (documented, not enforced here).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kiosk.domain.attendance import Shift, hhmm, parse_hhmm
from kiosk.storage import repository as repo
from kiosk.storage.base import Connection
from kiosk.storage.database import utc_now_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Staff:
    id: int
    name: str
    active: bool
    consent_at: datetime | None
    consent_by: str | None
    has_pin: bool
    created_at: datetime
    encodings: int = 0

    @property
    def has_face_consent(self) -> bool:
        return self.consent_at is not None


@dataclass(frozen=True)
class SealedEncoding:
    id: int
    staff_id: int
    sealed: bytes
    created_at: datetime


@dataclass(frozen=True)
class AttendanceMark:
    staff_id: int
    ts: datetime
    business_date: date
    gate_id: str
    kind: str
    method: str
    reason: str
    checks: str = ""
    distance: float | None = None
    temp_estimated_c: float | None = None
    entry_id: int | None = None
    id: int | None = None


def secure_delete_on(conn: Any) -> None:
    """Overwrite deleted content with zeros on this SQLite connection (no-op elsewhere)."""
    if isinstance(conn, sqlite3.Connection):
        conn.execute("PRAGMA secure_delete = ON")


def checkpoint_wal(db: Any) -> bool:
    """Copy the WAL into the database file and truncate it; ``True`` when it completed.

    Fails (``False``) only while another connection is in the middle of reading; the next
    erase or the next start tries again.
    """
    conn = db.connection()
    if not isinstance(conn, sqlite3.Connection):
        return True
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        log.warning("WAL checkpoint after erasing face data is busy; it runs again later")
    return not busy


# -- staff ------------------------------------------------------------------------
_STAFF_COLUMNS = (
    "s.id, s.name, s.active, s.consent_at, s.consent_by, s.pin_hash, s.created_at, "
    "(SELECT COUNT(*) FROM staff_encodings e WHERE e.staff_id = s.id) AS encodings"
)


def _staff(row: Any) -> Staff:
    return Staff(
        id=int(row["id"]),
        name=row["name"],
        active=bool(row["active"]),
        consent_at=datetime.fromisoformat(row["consent_at"]) if row["consent_at"] else None,
        consent_by=row["consent_by"],
        has_pin=row["pin_hash"] is not None,
        created_at=datetime.fromisoformat(row["created_at"]),
        encodings=int(row["encodings"]),
    )


def add_staff(conn: Connection, name: str, *, now: datetime | None = None) -> int:
    row = conn.execute(
        "INSERT INTO staff (name, created_at) VALUES (?, ?) RETURNING id",
        (name, utc_now_text(now)),
    ).fetchone()
    return int(row[0])


def get_staff(conn: Connection, staff_id: int) -> Staff | None:
    row = conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff s WHERE s.id = ?", (staff_id,))
    found = row.fetchone()
    return _staff(found) if found else None


def staff_by_name(conn: Connection, name: str) -> Staff | None:
    row = conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff s WHERE s.name = ?", (name,))
    found = row.fetchone()
    return _staff(found) if found else None


def list_staff(conn: Connection) -> list[Staff]:
    rows = conn.execute(f"SELECT {_STAFF_COLUMNS} FROM staff s ORDER BY s.name, s.id").fetchall()
    return [_staff(r) for r in rows]


def staff_names(conn: Connection) -> dict[int, str]:
    return {int(r[0]): r[1] for r in conn.execute("SELECT id, name FROM staff").fetchall()}


def record_consent(
    conn: Connection, staff_id: int, by: str, *, now: datetime | None = None
) -> None:
    conn.execute(
        "UPDATE staff SET consent_at = ?, consent_by = ? WHERE id = ?",
        (utc_now_text(now), by, staff_id),
    )


def pin_hash(conn: Connection, staff_id: int) -> str | None:
    row = conn.execute("SELECT pin_hash FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return row[0] if row else None


def set_pin_hash(conn: Connection, staff_id: int, value: str | None) -> None:
    secure_delete_on(conn)
    conn.execute("UPDATE staff SET pin_hash = ? WHERE id = ?", (value, staff_id))


# -- encodings --------------------------------------------------------------------
def add_encoding(
    conn: Connection, staff_id: int, sealed: bytes, *, now: datetime | None = None
) -> int:
    secure_delete_on(conn)
    row = conn.execute(
        "INSERT INTO staff_encodings (staff_id, sealed, created_at) VALUES (?, ?, ?) RETURNING id",
        (staff_id, sealed, utc_now_text(now)),
    ).fetchone()
    return int(row[0])


def encoding_count(conn: Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM staff_encodings").fetchone()[0])


def gallery_signature(conn: Connection) -> tuple[int, int]:
    """Changes whenever the usable encodings change (ids are never reused)."""
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(e.id), 0) FROM staff_encodings e "
        "JOIN staff s ON s.id = e.staff_id "
        "WHERE s.active = 1 AND s.consent_at IS NOT NULL"
    ).fetchone()
    return int(row[0]), int(row[1])


def delete_encodings(conn: Connection, staff_id: int) -> None:
    """Within an enrolment that replaces the encodings (call :func:`checkpoint_wal` after)."""
    secure_delete_on(conn)
    conn.execute("DELETE FROM staff_encodings WHERE staff_id = ?", (staff_id,))


def usable_encodings(conn: Connection) -> list[SealedEncoding]:
    """Every encoding of an active staff member whose consent is on record."""
    rows = conn.execute(
        "SELECT e.id, e.staff_id, e.sealed, e.created_at FROM staff_encodings e "
        "JOIN staff s ON s.id = e.staff_id "
        "WHERE s.active = 1 AND s.consent_at IS NOT NULL ORDER BY e.staff_id, e.id"
    ).fetchall()
    return [
        SealedEncoding(int(r[0]), int(r[1]), bytes(r[2]), datetime.fromisoformat(r[3]))
        for r in rows
    ]


def encodings_of(conn: Connection, staff_id: int) -> list[SealedEncoding]:
    rows = conn.execute(
        "SELECT id, staff_id, sealed, created_at FROM staff_encodings WHERE staff_id = ? "
        "ORDER BY id",
        (staff_id,),
    ).fetchall()
    return [
        SealedEncoding(int(r[0]), int(r[1]), bytes(r[2]), datetime.fromisoformat(r[3]))
        for r in rows
    ]


def erase_face_data(
    db: Any, staff_id: int, *, actor: str, action: str, remove_staff: bool = False
) -> tuple[int, bool]:
    """Erase a staff member's encodings and consent (and, with ``remove_staff``, the member,
    their PIN, marks and roster rows) at once and for real; audited.

    Returns ``(encodings erased, WAL checkpoint completed)``.
    """
    with db.transaction() as conn:
        secure_delete_on(conn)
        count = int(
            conn.execute(
                "SELECT COUNT(*) FROM staff_encodings WHERE staff_id = ?", (staff_id,)
            ).fetchone()[0]
        )
        conn.execute("DELETE FROM staff_encodings WHERE staff_id = ?", (staff_id,))
        if remove_staff:
            conn.execute("DELETE FROM attendance_marks WHERE staff_id = ?", (staff_id,))
            conn.execute("DELETE FROM duty_roster WHERE staff_id = ?", (staff_id,))
            conn.execute("DELETE FROM staff WHERE id = ?", (staff_id,))
        else:
            conn.execute(
                "UPDATE staff SET consent_at = NULL, consent_by = NULL WHERE id = ?", (staff_id,)
            )
        repo.add_audit(
            conn, actor, action, subject=f"staff:{staff_id}", details=f"{count} encoding(s) erased"
        )
    return count, checkpoint_wal(db)


# -- attendance marks -------------------------------------------------------------
def add_mark(conn: Connection, mark: AttendanceMark) -> int:
    row = conn.execute(
        "INSERT INTO attendance_marks (staff_id, ts_utc, business_date, gate_id, kind, method, "
        "reason, checks, distance, temp_estimated_c, entry_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            mark.staff_id,
            utc_now_text(mark.ts),
            mark.business_date.isoformat(),
            mark.gate_id,
            mark.kind,
            mark.method,
            mark.reason,
            mark.checks,
            mark.distance,
            mark.temp_estimated_c,
            mark.entry_id,
        ),
    ).fetchone()
    return int(row[0])


def _mark(row: Any) -> AttendanceMark:
    return AttendanceMark(
        id=int(row["id"]),
        staff_id=int(row["staff_id"]),
        ts=datetime.fromisoformat(row["ts_utc"]),
        business_date=date.fromisoformat(row["business_date"]),
        gate_id=row["gate_id"],
        kind=row["kind"],
        method=row["method"],
        reason=row["reason"],
        checks=row["checks"],
        distance=row["distance"],
        temp_estimated_c=row["temp_estimated_c"],
        entry_id=row["entry_id"],
    )


def counted_marks_since(conn: Connection, staff_id: int, since: date) -> list[datetime]:
    """Instants of a staff member's clock-ins and clock-outs on business days ≥ ``since``."""
    rows = conn.execute(
        "SELECT ts_utc FROM attendance_marks WHERE staff_id = ? AND business_date >= ? "
        "AND kind IN ('in', 'out') ORDER BY ts_utc",
        (staff_id, since.isoformat()),
    ).fetchall()
    return [datetime.fromisoformat(r[0]) for r in rows]


def marks_between(conn: Connection, first: date, last: date) -> list[AttendanceMark]:
    rows = conn.execute(
        "SELECT * FROM attendance_marks WHERE business_date >= ? AND business_date <= ? "
        "ORDER BY ts_utc, id",
        (first.isoformat(), last.isoformat()),
    ).fetchall()
    return [_mark(r) for r in rows]


def marks_of(conn: Connection, staff_id: int, *, limit: int = 50) -> list[AttendanceMark]:
    rows = conn.execute(
        "SELECT * FROM attendance_marks WHERE staff_id = ? ORDER BY ts_utc DESC, id DESC LIMIT ?",
        (staff_id, limit),
    ).fetchall()
    return [_mark(r) for r in rows]


def count_marks(conn: Connection, staff_id: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM attendance_marks WHERE staff_id = ?", (staff_id,)
    ).fetchone()
    return int(row[0])


# -- duty roster ------------------------------------------------------------------
RosterRow = tuple[date, int] | tuple[date, int, int | None, int | None]
"""``(day, staff_id)`` for a whole-day duty, or with ``start_minute, end_minute`` a shift."""


def add_roster(conn: Connection, rows: Iterable[RosterRow]) -> int:
    """Add duty days; returns how many were new. An existing day keeps its row but takes the
    shift times given (a corrected roster re-imported)."""
    added = 0
    for row in rows:
        day, staff_id = row[0], row[1]
        start, end = (row[2], row[3]) if len(row) == 4 else (None, None)
        if (start is None) != (end is None):
            raise ValueError("a shift needs both a start and an end")
        if start is not None and end is not None:
            Shift(staff_id, day, start, end)  # validates the times
        times = (
            hhmm(start) if start is not None else None,
            hhmm(end) if end is not None else None,
        )
        cur = conn.execute(
            "INSERT INTO duty_roster (business_date, staff_id, shift_start, shift_end) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (business_date, staff_id) DO NOTHING "
            "RETURNING staff_id",
            (day.isoformat(), staff_id, *times),
        )
        if cur.fetchone() is not None:
            added += 1
        else:
            conn.execute(
                "UPDATE duty_roster SET shift_start = ?, shift_end = ? "
                "WHERE business_date = ? AND staff_id = ?",
                (*times, day.isoformat(), staff_id),
            )
    return added


def shifts_between(
    conn: Connection, first: date, last: date, *, staff_id: int | None = None
) -> list[Shift]:
    """The timed roster entries starting on ``first``…``last`` (of one staff member)."""
    sql = (
        "SELECT business_date, staff_id, shift_start, shift_end FROM duty_roster "
        "WHERE business_date >= ? AND business_date <= ? AND shift_start IS NOT NULL "
        "AND shift_end IS NOT NULL"
    )
    args: tuple[Any, ...] = (first.isoformat(), last.isoformat())
    if staff_id is not None:
        sql += " AND staff_id = ?"
        args += (staff_id,)
    rows = conn.execute(sql + " ORDER BY business_date, staff_id", args).fetchall()
    out = []
    for r in rows:
        try:
            out.append(
                Shift(int(r[1]), date.fromisoformat(r[0]), parse_hhmm(r[2]), parse_hhmm(r[3]))
            )
        except ValueError:  # written by hand into the database: a whole-day duty then
            log.warning("duty_roster %s staff %s: bad shift %r-%r", r[0], r[1], r[2], r[3])
    return out


def roster_between(conn: Connection, first: date, last: date) -> list[tuple[date, int]]:
    rows = conn.execute(
        "SELECT business_date, staff_id FROM duty_roster WHERE business_date >= ? "
        "AND business_date <= ? ORDER BY business_date, staff_id",
        (first.isoformat(), last.isoformat()),
    ).fetchall()
    return [(date.fromisoformat(r[0]), int(r[1])) for r in rows]


def roster_days_of(conn: Connection, staff_id: int) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM duty_roster WHERE staff_id = ?", (staff_id,)
    ).fetchone()
    return int(row[0])
