"""SQL for reading the entry log (officer console, admin pages, CSV export) and for undos.

Entries are append-only: an officer's undo is a row in ``entry_undos`` that
returns the slot to the day's counter; the entry itself never changes. Pages
use keyset paging on ``entries.id`` (index ``entries_by_day_id``), so a page
costs the same on the first day of a year of data as on the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from kiosk.storage.database import utc_now_text


@dataclass(frozen=True)
class LogFilter:
    """What the admin asked to see; ``None`` fields do not filter."""

    office_id: str
    day: date
    outcome: str | None = None
    kind: str | None = None
    gate_id: str | None = None
    since_utc: datetime | None = None
    until_utc: datetime | None = None
    search: str | None = None
    last_day: date | None = None  # a range of days (CSV export), ``day`` … ``last_day``
    service: str | None = None  # a service code (``KTP-EL``); entries store the upper-case code


@dataclass(frozen=True)
class LogRow:
    id: int
    ts: datetime
    business_date: date
    gate_id: str
    kind: str
    outcome: str
    reason: str
    uses_slot: bool
    booking_id: str | None
    name: str | None
    temp_estimated_c: float | None
    temp_source: str | None
    officer: str | None
    note: str | None
    undone_by: str | None
    undo_reason: str | None
    service: str = ""
    queue_number: str | None = None
    reentry: int | None = None
    temp_first_estimated_c: float | None = None
    """The elevated first reading, when the visit was re-measured."""
    temp_recheck_trusted: bool | None = None
    temp_distance_cm: float | None = None
    temp_first_distance_cm: float | None = None


_COLUMNS = (
    "SELECT e.id, e.ts_utc, e.business_date, e.gate_id, e.kind, e.outcome, e.reason, "
    "e.uses_slot, e.booking_id, b.name, e.temp_estimated_c, e.temp_source, e.officer, e.note, "
    "u.officer AS undone_by, u.reason AS undo_reason, "
    "e.service, e.queue_number, e.reentry, e.temp_first_estimated_c, "
    "e.temp_recheck_trusted, e.temp_distance_cm, e.temp_first_distance_cm "
    "FROM entries e LEFT JOIN bookings b ON b.id = e.booking_id "
    "LEFT JOIN entry_undos u ON u.entry_id = e.id "
)


def _row(r: Any) -> LogRow:
    return LogRow(
        id=int(r["id"]),
        ts=datetime.fromisoformat(r["ts_utc"]),
        business_date=date.fromisoformat(r["business_date"]),
        gate_id=r["gate_id"],
        kind=r["kind"],
        outcome=r["outcome"],
        reason=r["reason"],
        uses_slot=bool(r["uses_slot"]),
        booking_id=r["booking_id"],
        name=r["name"],
        temp_estimated_c=r["temp_estimated_c"],
        temp_source=r["temp_source"],
        officer=r["officer"],
        note=r["note"],
        undone_by=r["undone_by"],
        undo_reason=r["undo_reason"],
        service=r["service"] or "",
        queue_number=r["queue_number"],
        reentry=r["reentry"],
        temp_first_estimated_c=r["temp_first_estimated_c"],
        temp_recheck_trusted=None
        if r["temp_recheck_trusted"] is None
        else bool(r["temp_recheck_trusted"]),
        temp_distance_cm=r["temp_distance_cm"],
        temp_first_distance_cm=r["temp_first_distance_cm"],
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: LogFilter) -> tuple[str, list[Any]]:
    clauses = ["e.office_id = ?"]
    params: list[Any] = [f.office_id]
    if f.last_day is None:
        clauses.append("e.business_date = ?")
        params.append(f.day.isoformat())
    else:
        clauses.append("e.business_date >= ? AND e.business_date <= ?")
        params += [f.day.isoformat(), f.last_day.isoformat()]
    for column, value in (("e.outcome", f.outcome), ("e.kind", f.kind), ("e.gate_id", f.gate_id)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if f.service:
        clauses.append("UPPER(e.service) = ?")
        params.append(f.service.strip().upper())
    if f.since_utc is not None:
        clauses.append("e.ts_utc >= ?")
        params.append(utc_now_text(f.since_utc))
    if f.until_utc is not None:
        clauses.append("e.ts_utc < ?")
        params.append(utc_now_text(f.until_utc))
    if f.search:
        clauses.append(
            "(LOWER(e.booking_id) LIKE ? ESCAPE '\\' OR LOWER(b.name) LIKE ? ESCAPE '\\')"
        )
        params += [_like(f.search), _like(f.search)]
    return " WHERE " + " AND ".join(clauses), params


def log_page(
    conn: Any,
    f: LogFilter,
    *,
    limit: int,
    before_id: int | None = None,
    after_id: int | None = None,
) -> tuple[list[LogRow], bool]:
    """One page, newest first; ``before_id``/``after_id`` page older/newer (keyset).

    Returns the rows and whether more rows lie in the paging direction.
    """
    where, params = _where(f)
    if after_id is not None:
        sql = f"{_COLUMNS}{where} AND e.id > ? ORDER BY e.id ASC LIMIT ?"
        rows = conn.execute(sql, [*params, after_id, limit + 1]).fetchall()
        more = len(rows) > limit
        return [_row(r) for r in reversed(rows[:limit])], more
    if before_id is not None:
        where += " AND e.id < ?"
        params.append(before_id)
    rows = conn.execute(f"{_COLUMNS}{where} ORDER BY e.id DESC LIMIT ?", [*params, limit + 1])
    found = rows.fetchall()
    return [_row(r) for r in found[:limit]], len(found) > limit


def log_count(conn: Any, f: LogFilter) -> int:
    where, params = _where(f)
    sql = (
        "SELECT COUNT(*) FROM entries e LEFT JOIN bookings b ON b.id = e.booking_id" + where
        if f.search
        else "SELECT COUNT(*) FROM entries e" + where
    )
    return int(conn.execute(sql, params).fetchone()[0])


def log_rows(conn: Any, f: LogFilter, *, batch: int = 500) -> Iterator[LogRow]:
    """Every matching row, oldest first, fetched ``batch`` at a time (never all at once)."""
    where, params = _where(f)
    cur = conn.execute(f"{_COLUMNS}{where} ORDER BY e.id ASC", params)
    while rows := cur.fetchmany(batch):
        for r in rows:
            yield _row(r)


def latest(conn: Any, office_id: str, day: date, *, limit: int) -> list[LogRow]:
    rows = conn.execute(
        f"{_COLUMNS} WHERE e.office_id = ? AND e.business_date = ? ORDER BY e.id DESC LIMIT ?",
        (office_id, day.isoformat(), limit),
    ).fetchall()
    return [_row(r) for r in rows]


def admitted_times(conn: Any, office_id: str, day: date) -> list[datetime]:
    """Instants of the day's admissions that were not undone (for the hourly chart)."""
    rows = conn.execute(
        "SELECT e.ts_utc FROM entries e LEFT JOIN entry_undos u ON u.entry_id = e.id "
        "WHERE e.office_id = ? AND e.business_date = ? AND e.outcome = 'admitted' "
        "AND u.id IS NULL",
        (office_id, day.isoformat()),
    ).fetchall()
    return [datetime.fromisoformat(r[0]) for r in rows]


