-- Two promises of the privacy assessment that a staff member could break with
-- ordinary SQL until now:
--
-- * Four eyes with two people. Who acts is the database login
--   (session_user), mapped to a staff identity by ops.staff_member, which only
--   the owner maintains; never kenshin.app_user, which a session writes about
--   itself (that stays a label in the audit trail). A requester cannot approve
--   their own correction, purge or support-measure lift under any name, and a
--   shared login (Airflow's, the superuser's) is one person.
-- * Protection follows the person (支援措置, DOMAIN.md "Sensitive persons"):
--   core.protected_address is the one predicate of "this row would show the
--   address of a person under a support measure": the person herself and
--   everyone who shares her household or her (normalized) address. Staff's
--   row-level security, the review queue, letters and provision copies all
--   ask it. A support measure is set by the registry feed and lifted only by
--   a request another person approves (ops.protection_request).
DO $$
BEGIN
    -- Airflow's login: the only one whose word about an Airflow user (the
    -- approver of a purge in the UI) the database takes
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_scheduler') THEN
        CREATE ROLE kenshin_scheduler NOLOGIN;
    END IF;
END
$$;

SET ROLE kenshin_owner;

-- ------------------------------------------------------------ identities ---
CREATE TABLE ops.staff_member (
    staff_id      text PRIMARY KEY CHECK (staff_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    db_login      name UNIQUE,
    airflow_user  text UNIQUE,
    active        boolean NOT NULL DEFAULT TRUE,
    registered_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ops.staff_member IS
'Staff identities for four-eyes decisions: the database login and the Airflow user of each staff member. '
'Maintained by the owner only (kenshin staff register).';

-- Who acts, as the database knows it: the staff member of the session's login,
-- else the login itself (one identity per login, however it names itself).
CREATE FUNCTION ops.acting_staff() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
RETURN coalesce((SELECT s.staff_id FROM ops.staff_member AS s
                 WHERE s.db_login = session_user AND s.active),
                'login:' || session_user);

-- The staff member behind an Airflow user, when Airflow's own login says so.
CREATE FUNCTION ops.staff_of_airflow_user(airflow_user text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
RETURN CASE WHEN pg_has_role(session_user, 'kenshin_scheduler', 'MEMBER')
            THEN (SELECT s.staff_id FROM ops.staff_member AS s
                   WHERE s.airflow_user = $1 AND s.active) END;

-- A decider counts only as a registered, active staff member.
CREATE FUNCTION ops.is_registered_staff(identity text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
RETURN EXISTS (SELECT 1 FROM ops.staff_member AS s
               WHERE s.staff_id = $1 AND s.active);

-- The four-eyes rule of every decision (corrections, purges, support-measure
-- lifts): an approval needs a registered staff member other than the
-- requester; a refusal, the requester (withdrawing) or a registered member.
CREATE FUNCTION ops.check_second_person(subject text, requester text, decider text, approve boolean)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog
AS $$
BEGIN
    IF approve AND (decider IS NULL OR decider = requester OR NOT ops.is_registered_staff(decider)) THEN
        RAISE EXCEPTION '%: the approver must be a registered staff member other than its requester '
            '(the login decides, not kenshin.app_user)', subject USING ERRCODE = '42501';
    END IF;
    IF NOT approve AND decider IS DISTINCT FROM requester AND NOT coalesce(ops.is_registered_staff(decider), FALSE)
    THEN
        RAISE EXCEPTION '%: only its requester or a registered staff member may refuse it', subject
            USING ERRCODE = '42501';
    END IF;
END
$$;

REVOKE EXECUTE ON FUNCTION ops.acting_staff(), ops.staff_of_airflow_user(text), ops.is_registered_staff(text),
    ops.check_second_person(text, text, text, boolean)
FROM PUBLIC;
REVOKE ALL ON ops.staff_member FROM kenshin_loader;
GRANT EXECUTE ON FUNCTION ops.acting_staff() TO kenshin_staff, kenshin_loader, kenshin_purger, kenshin_protection;
GRANT EXECUTE ON FUNCTION ops.staff_of_airflow_user(text) TO kenshin_purger;

-- ------------------------------------------------------------ corrections ---
-- The requester and the decider are identities of logins now.
CREATE OR REPLACE FUNCTION ops.request_correction(tbl text, record bigint, act text, new_values jsonb, why text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    requester text := ops.acting_staff();
    person char(10);
    bad text [];
    id bigint;
BEGIN
    IF ops.correctable(tbl) IS NULL THEN
        RAISE EXCEPTION 'corrections apply to core.screening or core.detailed_exam, not %', tbl
            USING ERRCODE = '22023';
    END IF;
    IF why IS NULL OR btrim(why) = '' THEN
        RAISE EXCEPTION 'a correction needs a reason' USING ERRCODE = '22023';
    END IF;
    IF act = 'update' THEN
        SELECT array_agg(k) INTO bad FROM jsonb_object_keys(coalesce(new_values, '{}')) AS k
         WHERE k <> ALL (ops.correctable(tbl));
        IF bad IS NOT NULL OR coalesce(new_values, '{}') = '{}' THEN
            RAISE EXCEPTION 'a correction of % may change %, not %', tbl, ops.correctable(tbl),
                coalesce(bad, '{}'::text []) USING ERRCODE = '22023';
        END IF;
    ELSIF act = 'delete' THEN
        new_values := '{}';
    ELSE
        RAISE EXCEPTION 'a correction is an update or a delete' USING ERRCODE = '22023';
    END IF;
    EXECUTE format('SELECT addressee_id FROM %s WHERE %I = $1', tbl,
                   CASE tbl WHEN 'core.screening' THEN 'screening_id' ELSE 'detailed_exam_id' END)
        INTO person USING record;
    IF person IS NULL THEN
        RAISE EXCEPTION '% record % does not exist', tbl, record USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO ops.correction_request (table_name, record_id, addressee_id, action, changes, reason, requested_by)
    VALUES (tbl, record, person, act, new_values, why, requester)
    RETURNING request_id INTO id;
    RETURN id;
END
$$;

CREATE OR REPLACE FUNCTION ops.decide_correction(request bigint, approve boolean) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    decider text := ops.acting_staff();
    r ops.correction_request;
    key_column text;
    columns text;
BEGIN
    SELECT * INTO r FROM ops.correction_request WHERE request_id = request FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION 'correction request % does not exist', request USING ERRCODE = 'P0002';
    END IF;
    IF r.state <> 'requested' THEN
        RAISE EXCEPTION 'correction request % is %, not waiting for a decision', request, r.state
            USING ERRCODE = '55000';
    END IF;
    PERFORM ops.check_second_person('correction request ' || request, r.requested_by, decider, approve);
    IF approve THEN
        key_column := CASE r.table_name WHEN 'core.screening' THEN 'screening_id' ELSE 'detailed_exam_id' END;
        BEGIN
            IF r.action = 'delete' THEN
                EXECUTE format('DELETE FROM %s WHERE %I = $1', r.table_name, key_column) USING r.record_id;
            ELSE
                SELECT string_agg(format('%I', k), ', ') INTO columns FROM jsonb_object_keys(r.changes) AS k;
                EXECUTE format('UPDATE %s AS t SET (%s) = (SELECT %s FROM jsonb_populate_record(t, $1) AS n), '
                               'updated_at = now() WHERE t.%I = $2', r.table_name, columns,
                               regexp_replace(columns, '([^, ]+)', 'n.\1', 'g'), key_column)
                    USING r.changes, r.record_id;
            END IF;
        EXCEPTION
            -- the server's own message would quote the failing row (DETAIL) or the
            -- value (invalid input): name the request and the constraint only
            WHEN foreign_key_violation THEN
                RAISE EXCEPTION 'correction request %: other records refer to % record % (delete them first)',
                    request, r.table_name, r.record_id USING ERRCODE = '23503';
            WHEN integrity_constraint_violation OR data_exception THEN
                RAISE EXCEPTION 'correction request %: the new values break a rule of % (%)', request,
                    r.table_name, SQLSTATE USING ERRCODE = '23514';
        END;
    END IF;
    UPDATE ops.correction_request
       SET state = CASE WHEN approve THEN 'applied' ELSE 'rejected' END,
           decided_by = decider, decided_at = now(),
           changes = (SELECT coalesce(jsonb_object_agg(k, NULL), '{}') FROM jsonb_object_keys(r.changes) AS k)
     WHERE request_id = request;
    RETURN CASE WHEN approve THEN 'applied' ELSE 'rejected' END;
END
$$;

-- ---------------------------------------------------------------- purges ---
-- Who asked is fixed by the database when the plan is recorded; the approval is
-- a function, and no role may write the approval columns or state by hand.
-- Not SECURITY DEFINER: current_user is whoever writes (the owner only inside
-- ops.decide_purge).
CREATE FUNCTION ops.purge_run_identity() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND (SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = current_user) THEN
        RETURN NEW;   -- the DBA (restoring a log, a test's fixture): no trigger stops a superuser anyway
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF pg_has_role(session_user, 'kenshin_scheduler', 'MEMBER') THEN
            -- Airflow plans for the user who triggered the run (or the scheduler)
            NEW.requested_by := coalesce(ops.staff_of_airflow_user(NEW.requested_by), NEW.requested_by);
        ELSE
            NEW.requested_by := ops.acting_staff();
        END IF;
        NEW.state := 'planned';
        NEW.approved_by := NULL;
        NEW.approved_at := NULL;
        RETURN NEW;
    END IF;
    IF current_user <> 'kenshin_owner' AND (
        NEW.requested_by IS DISTINCT FROM OLD.requested_by
        OR NEW.approved_by IS DISTINCT FROM OLD.approved_by
        OR NEW.approved_at IS DISTINCT FROM OLD.approved_at
        OR (NEW.state IS DISTINCT FROM OLD.state AND NEW.state IN ('approved', 'refused'))) THEN
        RAISE EXCEPTION 'purge run %: approvals are recorded by ops.decide_purge only', OLD.run_id
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER purge_run_identity BEFORE INSERT OR UPDATE ON ops.purge_run
FOR EACH ROW EXECUTE FUNCTION ops.purge_run_identity();

-- Approve or refuse a planned run. The approver is the login's staff member,
-- or, from Airflow's login only, the staff member of the Airflow user who
-- answered the approval in the UI. It must be registered staff, not the requester.
CREATE FUNCTION ops.decide_purge(run bigint, approve boolean, airflow_user text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    decider text := CASE WHEN airflow_user IS NULL THEN ops.acting_staff()
                         ELSE ops.staff_of_airflow_user(airflow_user) END;
    r ops.purge_run;
BEGIN
    SELECT * INTO r FROM ops.purge_run WHERE run_id = run FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION 'purge run % does not exist', run USING ERRCODE = 'P0002';
    END IF;
    IF r.state <> 'planned' THEN
        RAISE EXCEPTION 'purge run % is %, not waiting for approval', run, r.state USING ERRCODE = '55000';
    END IF;
    IF airflow_user IS NOT NULL AND decider IS NULL THEN
        RAISE EXCEPTION 'purge run %: the Airflow user who answered is not a registered staff member', run
            USING ERRCODE = '42501';
    END IF;
    PERFORM ops.check_second_person('purge run ' || run, r.requested_by, decider, approve);
    UPDATE ops.purge_run
       SET state = CASE WHEN approve THEN 'approved' ELSE 'refused' END,
           -- a requester withdrawing their own plan is no second person
           approved_by = CASE WHEN decider = r.requested_by THEN NULL ELSE decider END,
           approved_at = now()
     WHERE run_id = run;
    RETURN CASE WHEN approve THEN 'approved' ELSE 'refused' END;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.purge_run_identity(), ops.decide_purge(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.decide_purge(bigint, boolean, text) TO kenshin_purger, kenshin_staff;
-- the approver reads the plan it decides (counts only)
GRANT SELECT ON ops.purge_run, ops.purge_count TO kenshin_staff;
REVOKE UPDATE ON ops.purge_run FROM kenshin_purger;
GRANT UPDATE (state, deleted_rows, started_at, finished_at, verified_at) ON ops.purge_run TO kenshin_purger;

-- ------------------------------------------------- protected addresses ---
CREATE INDEX person_version_flagged ON core.person_version (addressee_id) WHERE protection_flag;
CREATE INDEX person_version_current_household ON core.person_version (household_id) WHERE valid_to IS NULL;
CREATE INDEX person_version_current_address ON core.person_version (address_key) WHERE valid_to IS NULL;

-- Everyone whose rows would show the address of a person under a support
-- measure: she herself, her household (the household head's name locates her
-- too) and anyone at her normalized address. A person is under a measure while
-- any version of theirs carries the flag: a lift (ops.decide_protection_lift)
-- clears every version, so history cannot reopen her old rows either.
CREATE VIEW core.protected_address AS
WITH measure AS (
    SELECT
        c.addressee_id,
        c.household_id,
        c.address_key
    FROM core.person_version AS c
    WHERE
        c.valid_to IS NULL
        AND c.addressee_id IN (
            SELECT f.addressee_id FROM core.person_version AS f
            WHERE f.protection_flag
        )
)

SELECT
    v.addressee_id,
    v.household_id,
    v.address_key
FROM core.person_version AS v
WHERE v.valid_to IS NULL AND v.household_id IN (SELECT m.household_id FROM measure AS m)
UNION
SELECT
    v.addressee_id,
    v.household_id,
    v.address_key
FROM core.person_version AS v
WHERE v.valid_to IS NULL AND v.address_key IN (SELECT m.address_key FROM measure AS m)
UNION
SELECT
    m.addressee_id,
    m.household_id,
    m.address_key
FROM measure AS m;
COMMENT ON VIEW core.protected_address IS
'The one predicate of protection (支援措置): persons whose rows would show the address of a person under a '
'support measure (she, her household, anyone at her normalized address). Every staff path, letter and '
'provision copy asks it.';

CREATE FUNCTION core.address_protected(person char(10)) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
RETURN EXISTS (SELECT 1 FROM core.protected_address AS p
               WHERE p.addressee_id = $1);
REVOKE EXECUTE ON FUNCTION core.address_protected(char) FROM PUBLIC;
GRANT SELECT ON core.protected_address TO kenshin_loader;

-- The row-level security of staff asks the predicate (was: the person's own flag).
CREATE OR REPLACE FUNCTION audit.staff_read(object text, person char(10), holds_address boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    is_protected boolean;
BEGIN
    PERFORM audit.stated_purpose();
    is_protected := core.address_protected(person);
    IF is_protected AND holds_address AND NOT pg_has_role(audit.acting_role(), 'kenshin_protection', 'MEMBER') THEN
        RETURN FALSE;
    END IF;
    PERFORM audit.log_access(object, (SELECT p.person_key FROM core.person p WHERE p.addressee_id = person),
                             is_protected);
    RETURN TRUE;
END
$$;

-- The review queue: the clinic's record shows a name and an address; they are
-- withheld from staff outside kenshin_protection when the record, a candidate
-- or the person it was linked to is at a protected address.
DROP FUNCTION staff.review_record(bigint);
CREATE FUNCTION staff.review_record(item bigint)
RETURNS TABLE (
    review_id bigint, file_name text, line_no integer, source text, reason text, candidates jsonb,
    status text, linked_addressee_id char(10), decided_by text, decided_at timestamptz, decision_reason text,
    name_kana text, name_kanji text, sex smallint, birth_date date, postal_code char(8), address text,
    exam_type char(2), exam_date date, addressee_id char(10), voucher_number char(12), withheld boolean
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    hide boolean;
BEGIN
    PERFORM audit.stated_purpose();
    SELECT (r.linked_addressee_id IS NOT NULL AND core.address_protected(r.linked_addressee_id))
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(r.candidates) AS c
                    WHERE core.address_protected((c ->> 'addressee_id')::char(10)))
        OR coalesce(k.addressee_id, s.addressee_id) IS NOT NULL
           AND core.address_protected(coalesce(k.addressee_id, s.addressee_id))
        OR k.address_key IN (SELECT p.address_key FROM core.protected_address AS p)
      INTO hide
      FROM ops.review_item AS r
      LEFT JOIN landing.kenshin_accepted AS k
        ON r.source = 'kenshin' AND r.load_id = k.load_id AND r.line_no = k.line_no
      LEFT JOIN landing.seiken_accepted AS s ON r.source = 'seiken' AND r.load_id = s.load_id AND r.line_no = s.line_no
     WHERE r.review_id = item;
    hide := coalesce(hide, FALSE) AND NOT pg_has_role(audit.acting_role(), 'kenshin_protection', 'MEMBER');
    PERFORM audit.log_access('ops.review_item:' || item, NULL, hide);
    RETURN QUERY
    SELECT
        r.review_id, m.file_name, r.line_no, r.source, r.reason, r.candidates, r.status,
        r.linked_addressee_id, r.decided_by, r.decided_at, r.decision_reason,
        CASE WHEN hide THEN NULL ELSE coalesce(k.name_kana, s.name_kana) END,
        CASE WHEN hide THEN NULL ELSE coalesce(k.name_kanji, s.name_kanji) END,
        coalesce(k.sex, s.sex), coalesce(k.birth_date, s.birth_date),
        CASE WHEN hide THEN NULL ELSE k.postal_code END,
        CASE WHEN hide THEN NULL ELSE k.address END,
        coalesce(k.exam_type, s.exam_type), coalesce(k.exam_date, s.screening_exam_date),
        coalesce(k.addressee_id, s.addressee_id), k.voucher_number, hide
    FROM ops.review_item AS r
    INNER JOIN ops.load_manifest AS m ON r.load_id = m.load_id
    LEFT JOIN landing.kenshin_accepted AS k
        ON r.source = 'kenshin' AND r.load_id = k.load_id AND r.line_no = k.line_no
    LEFT JOIN landing.seiken_accepted AS s
        ON r.source = 'seiken' AND r.load_id = s.load_id AND r.line_no = s.line_no
    WHERE r.review_id = item;
END
$$;
REVOKE EXECUTE ON FUNCTION staff.review_record(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff.review_record(bigint) TO kenshin_staff;

-- ------------------------------------------------ support measure lifts ---
CREATE TABLE ops.protection_request (
    request_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id  char(10) NOT NULL,
    source        text NOT NULL CHECK (source IN ('registry', 'staff')),
    reason        text NOT NULL CHECK (btrim(reason) <> ''),
    state         text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'applied', 'rejected')),
    requested_by  text NOT NULL,
    requested_at  timestamptz NOT NULL DEFAULT now(),
    decided_by    text,
    decided_at    timestamptz,
    CHECK (state <> 'applied' OR decided_by <> requested_by),
    CHECK ((state = 'requested') = (decided_at IS NULL))
);
CREATE UNIQUE INDEX protection_request_open ON ops.protection_request (addressee_id) WHERE state = 'requested';
COMMENT ON TABLE ops.protection_request IS
'Lifts of a support measure (支援措置の解除): asked by the registry feed or a staff member, applied only when '
'another staff member of kenshin_protection approves. The flag is never lifted any other way.';
CREATE TRIGGER audit_insert AFTER INSERT ON ops.protection_request REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change('r.request_id::text', 'o.request_id = r.request_id');
CREATE TRIGGER audit_update AFTER UPDATE ON ops.protection_request
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change('r.request_id::text', 'o.request_id = r.request_id');
REVOKE ALL ON ops.protection_request FROM kenshin_loader;

-- The registry feed no longer lists a measure: the promotion keeps the flag
-- and files this request (one open request per person).
CREATE FUNCTION ops.registry_lift_requests(load bigint, people char(10) []) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    n integer;
BEGIN
    INSERT INTO ops.protection_request (addressee_id, source, reason, requested_by)
    SELECT DISTINCT l.person, 'registry', 'the resident registry no longer lists the support measure (load '
           || load || ')', 'registry'
      FROM unnest(people) AS l (person)
     WHERE EXISTS (SELECT 1 FROM core.person_version v WHERE v.addressee_id = l.person AND v.protection_flag)
    ON CONFLICT (addressee_id) WHERE state = 'requested' DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

CREATE FUNCTION ops.request_protection_lift(person char(10), why text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    id bigint;
BEGIN
    IF why IS NULL OR btrim(why) = '' THEN
        RAISE EXCEPTION 'a lift of a support measure needs a reason' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM core.person_version v WHERE v.addressee_id = person AND v.protection_flag) THEN
        RAISE EXCEPTION 'that person is under no support measure' USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO ops.protection_request (addressee_id, source, reason, requested_by)
    VALUES (person, 'staff', why, ops.acting_staff())
    ON CONFLICT (addressee_id) WHERE state = 'requested' DO NOTHING
    RETURNING request_id INTO id;
    IF id IS NULL THEN
        RAISE EXCEPTION 'a lift of that person''s support measure is already waiting for a decision'
            USING ERRCODE = '55000';
    END IF;
    RETURN id;
END
$$;

CREATE FUNCTION ops.decide_protection_lift(request bigint, approve boolean) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    decider text := ops.acting_staff();
    r ops.protection_request;
BEGIN
    SELECT * INTO r FROM ops.protection_request WHERE request_id = request FOR UPDATE;
    IF NOT found THEN
        RAISE EXCEPTION 'protection request % does not exist', request USING ERRCODE = 'P0002';
    END IF;
    IF r.state <> 'requested' THEN
        RAISE EXCEPTION 'protection request % is %, not waiting for a decision', request, r.state
            USING ERRCODE = '55000';
    END IF;
    PERFORM ops.check_second_person('protection request ' || request, r.requested_by, decider, approve);
    IF approve THEN
        -- every version: no old row reopens her address afterwards
        UPDATE core.person_version SET protection_flag = FALSE
         WHERE addressee_id = r.addressee_id AND protection_flag;
    END IF;
    UPDATE ops.protection_request
       SET state = CASE WHEN approve THEN 'applied' ELSE 'rejected' END, decided_by = decider, decided_at = now()
     WHERE request_id = request;
    RETURN CASE WHEN approve THEN 'applied' ELSE 'rejected' END;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.registry_lift_requests(bigint, char []), ops.request_protection_lift(char, text),
    ops.decide_protection_lift(bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.registry_lift_requests(bigint, char []) TO kenshin_loader;
GRANT EXECUTE ON FUNCTION ops.request_protection_lift(char, text), ops.decide_protection_lift(bigint, boolean)
TO kenshin_protection;

-- The guard: outside ops.decide_protection_lift (whose current_user is the
-- owner) no statement may clear a flag or add an unflagged version for a
-- person under a measure. Statement-level, over the transition tables: a
-- registry load pays one join with the few flagged rows.
-- Not SECURITY DEFINER: current_user is the writer (the owner inside the
-- approval function; a superuser is the DBA, whom no trigger stops anyway).
CREATE FUNCTION core.guard_protection() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    n bigint;
BEGIN
    IF current_user = 'kenshin_owner' OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT count(*) INTO n FROM old_rows o JOIN new_rows r ON r.version_id = o.version_id
         WHERE o.protection_flag AND NOT r.protection_flag;
    ELSE
        SELECT count(*) INTO n FROM new_rows r
         WHERE NOT r.protection_flag
           AND r.addressee_id IN (SELECT f.addressee_id FROM core.person_version f WHERE f.protection_flag);
    END IF;
    IF n > 0 THEN
        RAISE EXCEPTION 'a support measure (protection_flag) is lifted only by an approved protection request '
            '(% rows refused)', n USING ERRCODE = '42501';
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION core.guard_protection() FROM PUBLIC;
CREATE TRIGGER guard_protection_insert AFTER INSERT ON core.person_version REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION core.guard_protection();
CREATE TRIGGER guard_protection_update AFTER UPDATE ON core.person_version
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION core.guard_protection();

GRANT SELECT ON ops.staff_member, ops.protection_request TO kenshin_auditor;
GRANT SELECT, DELETE ON ops.protection_request TO kenshin_purger;

RESET ROLE;
