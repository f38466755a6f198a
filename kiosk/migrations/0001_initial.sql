-- 0001: bookings, append-only entries, per-day cap counters, audit log.

CREATE TABLE bookings (
    id          TEXT PRIMARY KEY,
    office_id   TEXT NOT NULL,
    service     TEXT NOT NULL DEFAULT '',
    date        TEXT NOT NULL,               -- YYYY-MM-DD business date
    name        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'cancelled')),
    source      TEXT NOT NULL DEFAULT 'manual',
    created_at  TEXT NOT NULL
);
CREATE INDEX bookings_by_date ON bookings (office_id, date);

CREATE TABLE entries (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc            TEXT NOT NULL,
    business_date     TEXT NOT NULL,
    office_id         TEXT NOT NULL,
    gate_id           TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('booking', 'walkin', 'priority', 'staff')),
    booking_id        TEXT,
    temp_object_c     REAL,
    temp_ambient_c    REAL,
    temp_estimated_c  REAL,
    temp_source       TEXT,
    outcome           TEXT NOT NULL CHECK (outcome IN ('admitted', 'denied', 'refer')),
    reason            TEXT NOT NULL,
    uses_slot         INTEGER NOT NULL DEFAULT 0 CHECK (uses_slot IN (0, 1)),
    officer           TEXT,
    note              TEXT,
    idempotency_key   TEXT UNIQUE,
    CHECK (uses_slot = 0 OR outcome = 'admitted')
);
CREATE INDEX entries_by_day ON entries (office_id, business_date, ts_utc);
CREATE INDEX entries_by_booking ON entries (booking_id, business_date);
-- A booking can use at most one slot per business day, whatever the gate.
CREATE UNIQUE INDEX entries_one_slot_per_booking
    ON entries (booking_id, business_date) WHERE uses_slot = 1 AND booking_id IS NOT NULL;

CREATE TABLE day_counters (
    office_id      TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0,
    cap            INTEGER NOT NULL,
    PRIMARY KEY (office_id, business_date),
    CHECK (used >= 0 AND used <= cap)
);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT,
    details  TEXT
);
