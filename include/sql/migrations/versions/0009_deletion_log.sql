-- A deleted screening or detailed exam (a correction, a purge) leaves no row
-- with a newer updated_at: the incremental marts learn of it here. Triggers
-- write one row per deleted record: which table, its id and whose it was (the
-- person's other screenings are rebuilt: their first-time flags may change).
-- Only keys, no values; kept as long as the purge policy says.
SET ROLE kenshin_owner;

CREATE TABLE ops.deletion_log (
    table_name    text NOT NULL,
    record_id     bigint NOT NULL,
    addressee_id  char(10) NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, record_id)
);
CREATE INDEX deletion_log_deleted_at ON ops.deletion_log (deleted_at);
COMMENT ON TABLE ops.deletion_log IS
'Deleted screenings and detailed exams (keys only), for the incremental marts to forget them.';

CREATE FUNCTION ops.log_deletion() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    id bigint;
BEGIN
    -- each branch is planned only when run: the other table's key is not a field of OLD
    IF TG_TABLE_NAME = 'screening' THEN
        id := OLD.screening_id;
    ELSE
        id := OLD.detailed_exam_id;
    END IF;
    INSERT INTO ops.deletion_log (table_name, record_id, addressee_id)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, id, OLD.addressee_id)
    ON CONFLICT (table_name, record_id) DO UPDATE SET deleted_at = excluded.deleted_at;
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.log_deletion() FROM PUBLIC;

CREATE TRIGGER screening_deletion AFTER DELETE ON core.screening
    FOR EACH ROW EXECUTE FUNCTION ops.log_deletion();
CREATE TRIGGER detailed_exam_deletion AFTER DELETE ON core.detailed_exam
    FOR EACH ROW EXECUTE FUNCTION ops.log_deletion();

GRANT SELECT ON ops.deletion_log TO kenshin_loader, kenshin_auditor;

RESET ROLE;
