-- Foundation: roles, schemas, the person ledger with history, eligibility
-- periods, the load manifest and quarantine (ARCHITECTURE.md).
--
-- Roles are cluster-wide: created only when missing, NOLOGIN group roles that
-- login users (Airflow's, each staff member's) are granted.

DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['kenshin_owner', 'kenshin_loader', 'kenshin_staff', 'kenshin_stats', 'kenshin_auditor']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END
$$;

-- Nothing for PUBLIC: every right is granted to a named role.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database()); END $$;
DO $$ BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO kenshin_loader, kenshin_staff, kenshin_stats, kenshin_auditor',
                   current_database());
END $$;
-- promotion stages accepted rows in ON COMMIT DROP temporary tables
DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO kenshin_loader', current_database()); END $$;

CREATE SCHEMA landing AUTHORIZATION kenshin_owner;
CREATE SCHEMA core AUTHORIZATION kenshin_owner;
CREATE SCHEMA ops AUTHORIZATION kenshin_owner;
CREATE SCHEMA audit AUTHORIZATION kenshin_owner;
CREATE SCHEMA marts AUTHORIZATION kenshin_owner;
CREATE SCHEMA stats AUTHORIZATION kenshin_owner;

SET ROLE kenshin_owner;

-- Code fields may arrive with full-width digits (LAYOUTS.md): accepted rows are
-- promoted through this fold. Plain translate() is enough for digit codes and
-- much cheaper than normalize(..., NFKC) over a 1.56M-row snapshot.
CREATE FUNCTION landing.ascii_digits(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nullif(btrim(translate(value, '０１２３４５６７８９　', '0123456789 ')), '');

-- ---------------------------------------------------------------- ops ----

-- One row per file seen (ファイル受付台帳). status: staging → loaded | rejected |
-- duplicate, or abandoned when a killed run left it in staging (a rerun loads it).
-- The same bytes are never loaded twice (unique sha256 of loaded files).
CREATE TABLE ops.load_manifest (
    load_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file_name        text NOT NULL,
    source           text NOT NULL,
    sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes       bigint NOT NULL,
    encoding         text,
    file_date        date,
    period           text,
    status           text NOT NULL CHECK (status IN ('staging', 'loaded', 'rejected', 'duplicate', 'abandoned')),
    reason           text,
    rows_in_file     integer,
    rows_loaded      integer,
    rows_quarantined integer,
    rows_review      integer NOT NULL DEFAULT 0,
    gate_passed      boolean,
    duplicate_of     bigint REFERENCES ops.load_manifest (load_id),
    run_id           text,
    received_at      timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT reconciled CHECK (
        status <> 'loaded' OR rows_in_file = rows_loaded + rows_quarantined + rows_review
    )
);
CREATE UNIQUE INDEX load_manifest_loaded_once ON ops.load_manifest (sha256) WHERE status = 'loaded';
CREATE INDEX load_manifest_source ON ops.load_manifest (source, file_date);
COMMENT ON TABLE ops.load_manifest IS 'Every file received (ファイル受付台帳): its hash, outcome and reconciliation counts.';

-- Rows refused one by one, with the field and the reason (never the value).
CREATE TABLE ops.quarantine (
    load_id   bigint NOT NULL REFERENCES ops.load_manifest (load_id),
    line_no   integer NOT NULL,
    field     text NOT NULL,
    reason    text NOT NULL,
    PRIMARY KEY (load_id, line_no)
);
COMMENT ON TABLE ops.quarantine IS
'Rows not loaded, by file line and field; the raw row stays in landing for a person to look at.';

-- Results of the Great Expectations gate, one row per expectation per load.
CREATE TABLE ops.gate_result (
    load_id      bigint NOT NULL REFERENCES ops.load_manifest (load_id),
    suite        text NOT NULL,
    expectation  text NOT NULL,
    column_name  text,
    success      boolean NOT NULL,
    observed     text,
    checked_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_result_load ON ops.gate_result (load_id);

-- Persons the ledger holds as resident but a full snapshot did not list:
-- flagged for a person to check, never deleted (要確認).
CREATE TABLE ops.registry_check (
    check_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id  char(10) NOT NULL,
    load_id       bigint NOT NULL REFERENCES ops.load_manifest (load_id),
    reason        text NOT NULL,
    raised_on     date NOT NULL,
    resolved_at   timestamptz,
    resolved_by   text,
    UNIQUE (addressee_id, load_id)
);

-- -------------------------------------------------------------- landing ---
-- Raw rows as received, one row per file line, tagged with the load. Text
-- exactly as decoded, except the individual number: it never reaches the
-- database in plain text (encrypted and keyed-hashed in the application).
-- *_value columns hold the application's parsed form; reject_* the row rule
-- that failed.

CREATE TABLE landing.jumin (
    load_id                    bigint NOT NULL,
    line_no                    integer NOT NULL,
    addressee_id               text,
    my_number_hmac             bytea,
    my_number_enc              bytea,
    household_id               text,
    name_kanji                 text,
    name_kana                  text,
    sex                        text,
    birth_date                 text,
    relationship               text,
    household_head_name        text,
    postal_code                text,
    ward_code                  text,
    address                    text,
    resident_since             text,
    previous_address           text,
    previous_municipality_code text,
    status                     text,
    event_code                 text,
    event_date                 text,
    protection_flag            text,
    name_kana_value            text,
    name_kanji_key             text,
    name_kana_key              text,
    address_key                text,
    postal_code_value          text,
    birth_date_value           date,
    resident_since_value       date,
    event_date_value           date,
    reject_field               text,
    reject_reason              text,
    PRIMARY KEY (load_id, line_no)
);

CREATE TABLE landing.seiho (
    load_id           bigint NOT NULL,
    line_no           integer NOT NULL,
    addressee_id      text,
    case_number       text,
    benefit_type      text,
    start_date        text,
    end_date          text,
    start_date_value  date,
    end_date_value    date,
    reject_field      text,
    reject_reason     text,
    PRIMARY KEY (load_id, line_no)
);

CREATE TABLE landing.kokuho (
    load_id              bigint NOT NULL,
    line_no              integer NOT NULL,
    addressee_id         text,
    insured_number_hmac  bytea,
    qualified_from       text,
    qualified_to         text,
    qualified_from_value date,
    qualified_to_value   date,
    reject_field         text,
    reject_reason        text,
    PRIMARY KEY (load_id, line_no)
);

-- Accepted rows in the form promotion writes them: the GX gate validates
-- exactly what will be promoted, and promotion reads the same view.
CREATE VIEW landing.jumin_accepted AS
SELECT
       load_id,
       line_no,
       landing.ascii_digits(addressee_id)::char(10)               AS addressee_id,
       my_number_hmac,
       my_number_enc,
       landing.ascii_digits(household_id)::char(10)               AS household_id,
       btrim(name_kanji)                                          AS name_kanji,
       name_kana_value                                            AS name_kana,
       name_kanji_key,
       name_kana_key,
       landing.ascii_digits(sex)::smallint                        AS sex,
       birth_date_value                                           AS birth_date,
       btrim(relationship)                                        AS relationship,
       nullif(btrim(household_head_name), '')                     AS household_head_name,
       postal_code_value::char(8)                                 AS postal_code,
       landing.ascii_digits(ward_code)::char(6)                   AS ward_code,
       btrim(address)                                             AS address,
       address_key,
       resident_since_value                                       AS resident_since,
       nullif(btrim(previous_address), '')                        AS previous_address,
       landing.ascii_digits(previous_municipality_code)::char(6) AS previous_municipality_code,
       landing.ascii_digits(status)::smallint                     AS status,
       landing.ascii_digits(protection_flag) = '1'                AS protection_flag,
       landing.ascii_digits(event_code)::char(2)                  AS event_code,
       event_date_value                                           AS event_date
FROM landing.jumin
WHERE reject_reason IS NULL;

CREATE VIEW landing.seiho_accepted AS
SELECT
       load_id,
       line_no,
       landing.ascii_digits(addressee_id)::char(10)     AS addressee_id,
       landing.ascii_digits(case_number)::char(8)       AS case_number,
       landing.ascii_digits(benefit_type)::smallint     AS benefit_type,
       start_date_value                                 AS start_date,
       end_date_value                                   AS end_date
FROM landing.seiho
WHERE reject_reason IS NULL;

CREATE VIEW landing.kokuho_accepted AS
SELECT
       load_id,
       line_no,
       landing.ascii_digits(addressee_id)::char(10)     AS addressee_id,
       insured_number_hmac,
       qualified_from_value                             AS qualified_from,
       qualified_to_value                               AS qualified_to
FROM landing.kokuho
WHERE reject_reason IS NULL;

-- ----------------------------------------------------------------- core ---

-- A person of the resident registry (宛名): identity that does not version.
CREATE TABLE core.person (
    addressee_id          char(10) PRIMARY KEY CHECK (addressee_id ~ '^[0-9]{10}$'),
    my_number_enc         bytea,
    my_number_hmac        bytea UNIQUE,
    first_load_id         bigint NOT NULL,
    last_load_id          bigint NOT NULL,
    missing_since         date,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE core.person IS 'Person ledger (宛名台帳): one row per addressee; attributes live in person_version.';
COMMENT ON COLUMN core.person.my_number_enc IS
'個人番号, AES-GCM ciphertext (key id byte + nonce + ciphertext); never plain text.';
COMMENT ON COLUMN core.person.my_number_hmac IS 'HMAC-SHA256 of the 個人番号 for lookups and joins.';
COMMENT ON COLUMN core.person.missing_since IS
'Set when a full snapshot did not list a resident; see ops.registry_check.';

-- Every state of a person: a new version per change of name, address,
-- household or status; valid_to is null for the current one.
CREATE TABLE core.person_version (
    version_id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id               char(10) NOT NULL REFERENCES core.person (addressee_id),
    valid_from                 date NOT NULL,
    valid_to                   date,
    household_id               char(10) NOT NULL,
    name_kanji                 text NOT NULL,
    name_kana                  text NOT NULL,
    name_kanji_key             text NOT NULL,
    name_kana_key              text NOT NULL,
    sex                        smallint NOT NULL CHECK (sex IN (1, 2)),
    birth_date                 date NOT NULL,
    relationship               text NOT NULL,
    household_head_name        text,
    postal_code                char(8) NOT NULL,
    ward_code                  char(6) NOT NULL,
    address                    text NOT NULL,
    address_key                text NOT NULL,
    resident_since             date,
    previous_address           text,
    previous_municipality_code char(6),
    status                     smallint NOT NULL CHECK (status IN (1, 2, 3, 4)),
    protection_flag            boolean NOT NULL,
    attrs_hash                 text NOT NULL,
    change_event               char(2) NOT NULL,
    load_id                    bigint NOT NULL,
    line_no                    integer NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE UNIQUE INDEX person_version_current ON core.person_version (addressee_id) WHERE valid_to IS NULL;
CREATE INDEX person_version_person ON core.person_version (addressee_id, valid_from);
COMMENT ON TABLE core.person_version IS
'Person history (異動履歴): attributes valid from valid_from to valid_to (exclusive), null = current.';

CREATE VIEW core.person_current AS
SELECT
    v.*,
    p.my_number_hmac,
    p.missing_since
FROM core.person AS p
INNER JOIN core.person_version AS v ON p.addressee_id = v.addressee_id
WHERE v.valid_to IS NULL;

-- Registry events (異動): birth, move-in with where from, move-out, death ...
CREATE TABLE core.person_event (
    event_id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id               char(10) NOT NULL REFERENCES core.person (addressee_id),
    event_code                 char(2) NOT NULL CHECK (event_code BETWEEN '01' AND '08'),
    event_date                 date NOT NULL,
    previous_municipality_code char(6),
    previous_address           text,
    load_id                    bigint NOT NULL,
    line_no                    integer NOT NULL,
    UNIQUE (addressee_id, event_code, event_date)
);
CREATE INDEX person_event_move_in ON core.person_event (event_date) WHERE event_code = '02';

-- Public assistance periods (生活保護受給期間).
CREATE TABLE core.welfare_period (
    addressee_id  char(10) NOT NULL REFERENCES core.person (addressee_id),
    case_number   char(8) NOT NULL,
    benefit_type  smallint NOT NULL CHECK (benefit_type IN (1, 2)),
    start_date    date NOT NULL,
    end_date      date,
    last_listed   date NOT NULL,
    load_id       bigint NOT NULL,
    PRIMARY KEY (addressee_id, case_number, start_date),
    CHECK (end_date IS NULL OR end_date >= start_date)
);

-- National Health Insurance qualification periods (国保資格期間). The insured
-- number is kept only as a keyed hash: the platform needs the period, not the number.
CREATE TABLE core.nhi_period (
    addressee_id         char(10) NOT NULL REFERENCES core.person (addressee_id),
    insured_number_hmac  bytea NOT NULL,
    qualified_from       date NOT NULL,
    qualified_to         date,
    last_listed          date NOT NULL,
    load_id              bigint NOT NULL,
    PRIMARY KEY (addressee_id, qualified_from),
    CHECK (qualified_to IS NULL OR qualified_to >= qualified_from)
);

-- -------------------------------------------------------------- grants ---
REVOKE EXECUTE ON FUNCTION landing.ascii_digits(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION landing.ascii_digits(text) TO kenshin_loader;
GRANT USAGE ON SCHEMA landing, ops, core TO kenshin_loader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA landing TO kenshin_loader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ops TO kenshin_loader;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA core TO kenshin_loader;
GRANT USAGE ON SCHEMA core, marts TO kenshin_staff;
GRANT SELECT ON core.person_current, core.person_event, core.welfare_period, core.nhi_period TO kenshin_staff;
GRANT USAGE ON SCHEMA stats TO kenshin_stats;
GRANT USAGE ON SCHEMA ops, audit TO kenshin_auditor;
GRANT SELECT ON ALL TABLES IN SCHEMA ops TO kenshin_auditor;
ALTER DEFAULT PRIVILEGES IN SCHEMA stats GRANT SELECT ON TABLES TO kenshin_stats;
ALTER DEFAULT PRIVILEGES IN SCHEMA landing GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO kenshin_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ops GRANT SELECT, INSERT, UPDATE ON TABLES TO kenshin_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA ops GRANT SELECT ON TABLES TO kenshin_auditor;

RESET ROLE;
