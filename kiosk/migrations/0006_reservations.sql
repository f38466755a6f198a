-- 0006: slots a gate reserves from the shared cap while connected, to use during a
-- network partition (kiosk/services/partition.py). Reserved slots are counted in
-- day_counters.used, so the global total can never exceed the cap.
CREATE TABLE gate_reservations (
    office_id      TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    gate_id        TEXT NOT NULL,
    slots          INTEGER NOT NULL DEFAULT 0 CHECK (slots >= 0),
    PRIMARY KEY (office_id, business_date, gate_id)
);
