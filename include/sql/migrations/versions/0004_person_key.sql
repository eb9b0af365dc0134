-- Marts and statistics identify a person only by a pseudonymous key: an HMAC
-- of the addressee id computed in the application (the key never reaches SQL).
SET ROLE kenshin_owner;

ALTER TABLE landing.jumin ADD COLUMN person_key text;
ALTER TABLE core.person ADD COLUMN person_key text UNIQUE;
COMMENT ON COLUMN core.person.person_key IS
'Pseudonymous key (HMAC-SHA256 of the addressee id, hex): the only person identifier marts and stats carry.';

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
       person_key
FROM landing.jumin
WHERE reject_reason IS NULL;

RESET ROLE;
