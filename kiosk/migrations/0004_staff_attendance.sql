-- 0004: staff members for attendance, their face encodings (encrypted, never photos),
-- attendance marks and the duty roster ("piket").
CREATE TABLE staff (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    consent_at  TEXT,                -- UTC instant the face-data consent was recorded
    consent_by  TEXT,                -- who recorded it (the admin, from the signed form)
    pin_hash    TEXT,                -- scrypt hash: the alternative for staff without face data
    created_at  TEXT NOT NULL,
    CHECK ((consent_at IS NULL) = (consent_by IS NULL))
);

-- AES-256-GCM ciphertext (nonce || sealed 128 float64) of one enrolment photo's encoding;
-- the key is a file outside the database. Rows are only inserted and deleted.
CREATE TABLE staff_encodings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id    INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    sealed      BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX staff_encodings_by_staff ON staff_encodings (staff_id);

-- Counted marks ('in' = first of the business day, 'out' = a later one) and refusals
-- (liveness, fever, …) of recognised staff. Repeats within attendance.repeat_minutes are
-- not stored. entry_id points at the gate's own record of the same decision.
CREATE TABLE attendance_marks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id          INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    ts_utc            TEXT NOT NULL,
    business_date     TEXT NOT NULL,
    gate_id           TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('in', 'out', 'refused')),
    method            TEXT NOT NULL CHECK (method IN ('face', 'pin')),
    reason            TEXT NOT NULL,
    checks            TEXT NOT NULL DEFAULT '',   -- liveness checks passed, e.g. 'motion,skin'
    distance          REAL,                       -- face distance of the accepted match
    temp_estimated_c  REAL,
    entry_id          INTEGER
);
CREATE INDEX attendance_marks_by_day ON attendance_marks (business_date, staff_id, ts_utc);
CREATE INDEX attendance_marks_by_staff ON attendance_marks (staff_id, ts_utc);

CREATE TABLE duty_roster (
    business_date  TEXT NOT NULL,
    staff_id       INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    PRIMARY KEY (business_date, staff_id)
);