def reason_counts(conn: Any, office_id: str, day: date) -> list[tuple[str, str, int]]:
    rows = conn.execute(
        "SELECT outcome, reason, COUNT(*) FROM entries WHERE office_id = ? AND business_date = ? "
        "GROUP BY outcome, reason ORDER BY outcome, reason",
        (office_id, day.isoformat()),
    ).fetchall()
    return [(r[0], r[1], int(r[2])) for r in rows]


def gates_on(conn: Any, office_id: str, day: date) -> list[str]:
    rows = conn.execute(
        "SELECT DISTINCT gate_id FROM entries WHERE office_id = ? AND business_date = ? "
        "ORDER BY gate_id",
        (office_id, day.isoformat()),
    ).fetchall()
    return [r[0] for r in rows]


# -- undo -------------------------------------------------------------------
def undo_of(conn: Any, entry_id: int) -> tuple[str, str] | None:
    """``(officer, reason)`` of the undo of ``entry_id``, if it was undone."""
    row = conn.execute(
        "SELECT officer, reason FROM entry_undos WHERE entry_id = ?", (entry_id,)
    ).fetchone()
    return (row[0], row[1]) if row else None


def return_slot(conn: Any, office_id: str, day: date) -> int | None:
    """Give one slot back to the day's counter; the new count, or ``None`` if none was used."""
    row = conn.execute(
        "UPDATE day_counters SET used = used - 1 "
        "WHERE office_id = ? AND business_date = ? AND used > 0 RETURNING used",
        (office_id, day.isoformat()),
    ).fetchone()
    return int(row[0]) if row else None


