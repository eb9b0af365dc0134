-- Pseudonyms the auditor cannot reverse. The audit trail names persons by
-- their pseudonymous key; the auditor used to be able to read tables in ops
-- that hold the addressee id beside other keys (record matches: who was
-- screened where; review items; correction requests with the requested
-- values), so a person key could be mapped back. Now the auditor reads every
-- ops and audit table without its identifying and value columns (column
-- grants: counts, states, times and reasons stay readable). Whoever needs
-- identity for an investigation uses audit.identify_person, granted to
-- kenshin_investigator only, which logs each use in the access log (outside
-- the caller's transaction, with a stated purpose).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_investigator') THEN
        CREATE ROLE kenshin_investigator NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_investigator', current_database());
END
$$;

SET ROLE kenshin_owner;

DO $$
DECLARE
    t record;
    hidden text [] := ARRAY['addressee_id', 'linked_addressee_id', 'candidates', 'changes', 'old_values',
                            'new_values'];
BEGIN
    FOR t IN
        SELECT c.oid, n.nspname, c.relname,
               string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                   FILTER (WHERE a.attname <> ALL (hidden)) AS shown
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE n.nspname IN ('ops', 'audit') AND c.relkind IN ('r', 'v')
           AND has_table_privilege('kenshin_auditor', c.oid, 'SELECT')
         GROUP BY c.oid, n.nspname, c.relname
        HAVING bool_or(a.attname = ANY (hidden))
    LOOP
        EXECUTE format('REVOKE SELECT ON %I.%I FROM kenshin_auditor', t.nspname, t.relname);
        EXECUTE format('GRANT SELECT (%s) ON %I.%I TO kenshin_auditor', t.shown, t.nspname, t.relname);
    END LOOP;
END
$$;
-- a new ops table is not the auditor's by default any more: it is granted by its migration
ALTER DEFAULT PRIVILEGES FOR ROLE kenshin_owner IN SCHEMA ops REVOKE SELECT ON TABLES FROM kenshin_auditor;

CREATE FUNCTION audit.identify_person(key text) RETURNS char(10)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    found char(10);
BEGIN
    PERFORM audit.stated_purpose();
    SELECT p.addressee_id INTO found FROM core.person p WHERE p.person_key = key;
    PERFORM audit.log_access('audit.identify_person', key, found IS NOT NULL AND core.address_protected(found));
    RETURN found;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.identify_person(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.identify_person(text) TO kenshin_investigator;
GRANT USAGE ON SCHEMA audit TO kenshin_investigator;

RESET ROLE;
