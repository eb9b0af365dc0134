-- A monthly full snapshot repeats ~99 % of the city unchanged. Each person
-- keeps the fingerprint (keyed HMAC, made in the application) of the snapshot
-- line that confirmed their current state; a later snapshot line with the same
-- fingerprint is byte for byte what was already validated and promoted, so it
-- lands as a narrow row (addressee id and fingerprint only) instead of a
-- second copy of the person's name, address and individual number. Anything
-- else that changes the person (a daily diff) clears the fingerprint.
SET ROLE kenshin_owner;

ALTER TABLE core.person ADD COLUMN snapshot_fingerprint bytea;
COMMENT ON COLUMN core.person.snapshot_fingerprint IS
'HMAC-SHA256 (application key, row-rules version) of the full-snapshot line that confirmed the person''s '
'current state; null once a diff changed them. Lets the next snapshot skip lines that did not change.';

ALTER TABLE landing.jumin
    ADD COLUMN line_fingerprint bytea,
    ADD COLUMN unchanged boolean NOT NULL DEFAULT FALSE;
COMMENT ON COLUMN landing.jumin.line_fingerprint IS
'Fingerprint of a full-snapshot line (see core.person.snapshot_fingerprint); null for diff lines.';
COMMENT ON COLUMN landing.jumin.unchanged IS
'The line equals the one that confirmed the person''s current state: only addressee_id and the '
'fingerprint are landed, the other columns stay null.';

CREATE OR REPLACE VIEW landing.jumin_accepted AS
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
       event_date_value                                           AS event_date,
       person_key,
       line_fingerprint,
       unchanged
FROM landing.jumin
WHERE reject_reason IS NULL;

RESET ROLE;
