-- Every read of a person's record leaves a row a rollback cannot undo, and
-- names a purpose the city knows.
--
-- The access log used to be written inside the reader's transaction, so
-- BEGIN; SELECT ...; ROLLBACK (or a savepoint) read the city and left nothing.
-- Now audit.log_access writes each row through dblink, on a connection of its
-- own (the login kenshin_access_logger, which may only insert into the access
-- log), committed before the row it records is returned to the reader. If that
-- connection cannot be made the read fails: no log, no data.
--
-- The purpose is a code of audit.access_purpose (include/config/audit.yaml,
-- synchronised by `kenshin db migrate`), set as kenshin.purpose; free text goes
-- beside it in kenshin.purpose_note.
--
-- The server's own log: PostgreSQL writes a failing row's values into its log
-- (DETAIL "Failing row contains ...", the statement, its parameters). The
-- settings below keep them out of it for this database; the embedded cluster and
-- the compose service set them server-wide too (kenshin.platform.db, README).
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA public;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_access_logger') THEN
        -- no password: it connects over the server's own socket (pg_hba: local)
        CREATE ROLE kenshin_access_logger LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_access_logger', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_error_verbosity = terse', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_min_error_statement = panic', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_parameter_max_length = 0', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_parameter_max_length_on_error = 0', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_statement = none', current_database());
    EXECUTE format('ALTER DATABASE %I SET log_min_duration_statement = -1', current_database());
END
$$;
-- the owner's functions open the logger's connection (any authentication the
-- server accepts for it locally) and find the server's socket
GRANT EXECUTE ON FUNCTION public.dblink_connect_u(text, text), public.dblink_exec(text, text, boolean),
    public.dblink_get_connections() TO kenshin_owner;
GRANT pg_read_all_settings TO kenshin_owner;
GRANT USAGE ON SCHEMA public TO kenshin_owner;
GRANT USAGE ON SCHEMA audit TO kenshin_access_logger;

SET ROLE kenshin_owner;

CREATE TABLE audit.access_purpose (
    code      text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,40}$'),
    label_ja  text NOT NULL,
    label_en  text NOT NULL,
    active    boolean NOT NULL DEFAULT TRUE
);
COMMENT ON TABLE audit.access_purpose IS
'The purposes a staff member may state for reading a person''s record (include/config/audit.yaml).';

ALTER TABLE audit.access_log ADD COLUMN purpose_note text;
COMMENT ON COLUMN audit.access_log.purpose_note IS 'Free text the reader gave beside the purpose code.';

GRANT INSERT (db_role, login, app_user, purpose, purpose_note, object, person_key, protected, xact)
    ON audit.access_log TO kenshin_access_logger;
-- ON CONFLICT DO NOTHING needs to see the arbiter's rows
GRANT SELECT (xact, db_role, object, person_key, purpose) ON audit.access_log TO kenshin_access_logger;

-- The stated purpose, checked: a known, active code.
CREATE FUNCTION audit.stated_purpose() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    stated text := nullif(btrim(current_setting('kenshin.purpose', TRUE)), '');
BEGIN
    IF stated IS NULL THEN
        RAISE EXCEPTION 'state the purpose of the access first: set_config(''kenshin.purpose'', CODE) with a code '
            'of include/config/audit.yaml' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit.access_purpose p WHERE p.code = stated AND p.active) THEN
        RAISE EXCEPTION 'kenshin.purpose must be one of the purpose codes of include/config/audit.yaml'
            USING ERRCODE = '42501';
    END IF;
    RETURN stated;
END
$$;

-- One row of the access log, written and committed on the logger's own
-- connection (opened once per session).
CREATE FUNCTION audit.log_access(object text, person_key text, is_protected boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    link text := 'kenshin_access_log';
BEGIN
    IF NOT link = ANY (coalesce(public.dblink_get_connections(), '{}')) THEN
        PERFORM public.dblink_connect_u(link, format(
            'host=%s port=%s dbname=%s user=kenshin_access_logger application_name=kenshin_access_log',
            split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
            current_database()));
    END IF;
    PERFORM public.dblink_exec(link, format(
        'INSERT INTO audit.access_log (db_role, login, app_user, purpose, purpose_note, object, person_key, '
        'protected, xact) VALUES (%L, %L, %L, %L, %L, %L, %L, %L, %s) ON CONFLICT DO NOTHING',
        audit.acting_role(), session_user, audit.app_user(), audit.stated_purpose(),
        nullif(btrim(current_setting('kenshin.purpose_note', TRUE)), ''), object, person_key, is_protected,
        txid_current()), TRUE);
END
$$;
REVOKE EXECUTE ON FUNCTION audit.stated_purpose(), audit.log_access(text, text, boolean) FROM PUBLIC;
GRANT SELECT ON audit.access_purpose TO kenshin_auditor;

-- audit.staff_read and staff.review_record log through it from migration 0021
-- on (which rewrites them for the protection predicate as well).

RESET ROLE;
