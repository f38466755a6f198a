"""SQL for keeping the gate honest over time: clock high-water mark, retention purge, and
the partition guard's probe of the shared database and count of journalled entries.

Like :mod:`kiosk.storage.repository`, functions take an open connection so the
caller decides the transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kiosk.storage.database import utc_now_text


def high_water(conn: Any, gate_id: str) -> datetime | None:
    """The latest instant this gate has recorded (survives restarts), if any."""
    row = conn.execute(
        "SELECT high_water_utc FROM clock_state WHERE gate_id = ?", (gate_id,)
    ).fetchone()
    return datetime.fromisoformat(row[0]) if row else None


def raise_high_water(conn: Any, gate_id: str, instant: datetime) -> None:
    """Move the mark forward to ``instant`` (never backwards)."""
    text = utc_now_text(instant)
    conn.execute(
        "INSERT INTO clock_state (gate_id, high_water_utc, updated_utc) VALUES (?, ?, ?) "
        "ON CONFLICT (gate_id) DO UPDATE SET high_water_utc = excluded.high_water_utc, "
        "updated_utc = excluded.updated_utc "
        "WHERE clock_state.high_water_utc < excluded.high_water_utc",
        (gate_id, text, utc_now_text()),
    )


def set_high_water(conn: Any, gate_id: str, instant: datetime) -> None:
    """Replace the mark (an officer confirmed the date; earlier records may be wrong)."""
    conn.execute(
        "INSERT INTO clock_state (gate_id, high_water_utc, updated_utc) VALUES (?, ?, ?) "
        "ON CONFLICT (gate_id) DO UPDATE SET high_water_utc = excluded.high_water_utc, "
        "updated_utc = excluded.updated_utc",
        (gate_id, utc_now_text(instant), utc_now_text()),
    )


def purge_entries_before(conn: Any, cutoff: date) -> int:
    """Delete citizen entries (with their temperatures) of business dates before ``cutoff``.

    Day counters of those dates go too (they only count entries). Staff
    attendance and the audit log have their own retention and stay.
    """
    cur = conn.execute(
        "DELETE FROM entries WHERE business_date < ? AND kind <> 'staff'", (cutoff.isoformat(),)
    )
    conn.execute("DELETE FROM day_counters WHERE business_date < ?", (cutoff.isoformat(),))
    return int(cur.rowcount)


def purge_bookings_before(conn: Any, cutoff: date) -> int:
    """Delete bookings (citizen names) whose date is before ``cutoff``."""
    cur = conn.execute("DELETE FROM bookings WHERE date < ?", (cutoff.isoformat(),))
    return int(cur.rowcount)


def entry_count_before(conn: Any, cutoff: date) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM entries WHERE business_date < ? AND kind <> 'staff'",
        (cutoff.isoformat(),),
    ).fetchone()
    return int(row[0])


def ping(conn: Any) -> None:
    """One round trip to the server: raises (a StorageError) when it does not answer."""
    conn.execute("SELECT 1").fetchone()


def entry_count(conn: Any) -> int:
    """Every entry in this database (the partition journal's entries awaiting upload)."""
    return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
