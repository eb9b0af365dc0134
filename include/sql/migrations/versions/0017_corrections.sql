-- Four-eyes corrections (privacy assessment: corrections and deletions are
-- checked by a second person). A staff member files a correction or deletion
-- of a screening or detailed-exam record; it takes effect only when a
-- different staff member approves it. Both steps run inside SECURITY DEFINER
-- functions: no role may update or delete those records directly for a
-- correction, and the database, not the client, refuses a requester's own
-- approval (the function and the CHECK). The requested values are kept only
-- until the request is decided; then only the column names remain. Every
-- step is in audit.change_log (the triggers below and those on core).
SET ROLE kenshin_owner;

CREATE TABLE ops.correction_request (
    request_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name      text NOT NULL CHECK (table_name IN ('core.screening', 'core.detailed_exam')),
    record_id       bigint NOT NULL,
    addressee_id    char(10) NOT NULL,
    action          text NOT NULL CHECK (action IN ('update', 'delete')),
    changes         jsonb NOT NULL DEFAULT '{}',
    reason          text NOT NULL CHECK (btrim(reason) <> ''),
    state           text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'applied', 'rejected')),
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    decided_by      text,
    decided_at      timestamptz,
    -- four eyes: whoever applies a request is not whoever filed it
    CHECK (state <> 'applied' OR decided_by <> requested_by),
    CHECK ((state = 'requested') = (decided_at IS NULL))
);
CREATE INDEX correction_request_open ON ops.correction_request (requested_at) WHERE state = 'requested';
COMMENT ON TABLE ops.correction_request IS
'Corrections and deletions of screening data filed by staff, applied only on approval by another staff member.';

-- What a correction may change, per table, and the column that keys a record.
CREATE FUNCTION ops.correctable(tbl text) RETURNS text []
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
RETURN CASE tbl
    WHEN 'core.screening' THEN ARRAY['exam_date', 'clinic_code', 'result_code', 'result_detail', 'fee_exempt']
    WHEN 'core.detailed_exam' THEN ARRAY['followup_date', 'outcome', 'clinic_code']
END;

CREATE FUNCTION ops.request_correction(tbl text, record bigint, act text, new_values jsonb, why text)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    requester text := audit.app_user();
    person char(10);
    bad text [];
    id bigint;
BEGIN
    IF requester IS NULL THEN
        RAISE EXCEPTION 'a correction needs the application user (kenshin.app_user)' USING ERRCODE = '42501';
    END IF;
    IF ops.correctable(tbl) IS NULL THEN
        RAISE EXCEPTION 'corrections apply to core.screening or core.detailed_exam, not %', tbl
            USING ERRCODE = '22023';
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

-- Apply (approve) or refuse a request. The requester may withdraw their own
-- request (refuse it) but never apply it.
CREATE FUNCTION ops.decide_correction(request bigint, approve boolean) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    decider text := audit.app_user();
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
    IF decider IS NULL OR (approve AND decider = r.requested_by) THEN
        RAISE EXCEPTION 'correction request %: the approver must be someone other than its requester', request
            USING ERRCODE = '42501';
    END IF;
    IF approve THEN
        key_column := CASE r.table_name WHEN 'core.screening' THEN 'screening_id' ELSE 'detailed_exam_id' END;
        IF r.action = 'delete' THEN
            BEGIN
                EXECUTE format('DELETE FROM %s WHERE %I = $1', r.table_name, key_column) USING r.record_id;
            EXCEPTION WHEN foreign_key_violation THEN
                -- the DETAIL would quote the referring row: name the request only
                RAISE EXCEPTION 'correction request %: other records refer to % record % (delete them first)',
                    request, r.table_name, r.record_id USING ERRCODE = '23503';
            END;
        ELSE
            SELECT string_agg(format('%I', k), ', ') INTO columns FROM jsonb_object_keys(r.changes) AS k;
            EXECUTE format('UPDATE %s AS t SET (%s) = (SELECT %s FROM jsonb_populate_record(t, $1) AS n), '
                           'updated_at = now() WHERE t.%I = $2', r.table_name, columns,
                           regexp_replace(columns, '([^, ]+)', 'n.\1', 'g'), key_column)
                USING r.changes, r.record_id;
        END IF;
    END IF;
    UPDATE ops.correction_request
       SET state = CASE WHEN approve THEN 'applied' ELSE 'rejected' END,
           decided_by = decider, decided_at = now(),
           -- the values live in core now (or never will): keep only which columns
           changes = (SELECT coalesce(jsonb_object_agg(k, NULL), '{}') FROM jsonb_object_keys(r.changes) AS k)
     WHERE request_id = request;
    RETURN CASE WHEN approve THEN 'applied' ELSE 'rejected' END;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.correctable(text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ops.request_correction(text, bigint, text, jsonb, text) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION ops.decide_correction(bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ops.request_correction(text, bigint, text, jsonb, text) TO kenshin_staff;
GRANT EXECUTE ON FUNCTION ops.decide_correction(bigint, boolean) TO kenshin_staff;
-- staff reach the functions (not the table) in ops
GRANT USAGE ON SCHEMA ops TO kenshin_staff;

CREATE TRIGGER audit_insert AFTER INSERT ON ops.correction_request REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change('r.request_id::text', 'o.request_id = r.request_id');
CREATE TRIGGER audit_update AFTER UPDATE ON ops.correction_request
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change('r.request_id::text', 'o.request_id = r.request_id');
CREATE TRIGGER audit_delete AFTER DELETE ON ops.correction_request REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION audit.log_change('r.request_id::text', 'o.request_id = r.request_id');

-- ops' default privileges give the loader new tables: not this one
REVOKE ALL ON ops.correction_request FROM kenshin_loader;
GRANT SELECT ON ops.correction_request TO kenshin_auditor;
GRANT SELECT, DELETE ON ops.correction_request TO kenshin_purger;

RESET ROLE;
