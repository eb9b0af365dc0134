-- A provision copy (副本) on the intermediate server is erased in step with its
-- original (DOMAIN.md "Retention"): the next fukuhon export carries an `X` row
-- with the record's key (addressee_id, exam_type, exam_date) for every screening
-- purged or deleted here since the last one. The deletion log keeps that key
-- for screenings (only keys, as before; for as long as deletion_log_days says).
SET ROLE kenshin_owner;

ALTER TABLE ops.deletion_log
    ADD COLUMN exam_type char(2),
    ADD COLUMN exam_date date,
    ADD CONSTRAINT deletion_log_screening_key
        CHECK (table_name = 'core.screening' OR (exam_type IS NULL AND exam_date IS NULL));
COMMENT ON COLUMN ops.deletion_log.exam_type IS 'Of a deleted core.screening: its key for the provision copy''s X row.';
COMMENT ON COLUMN ops.deletion_log.exam_date IS 'Of a deleted core.screening: its key for the provision copy''s X row.';

CREATE OR REPLACE FUNCTION ops.log_deletions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    IF TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME = 'core.screening' THEN
        INSERT INTO ops.deletion_log (table_name, record_id, addressee_id, exam_type, exam_date)
        SELECT 'core.screening', screening_id, addressee_id, exam_type, exam_date FROM gone
        ON CONFLICT (table_name, record_id) DO UPDATE SET deleted_at = excluded.deleted_at;
        RETURN NULL;
    END IF;
    EXECUTE format(
        'INSERT INTO ops.deletion_log (table_name, record_id, addressee_id) '
        'SELECT %L, (%I)::bigint, addressee_id FROM gone '
        'ON CONFLICT (table_name, record_id) DO UPDATE SET deleted_at = excluded.deleted_at',
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_ARGV[0]);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.log_deletions() FROM PUBLIC;

RESET ROLE;
