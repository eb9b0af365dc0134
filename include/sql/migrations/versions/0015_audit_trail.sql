-- Audit trail of the ledger (ARCHITECTURE.md, audit: who did what to which
-- record). Every INSERT, UPDATE and DELETE on a core table leaves one row per
-- record in audit.change_log: when, the database role acting (the SET ROLE of
-- the session, else its login), the login, the application user the platform
-- passes (set_config('kenshin.app_user', ...) in kenshin.db.connect), the
-- table, the record's key, the person's pseudonymous key and, for an update,
-- the NAMES of the columns that changed. Never a value: the values stay in
-- core, where the purge finds them.
--
-- Statement-level triggers with transition tables write a statement's rows in
-- one INSERT ... SELECT: a registry load promoting 1.56M rows pays for one
-- bulk insert per statement, not a trigger call per row.
SET ROLE kenshin_owner;

CREATE TABLE audit.change_log (
    change_id        bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000),
    changed_at       timestamptz NOT NULL DEFAULT now(),
    db_role          text NOT NULL,
    login            text NOT NULL,
    app_user         text,
    operation        text NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    table_name       text NOT NULL,
    record_key       text,
    person_key       text,
    changed_columns  text []
);
-- append-only and read by time (the access review) or by person: a BRIN index
-- costs the bulk loads almost nothing
CREATE INDEX change_log_changed_at ON audit.change_log USING brin (changed_at);
COMMENT ON TABLE audit.change_log IS
'Every insert, update and delete on core: when, role, login, application user, table, record key, '
'pseudonymous person key, names of the changed columns (never values).';

-- Who acts: the role the session SET (kenshin.db.connect always does), else
-- its login. current_setting('role') is the session's, also inside SECURITY
-- DEFINER functions, whose current_user is their owner.
CREATE FUNCTION audit.acting_role() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog
RETURN CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END;

CREATE FUNCTION audit.app_user() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog
RETURN nullif(current_setting('kenshin.app_user', TRUE), '');

-- TG_ARGV[0]: SQL expression of the record's key over the alias r;
-- TG_ARGV[1]: join condition of an updated row r with its old version o.
CREATE FUNCTION audit.log_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
-- a bulk statement's estimate would trigger JIT compilation costing more than the insert
SET jit = off
AS $$
DECLARE
    tbl text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
    person text;
    src text;
    changed text := 'NULL';
BEGIN
    IF TG_OP = 'DELETE' THEN
        src := 'old_rows r';
    ELSIF TG_OP = 'INSERT' THEN
        src := 'new_rows r';
    ELSE
        -- each row's two versions as jsonb once (OFFSET 0 keeps the planner from
        -- inlining to_jsonb into the comparison of every column); the changed
        -- columns are the keys whose values differ
        src := '(SELECT r.*, to_jsonb(r) AS new_json, to_jsonb(o) AS old_json FROM new_rows r JOIN old_rows o ON '
               || TG_ARGV[1] || ' OFFSET 0) r';
        changed := '(SELECT coalesce(array_agg(c.key ORDER BY c.key), ''{}'') FROM jsonb_each(r.new_json) c '
                   'WHERE c.value IS DISTINCT FROM r.old_json -> c.key)';
    END IF;
    IF TG_TABLE_NAME = 'person' THEN
        person := 'r.person_key';
    ELSE
        person := 'p.person_key';
        src := src || ' LEFT JOIN core.person p ON p.addressee_id = r.addressee_id';
    END IF;
    EXECUTE format(
        'INSERT INTO audit.change_log (db_role, login, app_user, operation, table_name, record_key, person_key, '
        'changed_columns) SELECT %L, %L, %L, %L, %L, %s, %s, %s FROM %s',
        audit.acting_role(), session_user, audit.app_user(), lower(TG_OP), tbl, TG_ARGV[0], person, changed, src);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.log_change() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit.acting_role() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION audit.app_user() FROM PUBLIC;

-- One trigger per operation and table (a trigger with transition tables fires
-- on one event). The key of each table and how an updated row meets its old one.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT * FROM (VALUES
            ('person', 'NULL', 'o.addressee_id = r.addressee_id'),
            ('person_version', 'r.version_id::text', 'o.version_id = r.version_id'),
            ('person_event', 'r.event_id::text', 'o.event_id = r.event_id'),
            ('welfare_period', 'r.start_date::text',
             'o.addressee_id = r.addressee_id AND o.case_number = r.case_number AND o.start_date = r.start_date'),
            ('nhi_period', 'r.qualified_from::text',
             'o.addressee_id = r.addressee_id AND o.qualified_from = r.qualified_from'),
            ('voucher', 'r.fiscal_year::text', 'o.voucher_number = r.voucher_number'),
            ('screening', 'r.screening_id::text', 'o.screening_id = r.screening_id'),
            ('detailed_exam', 'r.detailed_exam_id::text', 'o.detailed_exam_id = r.detailed_exam_id'),
            ('external_screening', 'r.external_screening_id::text',
             'o.external_screening_id = r.external_screening_id'),
            ('notice', 'r.notice_id::text', 'o.notice_id = r.notice_id'),
            ('notice_cause', 'r.notice_id::text || '':'' || r.cause',
             'o.kind = r.kind AND o.addressee_id = r.addressee_id AND o.cause = r.cause')
        ) AS v (name, key_expr, join_expr)
    LOOP
        EXECUTE format('CREATE TRIGGER audit_insert AFTER INSERT ON core.%I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change(%L, %L)', t.name, t.key_expr, t.join_expr);
        EXECUTE format('CREATE TRIGGER audit_update AFTER UPDATE ON core.%I '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change(%L, %L)', t.name, t.key_expr, t.join_expr);
        EXECUTE format('CREATE TRIGGER audit_delete AFTER DELETE ON core.%I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change(%L, %L)', t.name, t.key_expr, t.join_expr);
    END LOOP;
END
$$;

GRANT SELECT ON audit.change_log TO kenshin_auditor;
-- the purge removes audit rows past the audit period (retention.yaml audit_years)
GRANT SELECT, DELETE ON audit.change_log TO kenshin_purger;

RESET ROLE;
