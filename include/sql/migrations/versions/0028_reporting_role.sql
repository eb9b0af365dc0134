-- The annual ministry report (地域保健・健康増進事業報告) is a submission of exact
-- counts (DOMAIN.md): it is read from the schema `report` (built by dbt), which
-- only kenshin_reporter may read, granted to the named logins of the
-- statistics staff who submit it; kenshin_stats keeps reading the suppressed
-- `stats` only. Every read is in audit.access_log (object = the report, no
-- person key): the row-level policy dbt puts on each report table asks
-- audit.report_read, which logs once per transaction and object.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_reporter') THEN
        CREATE ROLE kenshin_reporter NOLOGIN;
    END IF;
END
$$;
DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_reporter', current_database()); END $$;

SET ROLE kenshin_owner;

CREATE FUNCTION audit.report_read(object text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    mark text := object || ':' || txid_current();
BEGIN
    -- a policy asks per row: the first row of a transaction logs, the others find the mark
    IF current_setting('kenshin.report_read', TRUE) IS DISTINCT FROM mark THEN
        PERFORM audit.log_access(object, NULL, FALSE);
        PERFORM set_config('kenshin.report_read', mark, TRUE);
    END IF;
    RETURN TRUE;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.report_read(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.report_read(text) TO kenshin_reporter;
COMMENT ON FUNCTION audit.report_read(text) IS
    'The row-level policy of the exact report tables: records the read (once per transaction) with the stated purpose.';

RESET ROLE;
