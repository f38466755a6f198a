-- 0007: what travels with an entry recorded offline in a degraded gate's journal
-- (kiosk/services/recorder.py): its audit rows and its staff attendance mark, as JSON,
-- replayed once against the shared database when the journal is uploaded. Unused (empty)
-- in a shared or single-gate database.
CREATE TABLE journal_extras (
    entry_id  INTEGER PRIMARY KEY,
    payload   TEXT NOT NULL
);
