-- Clinic results (LAYOUTS.md §4, §5): landing tables, screenings and detailed
-- exams in core, per-record matching outcomes, the review queue, corrections audit.

-- Edit distances for the matcher (PostgreSQL contrib), in a schema of their own.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS fuzzystrmatch WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO kenshin_loader;

SET ROLE kenshin_owner;

-- Who sent a file (clinic code for clinic files), from its header.
ALTER TABLE ops.load_manifest ADD COLUMN sender text;

-- ------------------------------------------------------------- landing ---
CREATE TABLE landing.kenshin (
    load_id              bigint NOT NULL,
    line_no              integer NOT NULL,
    clinic_line_no       text,
    voucher_number       text,
    addressee_id         text,
    name_kana            text,
    name_kanji           text,
    sex                  text,
    birth_date           text,
    postal_code          text,
    address              text,
    exam_type            text,
    exam_date            text,
    result_code          text,
    result_detail        text,
    fee_exempt           text,
    name_kana_value      text,
    name_kanji_value     text,
    name_kana_key        text,
    name_kanji_key       text,
    birth_date_value     date,
    postal_code_value    text,
    address_key          text,
    exam_date_value      date,
    reject_field         text,
    reject_reason        text,
    PRIMARY KEY (load_id, line_no)
);

CREATE TABLE landing.seiken (
    load_id                    bigint NOT NULL,
    line_no                    integer NOT NULL,
    clinic_line_no             text,
    addressee_id               text,
    name_kana                  text,
    name_kanji                 text,
    sex                        text,
    birth_date                 text,
    exam_type                  text,
    screening_exam_date        text,
    followup_date              text,
    outcome                    text,
    name_kana_value            text,
    name_kanji_value           text,
    name_kana_key              text,
    name_kanji_key             text,
    birth_date_value           date,
    screening_exam_date_value  date,
    followup_date_value        date,
    reject_field               text,
    reject_reason              text,
    PRIMARY KEY (load_id, line_no)
);

-- Accepted rows in the form matching and promotion read them (and the gate checks).
CREATE VIEW landing.kenshin_accepted AS
SELECT
       load_id,
       line_no,
       landing.ascii_digits(clinic_line_no)::integer       AS clinic_line_no,
       landing.ascii_digits(voucher_number)::char(12)      AS voucher_number,
       landing.ascii_digits(addressee_id)::char(10)        AS addressee_id,
       name_kana_value                                     AS name_kana,
       name_kanji_value                                    AS name_kanji,
       name_kana_key,
       name_kanji_key,
       landing.ascii_digits(sex)::smallint                 AS sex,
       birth_date_value                                    AS birth_date,
       postal_code_value::char(8)                          AS postal_code,
       nullif(btrim(address), '')                          AS address,
       address_key,
       landing.ascii_digits(exam_type)::char(2)            AS exam_type,
       exam_date_value                                     AS exam_date,
       landing.ascii_digits(result_code)::char(1)          AS result_code,
       nullif(btrim(result_detail), '')                    AS result_detail,
       landing.ascii_digits(fee_exempt) = '1'              AS fee_exempt
FROM landing.kenshin
WHERE reject_reason IS NULL;

CREATE VIEW landing.seiken_accepted AS
SELECT
       load_id,
       line_no,
       landing.ascii_digits(clinic_line_no)::integer       AS clinic_line_no,
       landing.ascii_digits(addressee_id)::char(10)        AS addressee_id,
       name_kana_value                                     AS name_kana,
       name_kanji_value                                    AS name_kanji,
       name_kana_key,
       name_kanji_key,
       landing.ascii_digits(sex)::smallint                 AS sex,
       birth_date_value                                    AS birth_date,
       landing.ascii_digits(exam_type)::char(2)            AS exam_type,
       screening_exam_date_value                           AS screening_exam_date,
       followup_date_value                                 AS followup_date,
       landing.ascii_digits(outcome)::char(1)              AS outcome
FROM landing.seiken
WHERE reject_reason IS NULL;

-- ---------------------------------------------------------------- core ---
-- Blocking keys of the matcher: person history by birth date and sex, by kana
-- and by kanji name (DOMAIN.md "Matching people").
-- The blocks read the other keys they filter on from the index (index-only
-- scans): ~28 people share a birth date and sex in a city of 1.56M.
CREATE INDEX person_version_birth ON core.person_version (birth_date, sex)
    INCLUDE (version_id, name_kana_key, name_kanji_key, postal_code, address_key, valid_from, valid_to);
CREATE INDEX person_version_kana ON core.person_version (name_kana_key, sex)
    INCLUDE (version_id, birth_date, postal_code, address_key, valid_from, valid_to);
CREATE INDEX person_version_kanji ON core.person_version (name_kanji_key, sex)
    INCLUDE (version_id, birth_date, postal_code, address_key, valid_from, valid_to);

-- Vouchers (受診券/クーポン) issued to a person: a clinic record carrying the
-- number identifies its person deterministically (still confirmed by the matcher).
CREATE TABLE core.voucher (
    voucher_number  char(12) PRIMARY KEY CHECK (voucher_number ~ '^[0-9]{12}$'),
    addressee_id    char(10) NOT NULL REFERENCES core.person (addressee_id),
    fiscal_year     integer NOT NULL,
    exam_types      text[] NOT NULL,
    issued_on       date NOT NULL
);

