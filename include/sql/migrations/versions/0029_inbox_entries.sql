-- Every inbox entry ends as a manifest row (受信フォルダの全エントリ), also one
-- that never becomes a load: `unrecognised` (a name no layout of LAYOUTS.md
-- has; its bytes are hashed), `unreadable` (permission denied, an I/O error)
-- and `not a file` (a directory, a dangling symbolic link). The last two have
-- no bytes to hash or measure. Each is recorded once per entry and content: a
-- rerun that finds the same entry unchanged adds no row (the loader inserts
-- with ON CONFLICT DO NOTHING against the unique index below).
SET ROLE kenshin_owner;

ALTER TABLE ops.load_manifest
    DROP CONSTRAINT load_manifest_status_check,
    ADD CONSTRAINT load_manifest_status_check CHECK (
        status IN ('staging', 'loaded', 'rejected', 'duplicate', 'abandoned',
                   'unrecognised', 'unreadable', 'not a file')
    ),
    ALTER COLUMN sha256 DROP NOT NULL,
    ALTER COLUMN size_bytes DROP NOT NULL,
    ADD CONSTRAINT load_manifest_bytes_known CHECK (
        (sha256 IS NOT NULL AND size_bytes IS NOT NULL) OR status IN ('unreadable', 'not a file')
    );

CREATE UNIQUE INDEX load_manifest_entry_once ON ops.load_manifest (
    file_name, status, coalesce(sha256, ''), coalesce(reason, '')
) WHERE status IN ('unrecognised', 'unreadable', 'not a file');

COMMENT ON COLUMN ops.load_manifest.status IS
'staging -> loaded | rejected | duplicate, abandoned (a killed load, loaded again later); '
'unrecognised | unreadable | not a file: an inbox entry that never became a load (with the reason).';

RESET ROLE;
