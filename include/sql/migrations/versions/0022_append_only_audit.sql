-- An audit trail nobody erases (privacy assessment: 記録の改ざん・消去の防止).
--
-- * No role may update, delete or truncate audit.change_log, audit.access_log
--   or audit.record_correction: the grants are gone and a trigger refuses it
--   for anyone, the owner's runtime roles included, outside the two SECURITY
--   DEFINER functions of the retention purge: audit.expire_rows (rows past the
--   audit period) and audit.scrub_correction_values (values of records purged).
--   Both log what they did (audit.expired_row, audit.scrubbed_values) with the
--   hash of what they removed.
-- * A hash chain detects what the grants cannot stop (a superuser, the owner
--   dropping a trigger): audit.seal() closes every row written by transactions
--   that have all ended (their ids below the snapshot's xmin) into a seal whose
--   hash covers the previous seal's hash and the hash of each row (or of each
--   row the purge expired, from its log). audit.verify() recomputes every seal:
--   a deleted, altered or inserted row, or a removed seal, breaks it
--   (`kenshin audit verify`).
SET ROLE kenshin_owner;

ALTER TABLE audit.change_log ADD COLUMN written_xact bigint NOT NULL DEFAULT txid_current();
ALTER TABLE audit.access_log ADD COLUMN written_xact bigint NOT NULL DEFAULT txid_current();
ALTER TABLE audit.record_correction ADD COLUMN written_xact bigint NOT NULL DEFAULT txid_current();
CREATE INDEX change_log_written_xact ON audit.change_log USING brin (written_xact);
CREATE INDEX access_log_written_xact ON audit.access_log (written_xact);
CREATE INDEX record_correction_written_xact ON audit.record_correction (written_xact);

-- the audit period the functions enforce (retention.yaml audit_years, copied by `kenshin db migrate`)
CREATE TABLE audit.policy (
    singleton    boolean PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    audit_years  integer NOT NULL CHECK (audit_years > 0)
);
INSERT INTO audit.policy (audit_years) VALUES (15);

CREATE TABLE audit.seal (
    seal_id    bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
    sealed_at  timestamptz NOT NULL DEFAULT now(),
    xact_from  bigint NOT NULL,
    xact_to    bigint NOT NULL,
    row_count  bigint NOT NULL,
    prev_hash  bytea,
    hash       bytea NOT NULL
);
COMMENT ON TABLE audit.seal IS
'The hash chain of the audit trail: each seal covers the rows written by transactions in [xact_from, xact_to) '
'and the previous seal''s hash.';

CREATE TABLE audit.expired_row (
    table_name    text NOT NULL,
    row_id        bigint NOT NULL,
    written_xact  bigint NOT NULL,
    row_hash      bytea NOT NULL,
    expired_at    timestamptz NOT NULL DEFAULT now(),
    expired_by    text NOT NULL,
    PRIMARY KEY (table_name, row_id)
);
COMMENT ON TABLE audit.expired_row IS
'Audit rows the retention purge removed past the audit period: which, when, by whom, and the row''s hash '
'(the seal that covered it still verifies).';

CREATE TABLE audit.scrubbed_values (
    correction_id  bigint PRIMARY KEY,
    values_hash    bytea NOT NULL,
    scrubbed_at    timestamptz NOT NULL DEFAULT now(),
    scrubbed_by    text NOT NULL
);
COMMENT ON TABLE audit.scrubbed_values IS
'Corrections whose values the retention purge scrubbed (the record is gone): the hash of the values before.';

