-- Least privilege, enforced in the database (ARCHITECTURE.md, roles):
--
-- * Health promotion staff (kenshin_staff) no longer reach core: they read a
--   person's data only through the security_invoker views of the `staff`
--   schema (and staff.screening_history), so the row-level security of the
--   core tables applies to them: every row a staff member is shown leaves a
--   row in audit.access_log (who, when, which person by pseudonymous key, the
--   stated purpose), and nothing is shown before a purpose is stated
--   (set_config('kenshin.purpose', ...)).
-- * Protection-flagged persons (DV and stalking victims, DOMAIN.md): the rows
--   holding their addresses (person_version, person_event) are visible only to
--   the designated role kenshin_protection (staff who handle them by hand).
-- * The loader and the purger keep what they had; row-level security gives
--   them every row (their policies are `true`). Table owners (kenshin_owner,
--   and the migrations and dbt's login in development) are not subject to it.
-- * Nothing for PUBLIC, functions included.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_protection') THEN
        CREATE ROLE kenshin_protection NOLOGIN;
    END IF;
END
$$;
-- the designated role is staff with the protected persons' rows
GRANT kenshin_staff TO kenshin_protection;
DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_protection', current_database()); END $$;

CREATE SCHEMA staff AUTHORIZATION kenshin_owner;

SET ROLE kenshin_owner;

ALTER DEFAULT PRIVILEGES FOR ROLE kenshin_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- ------------------------------------------------------------ access log ---
CREATE TABLE audit.access_log (
    access_id    bigint GENERATED ALWAYS AS IDENTITY,
    accessed_at  timestamptz NOT NULL DEFAULT now(),
    db_role      text NOT NULL,
    login        text NOT NULL,
    app_user     text,
    purpose      text NOT NULL,
    object       text NOT NULL,
    person_key   text,
    protected    boolean NOT NULL,
    xact         bigint NOT NULL DEFAULT txid_current()
);
-- one row per transaction, reader, object, person and purpose however often it is read
CREATE UNIQUE INDEX access_log_once ON audit.access_log (xact, db_role, object, person_key, purpose) NULLS NOT DISTINCT;
CREATE INDEX access_log_accessed_at ON audit.access_log (accessed_at);
COMMENT ON TABLE audit.access_log IS
'Every staff read of a person''s record: when, role, login, application user, stated purpose, '
'object read, pseudonymous person key, whether the person is protection-flagged (never values).';

-- The row-level security policy of staff on a core table: refuses without a
-- stated purpose; hides the rows holding a protected person's address from
-- anyone outside kenshin_protection; records every row it lets through.
CREATE FUNCTION audit.staff_read(object text, person char(10), holds_address boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    purpose text := nullif(current_setting('kenshin.purpose', TRUE), '');
    is_protected boolean;
BEGIN
    IF purpose IS NULL THEN
        RAISE EXCEPTION 'state the purpose of the access first: set_config(''kenshin.purpose'', ...)'
            USING ERRCODE = '42501';
    END IF;
    is_protected := EXISTS (SELECT 1 FROM core.person_version v WHERE v.addressee_id = person AND v.protection_flag);
    IF is_protected AND holds_address AND NOT pg_has_role(audit.acting_role(), 'kenshin_protection', 'MEMBER') THEN
        RETURN FALSE;
    END IF;
    INSERT INTO audit.access_log (db_role, login, app_user, purpose, object, person_key, protected)
    VALUES (audit.acting_role(), session_user, audit.app_user(), purpose, object,
            (SELECT p.person_key FROM core.person p WHERE p.addressee_id = person), is_protected)
    ON CONFLICT DO NOTHING;
    RETURN TRUE;
END
$$;
REVOKE EXECUTE ON FUNCTION audit.staff_read(text, char, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.staff_read(text, char, boolean) TO kenshin_staff;

-- -------------------------------------------------------- row-level security ---
DO $$
DECLARE
    t record;
BEGIN
    -- every core table; staff read those with a person's data (not the ledger's
    -- key table, not the letters' causes); two of them hold addresses
    FOR t IN
        SELECT
            c.relname AS name,
            CASE WHEN c.relname IN ('person_version', 'person_event') THEN TRUE
                 WHEN c.relname NOT IN ('person', 'notice_cause') THEN FALSE
            END AS holds_address
        FROM pg_class AS c INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid
        WHERE n.nspname = 'core' AND c.relkind = 'r'
    LOOP
        EXECUTE format('ALTER TABLE core.%I ENABLE ROW LEVEL SECURITY', t.name);
        EXECUTE format('CREATE POLICY loader ON core.%I FOR ALL TO kenshin_loader USING (TRUE) WITH CHECK (TRUE)',
                       t.name);
        EXECUTE format('CREATE POLICY purger ON core.%I FOR ALL TO kenshin_purger USING (TRUE) WITH CHECK (TRUE)',
                       t.name);
        IF t.holds_address IS NOT NULL THEN
            EXECUTE format('CREATE POLICY staff_read ON core.%I FOR SELECT TO kenshin_staff '
                           'USING (audit.staff_read(%L, addressee_id, %L))', t.name, 'core.' || t.name,
                           t.holds_address);
        END IF;
    END LOOP;
END
$$;

-- --------------------------------------------------------------- staff views ---
-- What staff see of a person: no individual number, insured number or case
-- number. security_invoker: the reader's own rights and row-level security apply.
CREATE VIEW staff.person WITH (security_invoker = TRUE) AS
SELECT
    addressee_id,
    valid_from,
    valid_to,
    household_id,
    name_kanji,
    name_kana,
    sex,
    birth_date,
    relationship,
    household_head_name,
    postal_code,
    ward_code,
    address,
    resident_since,
    previous_address,
    previous_municipality_code,
    status,
    protection_flag
FROM core.person_version;

CREATE VIEW staff.person_event WITH (security_invoker = TRUE) AS
SELECT
    event_id,
    addressee_id,
    event_code,
    event_date,
    previous_municipality_code,
    previous_address
FROM core.person_event;

CREATE VIEW staff.welfare_period WITH (security_invoker = TRUE) AS
SELECT
    addressee_id,
    benefit_type,
    start_date,
    end_date
FROM core.welfare_period;

CREATE VIEW staff.nhi_period WITH (security_invoker = TRUE) AS
SELECT
    addressee_id,
    qualified_from,
    qualified_to
FROM core.nhi_period;

CREATE VIEW staff.voucher WITH (security_invoker = TRUE) AS
SELECT
    voucher_number,
    addressee_id,
    fiscal_year,
    exam_types,
    issued_on
FROM core.voucher;

CREATE VIEW staff.screening WITH (security_invoker = TRUE) AS
SELECT
    screening_id,
    addressee_id,
    exam_type,
    exam_date,
    clinic_code,
    result_code,
    result_detail,
    fee_exempt,
    link_method,
    updated_at
FROM core.screening;

CREATE VIEW staff.detailed_exam WITH (security_invoker = TRUE) AS
SELECT
    detailed_exam_id,
    screening_id,
    addressee_id,
    followup_date,
    outcome,
    clinic_code,
    updated_at
FROM core.detailed_exam;

CREATE VIEW staff.external_screening WITH (security_invoker = TRUE) AS
SELECT
    external_screening_id,
    addressee_id,
    exam_type,
    exam_date,
    result_code,
    followup_outcome,
    source_municipality_code
FROM core.external_screening;

CREATE VIEW staff.notice WITH (security_invoker = TRUE) AS
SELECT
    notice_id,
    kind,
    addressee_id,
    fiscal_year,
    exam_types,
    as_of,
    deadline,
    delivery,
    batch,
    created_at
FROM core.notice;

-- 経年管理 of one person (the dbt mart marts.screening_history, which only
-- kenshin_owner may read): through this function, recorded like the views.
CREATE FUNCTION staff.screening_history(person char(10))
RETURNS TABLE (
    addressee_id text, person_key text, programme text, exam_type text, exam_date date, fiscal_year integer,
    age_in_fiscal_year integer, result_code text, detailed_exam_status text, detailed_exam_outcome text,
    detailed_exam_date date, is_first_time boolean, is_interval_kept boolean, next_due_from date,
    source_municipality_code text
)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    IF NOT audit.staff_read('marts.screening_history', person, FALSE) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT h.addressee_id::text, h.person_key::text, h.programme::text, h.exam_type::text, h.exam_date::date,
           h.fiscal_year::integer, h.age_in_fiscal_year::integer, h.result_code::text,
           h.detailed_exam_status::text, h.detailed_exam_outcome::text, h.detailed_exam_date::date,
           h.is_first_time::boolean, h.is_interval_kept::boolean, h.next_due_from::date,
           h.source_municipality_code::text
      FROM marts.screening_history AS h
     WHERE h.addressee_id = person
     ORDER BY h.exam_date, h.exam_type;
END
$$;
REVOKE EXECUTE ON FUNCTION staff.screening_history(char) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff.screening_history(char) TO kenshin_staff;

-- ------------------------------------------------------------------- grants ---
-- staff: no schema core, no ops; the staff views, and the base columns they show
REVOKE USAGE ON SCHEMA core FROM kenshin_staff;
REVOKE ALL ON ALL TABLES IN SCHEMA core FROM kenshin_staff;
REVOKE ALL ON ops.linkage_request FROM kenshin_staff;
GRANT USAGE ON SCHEMA staff TO kenshin_staff;
GRANT SELECT ON ALL TABLES IN SCHEMA staff TO kenshin_staff;
GRANT SELECT (addressee_id, valid_from, valid_to, household_id, name_kanji, name_kana, sex, birth_date, relationship,
              household_head_name, postal_code, ward_code, address, resident_since, previous_address,
              previous_municipality_code, status, protection_flag) ON core.person_version TO kenshin_staff;
GRANT SELECT (event_id, addressee_id, event_code, event_date, previous_municipality_code, previous_address)
    ON core.person_event TO kenshin_staff;
GRANT SELECT (addressee_id, benefit_type, start_date, end_date) ON core.welfare_period TO kenshin_staff;
GRANT SELECT (addressee_id, qualified_from, qualified_to) ON core.nhi_period TO kenshin_staff;
GRANT SELECT (voucher_number, addressee_id, fiscal_year, exam_types, issued_on) ON core.voucher TO kenshin_staff;
GRANT SELECT (screening_id, addressee_id, exam_type, exam_date, clinic_code, result_code, result_detail, fee_exempt,
              link_method, updated_at) ON core.screening TO kenshin_staff;
GRANT SELECT (detailed_exam_id, screening_id, addressee_id, followup_date, outcome, clinic_code, updated_at)
    ON core.detailed_exam TO kenshin_staff;
GRANT SELECT (external_screening_id, addressee_id, source_municipality_code, exam_type, exam_date, result_code,
              followup_outcome) ON core.external_screening TO kenshin_staff;
GRANT SELECT (notice_id, kind, addressee_id, fiscal_year, exam_types, as_of, deadline, delivery, batch, created_at)
    ON core.notice TO kenshin_staff;

-- the loader writes tables, never through views; the purge log and the
-- deletion log are written by the purger and by triggers, never by the loader
-- (which could otherwise approve a purge in its place)
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON core.person_current, landing.jumin_accepted, landing.seiho_accepted,
landing.kokuho_accepted, landing.kenshin_accepted, landing.seiken_accepted, landing.shokai_res_accepted
FROM kenshin_loader;
REVOKE INSERT, UPDATE ON ops.purge_run, ops.purge_count, ops.deletion_log FROM kenshin_loader;

-- the auditor reads the whole audit schema; the purger removes it after the audit period
GRANT SELECT ON audit.access_log TO kenshin_auditor;
GRANT SELECT, DELETE ON audit.access_log TO kenshin_purger;

RESET ROLE;
