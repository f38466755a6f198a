-- 0002: thermometer calibrations (the newest one is the model in use).
CREATE TABLE calibrations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_utc         TEXT NOT NULL,
    gate_id        TEXT NOT NULL,
    operator       TEXT NOT NULL,
    offset_c       REAL NOT NULL,
    ambient_gain   REAL NOT NULL,
    pairs          INTEGER NOT NULL CHECK (pairs >= 3),
    rms_residual_c REAL NOT NULL,
    pairs_json     TEXT NOT NULL
);
