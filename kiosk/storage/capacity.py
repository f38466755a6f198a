"""SQL for capacity by service: per-service counters, held places and queue numbers.

Everything here runs inside the admission's write transaction (see
:mod:`kiosk.services.recorder`), so a counter taken, a queue number given and the entry
that uses them commit together or not at all:

* a service slot is one conditional ``UPDATE … WHERE used < cap RETURNING used`` on
  ``service_counters`` (as ``day_counters``); PostgreSQL at READ COMMITTED re-checks the
  WHERE on the newest row after waiting for another gate, so the cap holds across gates;
* a queue number is ``INSERT … ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last``
  on ``queue_counters``: the row lock serialises gates, a rolled-back admission gives its
  number back, so numbers are unique and gap-free per series and day;
* held places are today's valid bookings not yet admitted, counted per service.
"""

from __future__ import annotations

from datetime import date

from kiosk.storage.base import Connection

GENERAL = ""
"""The service of a visit without one (counted only against the building-wide cap)."""


def take_service_slot(
    conn: Connection,
    office_id: str,
    day: date,
    service: str,
    cap: int,
    *,
    below: int | None = None,
) -> int | None:
    """Use one place of ``service`` on ``day``; the new count, or ``None`` when it is full.

    ``below``: only while fewer than that many are used (places held by bookings). The
    day's row is created on first use; a changed cap applies to the current day too but
    never drops below what is already used.
    """
    key = (office_id, day.isoformat(), service)
    limit = cap if below is None else min(cap, below)
    row = conn.execute(
        "UPDATE service_counters SET used = used + 1 WHERE office_id = ? AND business_date = ? "
        "AND service = ? AND cap = ? AND used < cap AND used < ? RETURNING used",
        (*key, cap, limit),
    ).fetchone()
    if row:
        return int(row[0])
    conn.execute(
        "INSERT INTO service_counters (office_id, business_date, service, used, cap) "
        "VALUES (?, ?, ?, 0, ?) ON CONFLICT (office_id, business_date, service) DO UPDATE "
        "SET cap = CASE WHEN excluded.cap > service_counters.used THEN excluded.cap "
        "ELSE service_counters.used END",
        (*key, cap),
    )
    row = conn.execute(
        "UPDATE service_counters SET used = used + 1 WHERE office_id = ? AND business_date = ? "
        "AND service = ? AND used < cap AND used < ? RETURNING used",
        (*key, limit),
    ).fetchone()
    return int(row[0]) if row else None


def return_service_slot(conn: Connection, office_id: str, day: date, service: str) -> None:
    """Give one place of ``service`` back (an undo, or a building slot that was not free)."""
    conn.execute(
        "UPDATE service_counters SET used = used - 1 "
        "WHERE office_id = ? AND business_date = ? AND service = ? AND used > 0",
        (office_id, day.isoformat(), service),
    )


def service_used(conn: Connection, office_id: str, day: date) -> dict[str, int]:
    """Places used per service on ``day`` (services never used today are absent)."""
    rows = conn.execute(
        "SELECT service, used FROM service_counters WHERE office_id = ? AND business_date = ?",
        (office_id, day.isoformat()),
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def service_caps(conn: Connection, office_id: str, day: date) -> dict[str, int]:
    """The cap stored with each service counted on ``day`` (for past days)."""
    rows = conn.execute(
        "SELECT service, cap FROM service_counters WHERE office_id = ? AND business_date = ?",
        (office_id, day.isoformat()),
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def held_places(conn: Connection, office_id: str, day: date) -> dict[str, int]:
    """Today's valid bookings with no admission yet, per booking service (upper case).

    An admission that an officer undid still counts as used: the booking cannot come back
    in on it, so it holds no place.
    """
    rows = conn.execute(
        "SELECT UPPER(b.service), COUNT(*) FROM bookings b "
        "WHERE b.office_id = ? AND b.date = ? AND b.status = 'valid' AND NOT EXISTS ("
        "SELECT 1 FROM entries e WHERE e.booking_id = b.id AND e.business_date = ? "
        "AND e.outcome = 'admitted') GROUP BY UPPER(b.service)",
        (office_id, day.isoformat(), day.isoformat()),
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def next_queue_number(conn: Connection, office_id: str, day: date, series: str) -> int:
    """The next number of ``series`` on ``day`` (1 for the first admission of the day)."""
    row = conn.execute(
        "INSERT INTO queue_counters (office_id, business_date, series, last) "
        "VALUES (?, ?, ?, 1) ON CONFLICT (office_id, business_date, series) "
        "DO UPDATE SET last = queue_counters.last + 1 RETURNING last",
        (office_id, day.isoformat(), series),
    ).fetchone()
    return int(row[0])


def reentries(conn: Connection, booking_id: str, day: date) -> tuple[int, str | None]:
    """How often ``booking_id`` re-entered on ``day``, and the time of its latest admission."""
    row = conn.execute(
        "SELECT COALESCE(MAX(reentry), 0), MAX(ts_utc) FROM entries "
        "WHERE booking_id = ? AND business_date = ? AND outcome = 'admitted'",
        (booking_id, day.isoformat()),
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def arrival_window(conn: Connection, booking_id: str) -> tuple[str | None, str | None]:
    """The booking's arrival window (local ``HH:MM``, either may be unset)."""
    row = conn.execute(
        "SELECT arrive_from, arrive_until FROM bookings WHERE id = ?", (booking_id,)
    ).fetchone()
    return (row[0], row[1]) if row else (None, None)


def set_arrival_window(
    conn: Connection, booking_id: str, arrive_from: str | None, arrive_until: str | None
) -> None:
    conn.execute(
        "UPDATE bookings SET arrive_from = ?, arrive_until = ? WHERE id = ?",
        (arrive_from, arrive_until, booking_id),
    )