def insert_undo(
    conn: Any,
    *,
    entry_id: int,
    office_id: str,
    day: date,
    officer: str,
    reason: str,
    returned_slot: bool,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO entry_undos (entry_id, ts_utc, office_id, business_date, officer, reason, "
        "returned_slot) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            entry_id,
            utc_now_text(now),
            office_id,
            day.isoformat(),
            officer,
            reason,
            int(returned_slot),
        ),
    )


def returned_slots(conn: Any, office_id: str, day: date) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM entry_undos WHERE office_id = ? AND business_date = ? "
        "AND returned_slot = 1",
        (office_id, day.isoformat()),
    ).fetchone()
    return int(row[0])


# -- audit log --------------------------------------------------------------
@dataclass(frozen=True)
class AuditRow:
    id: int
    ts: datetime
    actor: str
    action: str
    subject: str | None
    details: str | None


def audit_page(
    conn: Any, *, limit: int, before_id: int | None = None, actor: str | None = None
) -> tuple[list[AuditRow], bool]:
    clauses: list[str] = []
    params: list[Any] = []
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    if actor:
        clauses.append("actor = ?")
        params.append(actor)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        "SELECT id, ts_utc, actor, action, subject, details FROM audit_log"
        f"{where} ORDER BY id DESC LIMIT ?",
        [*params, limit + 1],
    ).fetchall()
    found = [
        AuditRow(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5])
        for r in rows[:limit]
    ]
    return found, len(rows) > limit


def audit_actions(conn: Any, subject: str, actions: tuple[str, ...]) -> list[AuditRow]:
    """Audit rows about ``subject`` whose action is one of ``actions``, oldest first."""
    marks = ", ".join("?" for _ in actions)
    rows = conn.execute(
        "SELECT id, ts_utc, actor, action, subject, details FROM audit_log "
        f"WHERE subject = ? AND action IN ({marks}) ORDER BY id",
        (subject, *actions),
    ).fetchall()
    return [AuditRow(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def audit_between(conn: Any, since: datetime, until: datetime) -> list[AuditRow]:
    """Audit rows of one period (the daily report's officer actions), oldest first."""
    rows = conn.execute(
        "SELECT id, ts_utc, actor, action, subject, details FROM audit_log "
        "WHERE ts_utc >= ? AND ts_utc < ? ORDER BY id",
        (utc_now_text(since), utc_now_text(until)),
    ).fetchall()
    return [AuditRow(int(r[0]), datetime.fromisoformat(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def day_counter(conn: Any, office_id: str, day: date) -> tuple[int, int] | None:
    """``(used, cap)`` of a business day's counter, if that day used a slot."""
    row = conn.execute(
        "SELECT used, cap FROM day_counters WHERE office_id = ? AND business_date = ?",
        (office_id, day.isoformat()),
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else None
