"""SQL for the core records: bookings, entries, the day counters, the audit log, calibrations.

Every SQL statement the kiosk runs lives in :mod:`kiosk.storage` (the schema in the
migration scripts): this module and its siblings, one per group of tables (accounts,
staff, reservations, entry_log, maintenance, backup).

Functions take an open connection (usually from ``Database.transaction()``)
so the caller decides the transaction boundaries; rows come back as frozen
dataclasses, never as cursors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from kiosk.storage.base import Connection, Row
from kiosk.storage.database import utc_now_text


@dataclass(frozen=True)
class Booking:
    id: str
    office_id: str
    date: date
    name: str
    service: str = ""
    status: str = "valid"
    source: str = "manual"
    arrive_from: str | None = None
    """Start of the optional arrival window, local ``HH:MM``."""
    arrive_until: str | None = None
    """End of the optional arrival window, local ``HH:MM``."""


@dataclass(frozen=True)
class Entry:
    ts: datetime
    business_date: date
    office_id: str
    gate_id: str
    kind: str
    outcome: str
    reason: str
    uses_slot: bool = False
    booking_id: str | None = None
    temp_object_c: float | None = None
    temp_ambient_c: float | None = None
    temp_estimated_c: float | None = None
    temp_source: str | None = None
    officer: str | None = None
    note: str | None = None
    idempotency_key: str | None = None
    id: int | None = None
    service: str = ""
    queue_number: str | None = None
    reentry: int | None = None
    temp_distance_cm: float | None = None
    temp_first_object_c: float | None = None
    temp_first_ambient_c: float | None = None
    temp_first_estimated_c: float | None = None
    temp_first_distance_cm: float | None = None
    temp_recheck_trusted: bool | None = None
    """Set when the visit was re-measured: could the re-measurement clear the first?"""


# -- bookings ---------------------------------------------------------------
def _booking(row: Row) -> Booking:
    return Booking(
        id=row["id"],
        office_id=row["office_id"],
        date=date.fromisoformat(row["date"]),
        name=row["name"],
        service=row["service"],
        status=row["status"],
        source=row["source"],
        arrive_from=row["arrive_from"],
        arrive_until=row["arrive_until"],
    )


def get_booking(conn: Connection, booking_id: str) -> Booking | None:
    row = conn.execute("SELECT * FROM bookings WHERE id = ?", (booking_id,)).fetchone()
    return _booking(row) if row else None


def insert_booking(conn: Connection, booking: Booking) -> None:
    conn.execute(
        "INSERT INTO bookings (id, office_id, service, date, name, status, source, created_at, "
        "arrive_from, arrive_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            booking.id,
            booking.office_id,
            booking.service,
            booking.date.isoformat(),
            booking.name,
            booking.status,
            booking.source,
            utc_now_text(),
            booking.arrive_from,
            booking.arrive_until,
        ),
    )


def bookings_on(conn: Connection, office_id: str, day: date) -> list[Booking]:
    rows = conn.execute(
        "SELECT * FROM bookings WHERE office_id = ? AND date = ? ORDER BY name, id",
        (office_id, day.isoformat()),
    ).fetchall()
    return [_booking(r) for r in rows]


# -- entries and the cap ----------------------------------------------------
def _entry(row: Row) -> Entry:
    return Entry(
        id=row["id"],
        ts=datetime.fromisoformat(row["ts_utc"]),
        business_date=date.fromisoformat(row["business_date"]),
        office_id=row["office_id"],
        gate_id=row["gate_id"],
        kind=row["kind"],
        booking_id=row["booking_id"],
        temp_object_c=row["temp_object_c"],
        temp_ambient_c=row["temp_ambient_c"],
        temp_estimated_c=row["temp_estimated_c"],
        temp_source=row["temp_source"],
        temp_distance_cm=row["temp_distance_cm"],
        temp_first_object_c=row["temp_first_object_c"],
        temp_first_ambient_c=row["temp_first_ambient_c"],
        temp_first_estimated_c=row["temp_first_estimated_c"],
        temp_first_distance_cm=row["temp_first_distance_cm"],
        temp_recheck_trusted=None
        if row["temp_recheck_trusted"] is None
        else bool(row["temp_recheck_trusted"]),
        outcome=row["outcome"],
        reason=row["reason"],
        uses_slot=bool(row["uses_slot"]),
        officer=row["officer"],
        note=row["note"],
        idempotency_key=row["idempotency_key"],
        service=row["service"] or "",
        queue_number=row["queue_number"],
        reentry=row["reentry"],
    )


def last_admission(
    conn: Connection, booking_id: str, day: date
) -> tuple[datetime, str, bool] | None:
    """Time and gate of this booking's first admission on ``day``, and whether an officer
    undid it (an undone admission returned its slot: it never counts as a re-entry)."""
    row = conn.execute(
        "SELECT e.ts_utc, e.gate_id, "
        "(SELECT COUNT(*) FROM entry_undos u WHERE u.entry_id = e.id) AS undone "
        "FROM entries e WHERE e.booking_id = ? AND e.business_date = ? "
        "AND e.outcome = 'admitted' ORDER BY e.id LIMIT 1",
        (booking_id, day.isoformat()),
    ).fetchone()
    return (datetime.fromisoformat(row[0]), row[1], bool(row[2])) if row else None


def slots_used(conn: Connection, office_id: str, day: date) -> int:
    row = conn.execute(
        "SELECT used FROM day_counters WHERE office_id = ? AND business_date = ?",
        (office_id, day.isoformat()),
    ).fetchone()
    return int(row[0]) if row else 0


def take_slot(
    conn: Connection, office_id: str, day: date, cap: int, *, below: int | None = None
) -> int | None:
    """Use one of today's slots; returns the new count, or ``None`` when the cap is reached.

    ``below``: take a slot only while fewer than that many are used (a walk-in before the
    release time may not use places held by bookings; see :mod:`kiosk.domain.capacity`).

    One conditional UPDATE (the CHECK constraint backs it up); under READ
    COMMITTED PostgreSQL re-checks ``used < cap`` on the newest row after
    waiting for another gate's admission, so the cap holds across gates. The
    day's row is created on first use; a changed cap applies to the current
    day too, but never drops below what is already used. A full day with an
    unchanged cap is answered by a plain read, so refusals never queue for
    the row lock behind admissions.
    """
    key = (office_id, day.isoformat())
    limit = cap if below is None else min(cap, below)
    row = conn.execute(
        "UPDATE day_counters SET used = used + 1 WHERE office_id = ? AND business_date = ? "
        "AND cap = ? AND used < cap AND used < ? RETURNING used",
        (*key, cap, limit),
    ).fetchone()
    if row:
        return int(row[0])
    current = conn.execute(
        "SELECT used, cap FROM day_counters WHERE office_id = ? AND business_date = ?", key
    ).fetchone()
    if current is not None and int(current["cap"]) == cap and int(current["used"]) >= limit:
        return None
    conn.execute(
        "INSERT INTO day_counters (office_id, business_date, used, cap) VALUES (?, ?, 0, ?) "
        "ON CONFLICT (office_id, business_date) DO UPDATE SET cap = CASE "
        "WHEN excluded.cap > day_counters.used THEN excluded.cap ELSE day_counters.used END",
        (*key, cap),
    )
    row = conn.execute(
        "UPDATE day_counters SET used = used + 1 "
        "WHERE office_id = ? AND business_date = ? AND used < cap AND used < ? RETURNING used",
        (*key, limit),
    ).fetchone()
    return int(row[0]) if row else None


def insert_entry(conn: Connection, entry: Entry) -> int:
    row = conn.execute(
        "INSERT INTO entries (ts_utc, business_date, office_id, gate_id, kind, booking_id, "
        "temp_object_c, temp_ambient_c, temp_estimated_c, temp_source, outcome, reason, "
        "uses_slot, officer, note, idempotency_key, service, queue_number, reentry, "
        "temp_distance_cm, temp_first_object_c, temp_first_ambient_c, temp_first_estimated_c, "
        "temp_first_distance_cm, temp_recheck_trusted) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            utc_now_text(entry.ts),
            entry.business_date.isoformat(),
            entry.office_id,
            entry.gate_id,
            entry.kind,
            entry.booking_id,
            entry.temp_object_c,
            entry.temp_ambient_c,
            entry.temp_estimated_c,
            entry.temp_source,
            entry.outcome,
            entry.reason,
            int(entry.uses_slot),
            entry.officer,
            entry.note,
            entry.idempotency_key,
            entry.service,
            entry.queue_number,
            entry.reentry,
            entry.temp_distance_cm,
            entry.temp_first_object_c,
            entry.temp_first_ambient_c,
            entry.temp_first_estimated_c,
            entry.temp_first_distance_cm,
            None if entry.temp_recheck_trusted is None else int(entry.temp_recheck_trusted),
        ),
    ).fetchone()
    return int(row[0])


def entry_by_idempotency_key(conn: Connection, key: str) -> Entry | None:
    row = conn.execute("SELECT * FROM entries WHERE idempotency_key = ?", (key,)).fetchone()
    return _entry(row) if row else None


def entry_by_id(conn: Connection, entry_id: int) -> Entry | None:
    row = conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
    return _entry(row) if row else None


def entries_on(conn: Connection, office_id: str, day: date, *, limit: int = 200) -> list[Entry]:
    rows = conn.execute(
        "SELECT * FROM entries WHERE office_id = ? AND business_date = ? ORDER BY id DESC LIMIT ?",
        (office_id, day.isoformat(), limit),
    ).fetchall()
    return [_entry(r) for r in rows]


def outcome_counts(conn: Connection, office_id: str, day: date) -> dict[str, int]:
    rows = conn.execute(
        "SELECT outcome, COUNT(*) FROM entries WHERE office_id = ? AND business_date = ? "
        "GROUP BY outcome",
        (office_id, day.isoformat()),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def slot_rows(conn: Connection, office_id: str, day: date) -> int:
    """Entries that used a slot on ``day`` (must always equal the counter)."""
    row = conn.execute(
        "SELECT COUNT(*) FROM entries WHERE office_id = ? AND business_date = ? AND uses_slot = 1",
        (office_id, day.isoformat()),
    ).fetchone()
    return int(row[0])


# -- audit ------------------------------------------------------------------
def add_audit(
    conn: Connection,
    actor: str,
    action: str,
    subject: str | None = None,
    details: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (ts_utc, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
        (utc_now_text(now), actor, action, subject, details),
    )


# -- calibrations -----------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    ts: datetime
    gate_id: str
    operator: str
    offset_c: float
    ambient_gain: float
    pairs: int
    rms_residual_c: float
    pairs_json: str = "[]"

    def _pairs(self) -> list[dict[str, float]]:
        try:
            pairs = json.loads(self.pairs_json)
        except ValueError:
            return []
        return [p for p in pairs if isinstance(p, dict)] if isinstance(pairs, list) else []

    def residuals(self) -> list[float]:
        """clinical − estimate per stored pair, °C, under this calibration's own model."""
        out = []
        for p in self._pairs():
            obj, amb = float(p["object_c"]), float(p["ambient_c"])
            estimate = obj + self.offset_c + self.ambient_gain * (obj - amb)
            out.append(round(float(p["clinical_c"]) - estimate, 3))
        return out

    @property
    def ambient_mean_c(self) -> float | None:
        """The mean ambient of the calibration's pairs (what the drift alert compares to)."""
        ambients = [float(p["ambient_c"]) for p in self._pairs()]
        return round(sum(ambients) / len(ambients), 2) if ambients else None