CREATE FUNCTION audit.values_hash(old_values jsonb, new_values jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
RETURN sha256(convert_to(coalesce(old_values::text, '') || '|' || coalesce(new_values::text, ''), 'UTF8'));

-- The hash of each audit row, the same at sealing, expiry and verification
-- (jsonb text with timestamps in UTC: no session setting changes it).
CREATE FUNCTION audit.row_hashes(xfrom bigint, xto bigint, only_table text DEFAULT NULL,
                                 only_ids bigint [] DEFAULT NULL)
RETURNS TABLE (table_name text, row_id bigint, written_xact bigint, row_hash bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
SET timezone = 'UTC'
SET datestyle = 'ISO, YMD'
AS $$
    SELECT 'audit.change_log', c.change_id, c.written_xact,
           sha256(convert_to('audit.change_log' || to_jsonb(c)::text, 'UTF8'))
      FROM audit.change_log c
     WHERE c.written_xact >= xfrom AND c.written_xact < xto
       AND coalesce(only_table = 'audit.change_log', TRUE) AND (only_ids IS NULL OR c.change_id = ANY (only_ids))
    UNION ALL
    SELECT 'audit.access_log', a.access_id, a.written_xact,
           sha256(convert_to('audit.access_log' || to_jsonb(a)::text, 'UTF8'))
      FROM audit.access_log a
     WHERE a.written_xact >= xfrom AND a.written_xact < xto
       AND coalesce(only_table = 'audit.access_log', TRUE) AND (only_ids IS NULL OR a.access_id = ANY (only_ids))
    UNION ALL
    SELECT 'audit.record_correction', r.correction_id, r.written_xact,
           sha256(convert_to('audit.record_correction'
                             || (to_jsonb(r) - 'old_values' - 'new_values' - 'values_purged_at')::text, 'UTF8')
                  || coalesce(s.values_hash, audit.values_hash(r.old_values, r.new_values)))
      FROM audit.record_correction r
      LEFT JOIN audit.scrubbed_values s ON s.correction_id = r.correction_id
     WHERE r.written_xact >= xfrom AND r.written_xact < xto
       AND coalesce(only_table = 'audit.record_correction', TRUE)
       AND (only_ids IS NULL OR r.correction_id = ANY (only_ids))
    UNION ALL
    SELECT e.table_name, e.row_id, e.written_xact, e.row_hash
      FROM audit.expired_row e
     WHERE e.written_xact >= xfrom AND e.written_xact < xto AND only_table IS NULL
$$;

CREATE FUNCTION audit.seal_digest(prev bytea, xfrom bigint, xto bigint, OUT n bigint, OUT digest bytea)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
    SELECT count(*), sha256(coalesce(prev, ''::bytea)
                            || coalesce(string_agg(h.row_hash, ''::bytea ORDER BY h.table_name, h.row_id), ''::bytea))
      FROM audit.row_hashes(xfrom, xto) h
$$;

-- Close every row of ended transactions into the next seal; returns it (null: nothing new).
CREATE FUNCTION audit.seal() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    last audit.seal;
    xfrom bigint;
    xto bigint := txid_snapshot_xmin(txid_current_snapshot());
    d record;
    id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('audit.seal'));
    SELECT * INTO last FROM audit.seal ORDER BY seal_id DESC LIMIT 1;
    xfrom := coalesce(last.xact_to, 0);
    IF xto <= xfrom THEN
        RETURN NULL;
    END IF;
    d := audit.seal_digest(last.hash, xfrom, xto);
    INSERT INTO audit.seal (xact_from, xact_to, row_count, prev_hash, hash)
    VALUES (xfrom, xto, d.n, last.hash, d.digest)
    RETURNING seal_id INTO id;
    RETURN id;
END
$$;

-- Every seal recomputed; one row per problem found (none: the trail is whole).
CREATE FUNCTION audit.verify() RETURNS TABLE (seal_id bigint, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    s audit.seal;
    prev audit.seal;
    d record;
BEGIN
    FOR s IN SELECT * FROM audit.seal ORDER BY seal_id LOOP
        -- seal ids are consecutive from 1 (made one at a time, under a lock)
        IF s.seal_id <> coalesce(prev.seal_id, 0) + 1 THEN
            seal_id := s.seal_id; problem := 'seals before it are missing'; RETURN NEXT;
        END IF;
        IF prev.seal_id IS NULL AND (s.xact_from <> 0 OR s.prev_hash IS NOT NULL) THEN
            seal_id := s.seal_id; problem := 'the chain does not start at the first seal'; RETURN NEXT;
        END IF;
        IF prev.seal_id IS NOT NULL AND (s.xact_from <> prev.xact_to OR s.prev_hash IS DISTINCT FROM prev.hash) THEN
            seal_id := s.seal_id; problem := 'a seal before it is missing or altered'; RETURN NEXT;
        END IF;
        d := audit.seal_digest(s.prev_hash, s.xact_from, s.xact_to);
        IF d.n <> s.row_count THEN
            seal_id := s.seal_id;
            problem := format('%s rows sealed, %s found: rows deleted or added', s.row_count, d.n);
            RETURN NEXT;
        ELSIF d.digest <> s.hash THEN
            seal_id := s.seal_id; problem := 'a sealed row was altered'; RETURN NEXT;
        END IF;
        prev := s;
    END LOOP;
END
$$;

-- The purge's two ways into the trail. A transaction-local mark lets the
-- guard trigger pass their own statements only.
CREATE FUNCTION audit.expire_rows(tbl text, ids bigint [], cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    limit_at timestamptz := least(cutoff, now() - make_interval(years => (SELECT audit_years FROM audit.policy)));
    key_col text;
    time_col text;
    n bigint;
BEGIN
    SELECT k, t INTO key_col, time_col FROM (VALUES
        ('audit.change_log', 'change_id', 'changed_at'),
        ('audit.access_log', 'access_id', 'accessed_at'),
        ('audit.record_correction', 'correction_id', 'changed_at')) AS v (name, k, t)
     WHERE v.name = tbl;
    IF key_col IS NULL THEN
        RAISE EXCEPTION 'audit.expire_rows: no audit table %', tbl USING ERRCODE = '22023';
    END IF;
    EXECUTE format('SELECT array_agg(%I) FROM %s WHERE %I = ANY ($1) AND %I < $2', key_col, tbl, key_col, time_col)
        INTO ids USING ids, limit_at;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO audit.expired_row (table_name, row_id, written_xact, row_hash, expired_by)
    SELECT h.table_name, h.row_id, h.written_xact, h.row_hash, ops.acting_staff()
      FROM audit.row_hashes(0, 9223372036854775807, tbl, ids) h;
    PERFORM set_config('kenshin.audit_expiry', txid_current()::text, TRUE);
    EXECUTE format('DELETE FROM %s WHERE %I = ANY ($1)', tbl, key_col) USING ids;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('kenshin.audit_expiry', '', TRUE);
    RETURN n;
END
$$;

CREATE FUNCTION audit.scrub_correction_values(ids bigint []) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    n bigint;
BEGIN
    INSERT INTO audit.scrubbed_values (correction_id, values_hash, scrubbed_by)
    SELECT r.correction_id, audit.values_hash(r.old_values, r.new_values), ops.acting_staff()
      FROM audit.record_correction r
     WHERE r.correction_id = ANY (ids) AND r.values_purged_at IS NULL;
    PERFORM set_config('kenshin.audit_expiry', txid_current()::text, TRUE);
    UPDATE audit.record_correction t
       SET old_values = (SELECT coalesce(jsonb_object_agg(k, NULL), '{}') FROM jsonb_object_keys(t.old_values) k),
           new_values = (SELECT coalesce(jsonb_object_agg(k, NULL), '{}') FROM jsonb_object_keys(t.new_values) k),
           values_purged_at = now()
     WHERE t.correction_id = ANY (ids) AND t.values_purged_at IS NULL;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('kenshin.audit_expiry', '', TRUE);
    RETURN n;
END
$$;

CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
BEGIN
    IF TG_OP <> 'TRUNCATE' AND current_setting('kenshin.audit_expiry', TRUE) = txid_current()::text
       AND current_user = 'kenshin_owner' THEN
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused (only the retention purge''s audit functions remove rows)',
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, lower(TG_OP) USING ERRCODE = '42501';
END
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['change_log', 'access_log', 'record_correction', 'seal', 'expired_row',
                             'scrubbed_values'] LOOP
        EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit.%I '
                       'FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()', t);
        EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit.%I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()', t);
    END LOOP;
END
$$;

REVOKE DELETE, UPDATE, TRUNCATE ON audit.change_log, audit.access_log, audit.record_correction FROM kenshin_purger;
REVOKE UPDATE, DELETE, TRUNCATE ON audit.record_correction FROM kenshin_loader;
REVOKE EXECUTE ON FUNCTION audit.row_hashes(bigint, bigint, text, bigint []), audit.values_hash(jsonb, jsonb),
    audit.seal_digest(bytea, bigint, bigint), audit.seal(), audit.verify(),
    audit.expire_rows(text, bigint [], timestamptz), audit.scrub_correction_values(bigint []),
    audit.refuse_change() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.expire_rows(text, bigint [], timestamptz), audit.scrub_correction_values(bigint [])
TO kenshin_purger;
GRANT EXECUTE ON FUNCTION audit.seal() TO kenshin_loader, kenshin_purger, kenshin_auditor;
GRANT EXECUTE ON FUNCTION audit.verify(), audit.row_hashes(bigint, bigint, text, bigint []) TO kenshin_auditor;
GRANT SELECT ON audit.seal, audit.expired_row, audit.scrubbed_values, audit.policy TO kenshin_auditor;
GRANT EXECUTE ON FUNCTION ops.acting_staff() TO kenshin_auditor;

RESET ROLE;
