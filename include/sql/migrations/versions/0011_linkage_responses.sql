-- 情報照会の結果 (LAYOUTS.md §6): response files land here through the shared
-- ingestion mechanism; applied rows are deleted after the configured days
-- (the privacy assessment's promise) and each deletion is logged with counts.
SET ROLE kenshin_owner;

CREATE TABLE landing.shokai_res (
    load_id                      bigint NOT NULL,
    line_no                      integer NOT NULL,
    request_id                   text,
    status                       text,
    responder_municipality_code  text,
    exam_type                    text,
    exam_date                    text,
    result_code                  text,
    followup_outcome             text,
    exam_date_value              date,
    reject_field                 text,
    reject_reason                text,
    PRIMARY KEY (load_id, line_no)
);

CREATE VIEW landing.shokai_res_accepted AS
SELECT
       load_id,
       line_no,
       btrim(request_id)::uuid                                          AS request_id,
       btrim(status)                                                    AS status,
       nullif(landing.ascii_digits(responder_municipality_code), '')::char(6)
                                                                        AS responder_municipality_code,
       nullif(btrim(exam_type), '')                                     AS exam_type,
       exam_date_value                                                  AS exam_date,
       nullif(btrim(result_code), '')::char(1)                          AS result_code,
       nullif(btrim(followup_outcome), '')::char(1)                     AS followup_outcome
FROM landing.shokai_res
WHERE reject_reason IS NULL;

-- Deletions of received response rows: counts only.
CREATE TABLE ops.linkage_deletion (
    deletion_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_on         date NOT NULL,
    applied_before date NOT NULL,
    loads          integer NOT NULL,
    rows_deleted   integer NOT NULL,
    deleted_at     timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE ops.linkage_request ADD COLUMN answered_load_id bigint;
ALTER TABLE ops.linkage_request ADD COLUMN error_code text;

GRANT SELECT, INSERT, UPDATE, DELETE ON landing.shokai_res TO kenshin_loader;
GRANT SELECT ON landing.shokai_res_accepted TO kenshin_loader;
GRANT SELECT, INSERT ON ops.linkage_deletion TO kenshin_loader;
GRANT SELECT ON ops.linkage_deletion TO kenshin_auditor;

RESET ROLE;
