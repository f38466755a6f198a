"""SQL for slots a gate reserves from the shared cap (see kiosk/services/partition.py).

Reserved slots are taken with the same conditional UPDATE as admissions
(:func:`kiosk.storage.repository.take_slot`), so they are part of
``day_counters.used`` and the cap holds whatever happens to the network.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.storage import repository as repo


def held(conn: Any, office_id: str, day: date, gate_id: str) -> int:
    row = conn.execute(
        "SELECT slots FROM gate_reservations WHERE office_id = ? AND business_date = ? "
        "AND gate_id = ?",
        (office_id, day.isoformat(), gate_id),
    ).fetchone()
    return int(row[0]) if row else 0


def total_held(conn: Any, office_id: str, day: date) -> int:
    """All gates' unused reserved slots on ``day`` (counted in the day's ``used``)."""
    row = conn.execute(
        "SELECT COALESCE(SUM(slots), 0) FROM gate_reservations "
        "WHERE office_id = ? AND business_date = ?",
        (office_id, day.isoformat()),
    ).fetchone()
    return int(row[0])


def set_held(conn: Any, office_id: str, day: date, gate_id: str, slots: int) -> None:
    conn.execute(
        "INSERT INTO gate_reservations (office_id, business_date, gate_id, slots) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (office_id, business_date, gate_id) "
        "DO UPDATE SET slots = excluded.slots",
        (office_id, day.isoformat(), gate_id, slots),
    )


def top_up(conn: Any, office_id: str, day: date, gate_id: str, want: int, cap: int) -> int:
    """Reserve slots from the cap until this gate holds ``want`` (or the cap is reached)."""
    have = held(conn, office_id, day, gate_id)
    taken = 0
    while have + taken < want and repo.take_slot(conn, office_id, day, cap) is not None:
        taken += 1
    if taken:
        set_held(conn, office_id, day, gate_id, have + taken)
    return have + taken


def consume(conn: Any, office_id: str, day: date, gate_id: str) -> bool:
    """Use one reserved slot (already counted in ``used``); False when none is left."""
    row = conn.execute(
        "UPDATE gate_reservations SET slots = slots - 1 WHERE office_id = ? "
        "AND business_date = ? AND gate_id = ? AND slots > 0 RETURNING slots",
        (office_id, day.isoformat(), gate_id),
    ).fetchone()
    return row is not None


def slot_used_by_booking(conn: Any, booking_id: str, day: date) -> bool:
    row = conn.execute(
        "SELECT 1 FROM entries WHERE booking_id = ? AND business_date = ? AND uses_slot = 1",
        (booking_id, day.isoformat()),
    ).fetchone()
    return row is not None


def journal_entries(conn: Any, limit: int = 200) -> list[Any]:
    """Entries recorded offline, oldest first (the journal database)."""
    rows = conn.execute("SELECT * FROM entries ORDER BY id LIMIT ?", (limit,)).fetchall()
    return [repo.entry_from_row(r) for r in rows]


def delete_journal_entry(conn: Any, entry_id: int) -> None:
    conn.execute("DELETE FROM journal_extras WHERE entry_id = ?", (entry_id,))
    conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))


def add_journal_extras(conn: Any, entry_id: int, payload: str) -> None:
    """Audit rows and staff mark of a journalled entry (JSON), replayed at upload."""
    conn.execute(
        "INSERT INTO journal_extras (entry_id, payload) VALUES (?, ?)", (entry_id, payload)
    )


def journal_extras(conn: Any, entry_id: int) -> str | None:
    row = conn.execute(
        "SELECT payload FROM journal_extras WHERE entry_id = ?", (entry_id,)
    ).fetchone()
    return None if row is None else str(row[0])
