-- PostgreSQL-only part of 0001: entries are append-only (retention purges delete, nothing updates).
CREATE FUNCTION entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'entries are append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER entries_append_only BEFORE UPDATE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_append_only();
