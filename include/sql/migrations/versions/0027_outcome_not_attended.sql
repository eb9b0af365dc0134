-- Outcome 5 of the detailed-exam layout (LAYOUTS.md §5): 未受診, the hospital or
-- staff know the person did not go (or the exam was unfit, e.g. a repeated
-- FOBT). It is a report, so it is a row of core.detailed_exam; 未把握 stays "no
-- row at all". The codes are those of the seed detailed_exam_outcomes.csv.
SET ROLE kenshin_owner;

ALTER TABLE core.detailed_exam
    DROP CONSTRAINT detailed_exam_outcome_check,
    ADD CONSTRAINT detailed_exam_outcome_check CHECK (outcome IN ('1', '2', '3', '4', '5'));
COMMENT ON COLUMN core.detailed_exam.outcome IS
    '1 がんであった者, 2 がんの疑い又は未確定, 3 がん以外の疾患, 4 異常認めず, 5 精検未受診 (reported not attended).';

-- a previous municipality's answer and our provision copies carry the same codes
ALTER TABLE core.external_screening
    DROP CONSTRAINT external_screening_followup_outcome_check,
    ADD CONSTRAINT external_screening_followup_outcome_check
        CHECK (followup_outcome IN ('1', '2', '3', '4', '5'));

RESET ROLE;
