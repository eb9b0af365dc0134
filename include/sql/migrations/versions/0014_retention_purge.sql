-- Retention purges (保管期間 / 消去, DOMAIN.md): a role that may delete what
-- the policy says is past its period, and the purge log.
--
-- The purge runs as kenshin_purger: the loader, which Airflow's ingestion
-- uses, may not delete curated records; only this role may, and only in the
-- tables the policy reaches.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kenshin_purger') THEN
        CREATE ROLE kenshin_purger NOLOGIN;
    END IF;
END
$$;
DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_purger', current_database()); END $$;

SET ROLE kenshin_owner;

-- One row per purge run (消去記録): as of which day, under which policy
-- version, who asked, who approved, what was planned and what was deleted.
CREATE TABLE ops.purge_run (
    run_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of           date NOT NULL,
    policy_version  text NOT NULL,
    state           text NOT NULL DEFAULT 'planned' CHECK (state IN (
                        'planned', 'approved', 'executing', 'executed', 'verified', 'failed', 'refused')),
    requested_by    text NOT NULL,
    approved_by     text,
    approved_at     timestamptz,
    planned_rows    bigint NOT NULL,
    deleted_rows    bigint NOT NULL DEFAULT 0,
    dag_run_id      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    verified_at     timestamptz,
    -- four eyes: whoever approves is not whoever asked
    CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
-- One purge at a time: a run not finished is continued, never doubled.
CREATE UNIQUE INDEX purge_run_open ON ops.purge_run ((TRUE))
    WHERE state IN ('planned', 'approved', 'executing', 'executed');
COMMENT ON TABLE ops.purge_run IS
'Retention purges (消去記録): policy version, requester, approver, planned and deleted counts, times.';

-- Counts per category (a table and why its rows go), planned and deleted; the
-- deleted count grows in the same transaction as each batch it counts, so a
-- killed run's log is exact and its rerun adds the rest.
CREATE TABLE ops.purge_count (
    run_id        bigint NOT NULL REFERENCES ops.purge_run (run_id),
    category      text NOT NULL,
    rows_planned  bigint NOT NULL,
    rows_deleted  bigint NOT NULL DEFAULT 0,
    remaining     bigint,
    PRIMARY KEY (run_id, category)
);
COMMENT ON TABLE ops.purge_count IS
'Per purge run and category: rows planned, rows deleted, rows the verification scan still found.';

-- What the purge keeps of a correction's audit row once the record it
-- describes is gone: who, when, which columns; the values are scrubbed.
ALTER TABLE audit.record_correction ADD COLUMN values_purged_at timestamptz;

-- A person's ledger entry removed by the purge: the denominators of the years
-- they were counted in are recounted by the next marts build (record_id is the
-- addressee id as a number; only keys, as for the other tables).
--
-- One statement-level function for every table the marts must learn the
-- deletions of (it replaces the row-level ops.log_deletion): the key column is
-- the trigger's argument, and a purge batch of 50,000 rows is logged by one
-- INSERT instead of 50,000 function calls.
CREATE FUNCTION ops.log_deletions() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO ops.deletion_log (table_name, record_id, addressee_id) '
        'SELECT %L, (%I)::bigint, addressee_id FROM gone '
        'ON CONFLICT (table_name, record_id) DO UPDATE SET deleted_at = excluded.deleted_at',
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_ARGV[0]);
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION ops.log_deletions() FROM PUBLIC;

DROP TRIGGER screening_deletion ON core.screening;
DROP TRIGGER detailed_exam_deletion ON core.detailed_exam;
DROP TRIGGER external_screening_deletion ON core.external_screening;
DROP FUNCTION ops.log_deletion();
CREATE TRIGGER screening_deletion AFTER DELETE ON core.screening REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ops.log_deletions('screening_id');
CREATE TRIGGER detailed_exam_deletion AFTER DELETE ON core.detailed_exam REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ops.log_deletions('detailed_exam_id');
CREATE TRIGGER external_screening_deletion AFTER DELETE ON core.external_screening REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ops.log_deletions('external_screening_id');
CREATE TRIGGER person_deletion AFTER DELETE ON core.person REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION ops.log_deletions('addressee_id');

-- The purge deletes by fiscal-year ranges of exam dates and by load.
CREATE INDEX external_screening_exam_date ON core.external_screening (exam_date);
CREATE INDEX notice_fiscal_year ON core.notice (fiscal_year);
CREATE INDEX notice_cause_notice ON core.notice_cause (notice_id);
-- Deleting a person, a manifest or a letter checks every foreign key to it:
-- without an index on the referring column each check reads its whole table.
CREATE INDEX voucher_person ON core.voucher (addressee_id);
CREATE INDEX detailed_exam_person ON core.detailed_exam (addressee_id);
CREATE INDEX linkage_request_person ON ops.linkage_request (addressee_id);
CREATE INDEX registry_check_load ON ops.registry_check (load_id);
CREATE INDEX load_manifest_duplicate_of ON ops.load_manifest (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX voucher_fiscal_year ON core.voucher (fiscal_year);
CREATE INDEX record_correction_changed_at ON audit.record_correction (changed_at);
CREATE INDEX load_manifest_finished_at ON ops.load_manifest (finished_at);

-- ---------------------------------------------------------------- grants ---
GRANT USAGE ON SCHEMA landing, core, ops, audit TO kenshin_purger;
GRANT SELECT, DELETE ON
    landing.jumin, landing.seiho, landing.kokuho, landing.kenshin, landing.seiken, landing.shokai_res,
    core.screening, core.detailed_exam, core.external_screening, core.notice, core.notice_cause,
    core.voucher, core.person, core.person_version, core.person_event, core.welfare_period,
    core.nhi_period,
    ops.quarantine, ops.gate_result, ops.record_match, ops.review_item, ops.registry_check,
    ops.linkage_request, ops.linkage_deletion, ops.deletion_log, ops.load_manifest,
    audit.record_correction
TO kenshin_purger;
GRANT UPDATE (old_values, new_values, values_purged_at) ON audit.record_correction TO kenshin_purger;
-- a manifest row pointing at a purged one as its duplicate forgets it
GRANT UPDATE (duplicate_of) ON ops.load_manifest TO kenshin_purger;
-- the log's own rows go after the audit period
GRANT SELECT, INSERT, UPDATE, DELETE ON ops.purge_run, ops.purge_count TO kenshin_purger;
GRANT SELECT ON ops.purge_run, ops.purge_count TO kenshin_auditor, kenshin_loader;
GRANT EXECUTE ON FUNCTION landing.ascii_digits(text) TO kenshin_purger;

RESET ROLE;
