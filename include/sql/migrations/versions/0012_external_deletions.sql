-- Screenings reported by previous municipalities feed the marts (history and
-- first-time flags): their deletion (a purge) must reach the marts as well.
SET ROLE kenshin_owner;

CREATE OR REPLACE FUNCTION ops.log_deletion() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    id bigint;
BEGIN
    -- each branch is planned only when run: the other tables' keys are not fields of OLD
    IF TG_TABLE_NAME = 'screening' THEN
        id := OLD.screening_id;
    ELSIF TG_TABLE_NAME = 'detailed_exam' THEN
        id := OLD.detailed_exam_id;
    ELSE
        id := OLD.external_screening_id;
    END IF;
    INSERT INTO ops.deletion_log (table_name, record_id, addressee_id)
    VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, id, OLD.addressee_id)
    ON CONFLICT (table_name, record_id) DO UPDATE SET deleted_at = excluded.deleted_at;
    RETURN OLD;
END
$$;

CREATE TRIGGER external_screening_deletion AFTER DELETE ON core.external_screening
    FOR EACH ROW EXECUTE FUNCTION ops.log_deletion();

RESET ROLE;
