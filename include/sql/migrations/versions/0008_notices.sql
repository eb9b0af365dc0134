-- Letters to residents (通知履歴): vouchers, invitations and detailed-exam
-- follow-ups. One core.notice row per letter; one core.notice_cause row per
-- thing the letter is for (an exam type of a fiscal year, or one 要精検
-- screening). The unique cause is what makes a letter never go twice.
SET ROLE kenshin_owner;

CREATE TABLE core.notice (
    notice_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('VOUCHER', 'INVITE', 'FOLLOWUP', 'FOLLOWUP2')),
    addressee_id  char(10) NOT NULL REFERENCES core.person (addressee_id),
    fiscal_year   integer NOT NULL,
    exam_types    text[] NOT NULL,
    as_of         date NOT NULL,
    deadline      date NOT NULL,
    -- bulk: the print vendor's list; manual: a protection-flagged person, for staff by hand
    delivery      text NOT NULL CHECK (delivery IN ('bulk', 'manual')),
    batch         text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notice_person ON core.notice (addressee_id);
CREATE INDEX notice_batch ON core.notice (batch);
COMMENT ON TABLE core.notice IS 'Notice history (通知履歴): one row per letter (受診券・受診勧奨・精検受診勧奨).';

CREATE TABLE core.notice_cause (
    notice_id     bigint NOT NULL REFERENCES core.notice (notice_id),
    kind          text NOT NULL,
    addressee_id  char(10) NOT NULL,
    cause         text NOT NULL,
    screening_id  bigint REFERENCES core.screening (screening_id),
    PRIMARY KEY (kind, addressee_id, cause)
);
CREATE INDEX notice_cause_screening ON core.notice_cause (screening_id) WHERE screening_id IS NOT NULL;
COMMENT ON TABLE core.notice_cause IS
'What a letter was for: FY2026:09 (an exam type in a fiscal year) or screening:123 (a 要精検 follow-up); '
'unique per kind and person.';

GRANT SELECT, INSERT ON core.notice, core.notice_cause TO kenshin_loader;
GRANT SELECT ON core.notice, core.notice_cause TO kenshin_staff;

RESET ROLE;
