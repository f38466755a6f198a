-- 0003: staff accounts, login attempts (lockout shared by every process and gate),
-- server-side session rows (revocation, idle timeout), admin setting overrides,
-- undone admissions, and an index for the admin entry log's keyset paging.
CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT NOT NULL UNIQUE,          -- lower case
    role                TEXT NOT NULL CHECK (role IN ('officer', 'admin')),
    password_hash       TEXT NOT NULL,                 -- werkzeug scrypt
    created_at          TEXT NOT NULL,
    password_changed_at TEXT NOT NULL,
    disabled            INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
);

-- Every login attempt, also for names that do not exist (lockout must not reveal them).
-- 'pending' is written before the password is checked, so parallel guesses count too.
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    username  TEXT NOT NULL,
    ts_utc    TEXT NOT NULL,
    result    TEXT NOT NULL CHECK (result IN ('pending', 'ok', 'failed', 'locked')),
    remote    TEXT
);
CREATE INDEX login_attempts_by_user ON login_attempts (username, ts_utc);

-- The browser's cookie holds a random session id; only its SHA-256 is stored here.
CREATE TABLE sessions (
    id_hash     TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    ended_at    TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Admin overrides of configuration fields ("admission.daily_cap" -> JSON value).
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

-- An officer undid an admission: the entry stays (append-only), the slot went back.
-- Invariant: day_counters.used = slot-using entries - undos with returned_slot = 1.
CREATE TABLE entry_undos (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id       INTEGER NOT NULL UNIQUE REFERENCES entries (id) ON DELETE CASCADE,
    ts_utc         TEXT NOT NULL,
    office_id      TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    officer        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    returned_slot  INTEGER NOT NULL CHECK (returned_slot IN (0, 1))
);
CREATE INDEX entry_undos_by_day ON entry_undos (office_id, business_date);

CREATE INDEX entries_by_day_id ON entries (office_id, business_date, id);
CREATE INDEX audit_log_by_ts ON audit_log (ts_utc);