def add_calibration(conn: Connection, cal: Calibration) -> None:
    conn.execute(
        "INSERT INTO calibrations (ts_utc, gate_id, operator, offset_c, ambient_gain, pairs, "
        "rms_residual_c, pairs_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            utc_now_text(cal.ts),
            cal.gate_id,
            cal.operator,
            cal.offset_c,
            cal.ambient_gain,
            cal.pairs,
            cal.rms_residual_c,
            cal.pairs_json,
        ),
    )


def latest_calibration(conn: Connection, gate_id: str) -> Calibration | None:
    row = conn.execute(
        "SELECT * FROM calibrations WHERE gate_id = ? ORDER BY id DESC LIMIT 1", (gate_id,)
    ).fetchone()
    if row is None:
        return None
    return Calibration(
        ts=datetime.fromisoformat(row["ts_utc"]),
        gate_id=row["gate_id"],
        operator=row["operator"],
        offset_c=row["offset_c"],
        ambient_gain=row["ambient_gain"],
        pairs=row["pairs"],
        rms_residual_c=row["rms_residual_c"],
        pairs_json=row["pairs_json"],
    )


def update_booking(conn: Connection, booking: Booking) -> None:
    """Apply the booking system's current date, name, service and status to a stored booking."""
    conn.execute(
        "UPDATE bookings SET date = ?, name = ?, service = ?, status = ?, source = ?, "
        "arrive_from = ?, arrive_until = ? WHERE id = ? AND office_id = ?",
        (
            booking.date.isoformat(),
            booking.name,
            booking.service,
            booking.status,
            booking.source,
            booking.arrive_from,
            booking.arrive_until,
            booking.id,
            booking.office_id,
        ),
    )


def entry_from_row(row: Row) -> Entry:
    """An :class:`Entry` from a ``SELECT * FROM entries`` row."""
    return _entry(row)
