-- Vouchers (受診券 / クーポン) with numbers (LAYOUTS.md §4: fiscal year, exam type,
-- serial, Luhn check digit), issued with the VOUCHER letter that carries them
-- (kenshin.letters.vouchers), valid to the end of their fiscal year; a reissue
-- voids the old number (with when, why and who) and names its replacement.
SET ROLE kenshin_owner;

ALTER TABLE core.voucher
    ADD COLUMN exam_type char(2),
    ADD COLUMN notice_id bigint REFERENCES core.notice (notice_id) ON DELETE SET NULL,
    ADD COLUMN valid_to date,
    ADD COLUMN voided_on date,
    ADD COLUMN void_reason text,
    ADD COLUMN voided_by text,
    ADD COLUMN replaced_by char(12) REFERENCES core.voucher (voucher_number) ON DELETE SET NULL,
    ADD CONSTRAINT voucher_void_has_reason CHECK ((voided_on IS NULL) = (void_reason IS NULL));
CREATE INDEX voucher_notice ON core.voucher (notice_id);
COMMENT ON COLUMN core.voucher.exam_type IS 'The one exam type the number is valid for (its digits 3-4).';
COMMENT ON COLUMN core.voucher.voided_on IS
    'Set by a reissue (lost, damaged): a clinic record with this number goes back.';

-- The last serial given per fiscal year and exam type (no personal data).
CREATE TABLE ops.voucher_serial (
    fiscal_year  integer NOT NULL,
    exam_type    char(2) NOT NULL,
    last_serial  integer NOT NULL CHECK (last_serial BETWEEN 1 AND 9999999),
    PRIMARY KEY (fiscal_year, exam_type)
);
GRANT SELECT, INSERT, UPDATE ON ops.voucher_serial TO kenshin_loader;

RESET ROLE;