-- A screening (検診): one per person, exam type and exam date. A resubmitted
-- record updates it in place (audit.record_correction keeps what it was).
CREATE TABLE core.screening (
    screening_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    addressee_id   char(10) NOT NULL REFERENCES core.person (addressee_id),
    exam_type      char(2) NOT NULL,
    exam_date      date NOT NULL,
    clinic_code    char(10) NOT NULL,
    result_code    char(1) NOT NULL CHECK (result_code IN ('1', '2', '3', '9')),
    result_detail  text,
    fee_exempt     boolean NOT NULL,
    link_method    text NOT NULL,
    link_score     numeric(6, 2),
    load_id        bigint NOT NULL,
    line_no        integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (addressee_id, exam_type, exam_date)
);
CREATE INDEX screening_exam_date ON core.screening (exam_date);
COMMENT ON TABLE core.screening IS 'Screenings (検診結果), one per person, exam type (検診種別) and exam date.';
COMMENT ON COLUMN core.screening.result_code IS '1 異常なし, 2 要指導, 3 要精検 (needs_detailed_exam), 9 判定不能.';

-- A detailed exam (精密検査) outcome, attached to the 要精検 screening it follows up.
CREATE TABLE core.detailed_exam (
    detailed_exam_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    screening_id      bigint NOT NULL UNIQUE REFERENCES core.screening (screening_id),
    addressee_id      char(10) NOT NULL REFERENCES core.person (addressee_id),
    followup_date     date NOT NULL,
    outcome           char(1) NOT NULL CHECK (outcome IN ('1', '2', '3', '4')),
    clinic_code       char(10) NOT NULL,
    link_method       text NOT NULL,
    load_id           bigint NOT NULL,
    line_no           integer NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN core.detailed_exam.outcome IS
'1 がんであった者, 2 がんの疑い又は未確定, 3 がん以外の疾患, 4 異常認めず.';

-- ----------------------------------------------------------------- ops ---
-- What the matcher decided for each accepted clinic record.
CREATE TABLE ops.record_match (
    load_id       bigint NOT NULL REFERENCES ops.load_manifest (load_id),
    line_no       integer NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('linked', 'review', 'returned')),
    addressee_id  char(10),
    method        text,
    score         numeric(6, 2),
    margin        numeric(6, 2),
    decided_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, line_no),
    CHECK ((outcome = 'linked') = (addressee_id IS NOT NULL))
);

-- The review queue (突合確認): records a person must decide, with the candidates
-- the matcher found (addressee ids, scores, the fields that disagree; no values).
CREATE TABLE ops.review_item (
    review_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    load_id           bigint NOT NULL REFERENCES ops.load_manifest (load_id),
    line_no           integer NOT NULL,
    source            text NOT NULL,
    reason            text NOT NULL,
    candidates        jsonb NOT NULL DEFAULT '[]',
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'linked', 'rejected')),
    linked_addressee_id char(10),
    decided_by        text,
    decided_at        timestamptz,
    decision_reason   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (load_id, line_no),
    CHECK ((status = 'open') = (decided_at IS NULL)),
    CHECK ((status = 'linked') = (linked_addressee_id IS NOT NULL))
);
CREATE INDEX review_item_open ON ops.review_item (created_at) WHERE status = 'open';

-- --------------------------------------------------------------- audit ---
-- Every change to a promoted result: what it was, what it became, from which
-- file line, by whom (the loader or a staff member).
CREATE TABLE audit.record_correction (
    correction_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name     text NOT NULL,
    record_id      bigint NOT NULL,
    old_values     jsonb NOT NULL,
    new_values     jsonb NOT NULL,
    old_load_id    bigint NOT NULL,
    old_line_no    integer NOT NULL,
    new_load_id    bigint NOT NULL,
    new_line_no    integer NOT NULL,
    changed_by     text NOT NULL,
    changed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX record_correction_record ON audit.record_correction (table_name, record_id);

-- -------------------------------------------------------------- grants ---
GRANT SELECT, INSERT, UPDATE, DELETE ON landing.kenshin, landing.seiken TO kenshin_loader;
GRANT SELECT ON landing.kenshin_accepted, landing.seiken_accepted TO kenshin_loader;
GRANT SELECT, INSERT, UPDATE ON core.voucher, core.screening, core.detailed_exam TO kenshin_loader;
GRANT SELECT, INSERT, UPDATE ON ops.record_match, ops.review_item TO kenshin_loader;
GRANT USAGE ON SCHEMA audit TO kenshin_loader;
GRANT INSERT, SELECT ON audit.record_correction TO kenshin_loader;
GRANT SELECT ON core.screening, core.detailed_exam, core.voucher TO kenshin_staff;
GRANT SELECT ON audit.record_correction TO kenshin_auditor;
GRANT SELECT ON ops.record_match, ops.review_item TO kenshin_auditor;

RESET ROLE;
