-- 副本 (LAYOUTS.md §7): each monthly export holds the records added or changed
-- in its window [changed_from, changed_before) of updated_at; the first export's
-- window starts at -infinity (everything). A rerun of the same period reuses
-- the window and the header time, so the file comes out byte-identical.
SET ROLE kenshin_owner;

CREATE TABLE ops.provision_export (
    period          char(6) PRIMARY KEY,
    changed_from    timestamptz NOT NULL,
    changed_before  timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    file_name       text NOT NULL,
    records         integer NOT NULL
);
COMMENT ON TABLE ops.provision_export IS
'副本 exports: the window of changes each monthly file holds, for reruns and the next window.';

GRANT SELECT, INSERT, UPDATE ON ops.provision_export TO kenshin_loader;
GRANT SELECT ON ops.provision_export TO kenshin_auditor;

RESET ROLE;
