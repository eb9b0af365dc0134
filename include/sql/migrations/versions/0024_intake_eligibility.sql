-- 使用方法1 (対象者であるか特定): a linked screening of a person who was not a
-- target on the exam date (対象外受診) or a second one of the same method in the
-- fiscal year (重複受診) waits in review like an undecided identity. The kind
-- says which check sent an item: a staff decision on an eligibility item loads
-- the record as the staff member decided, without checking again.
ALTER TABLE ops.review_item
    ADD COLUMN kind text NOT NULL DEFAULT 'identity'
        CHECK (kind IN ('identity', 'orphan', 'not_a_target', 'repeat_in_fiscal_year'));
COMMENT ON COLUMN ops.review_item.kind IS
    'identity: the matcher would not decide; orphan: a detailed exam with no 要精検 screening; '
    'not_a_target: 対象外受診; repeat_in_fiscal_year: 重複受診.';

UPDATE ops.review_item SET kind = 'orphan'
WHERE source = 'seiken' AND reason LIKE 'no 要精検 screening%';

GRANT SELECT (kind) ON ops.review_item TO kenshin_auditor;
