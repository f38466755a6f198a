-- SQLite-only part of 0001: entries are append-only (retention purges delete, nothing updates).
CREATE TRIGGER entries_append_only BEFORE UPDATE ON entries
BEGIN
    SELECT RAISE(ABORT, 'entries are append-only');
END;
