-- 0005: clock trust high-water mark per gate (see kiosk/domain/clocktrust.py) and the
-- retention purge's index (entries by business date across offices).
CREATE TABLE clock_state (
    gate_id         TEXT PRIMARY KEY,
    high_water_utc  TEXT NOT NULL,
    updated_utc     TEXT NOT NULL
);
CREATE INDEX entries_by_business_date ON entries (business_date);
