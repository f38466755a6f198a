-- 0010: capacity the way a civil-registry office runs it (issue #15).
-- * entries.service: the service an admission counts against ('' = none / general);
--   entries.queue_number: the number given at admission (e.g. KTP-EL-007);
--   entries.reentry: 1, 2, … on a booking's re-entries (NULL otherwise); the unique index
--   makes two gates racing to readmit one booking conflict (one retries and sees the other).
-- * service_counters: the per-service day counter, taken in the admission's transaction
--   with the same conditional UPDATE as day_counters (CHECK backs it up).
-- * queue_counters: the last queue number per series (service code, or 'A') and day,
--   bumped in the admission's transaction: gap-free and unique across gates.
-- * bookings.arrive_from / arrive_until: optional arrival window, local HH:MM.
ALTER TABLE entries ADD COLUMN service TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN queue_number TEXT;
ALTER TABLE entries ADD COLUMN reentry INTEGER;
CREATE UNIQUE INDEX entries_one_reentry_number
    ON entries (booking_id, business_date, reentry) WHERE reentry IS NOT NULL;
CREATE INDEX entries_by_day_service ON entries (office_id, business_date, service);

ALTER TABLE bookings ADD COLUMN arrive_from TEXT;
ALTER TABLE bookings ADD COLUMN arrive_until TEXT;

CREATE TABLE service_counters (
    office_id      TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    service        TEXT NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0,
    cap            INTEGER NOT NULL,
    PRIMARY KEY (office_id, business_date, service),
    CHECK (used >= 0 AND used <= cap)
);

CREATE TABLE queue_counters (
    office_id      TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    series         TEXT NOT NULL,
    last           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (office_id, business_date, series),
    CHECK (last >= 0)
);
