-- The review queue (突合確認) as staff see it. The record a clinic sent lies in
-- landing, which staff may not read; this function returns one item's record
-- to staff who stated a purpose, and records the read in audit.access_log
-- (the object is the review item: the record belongs to no known person yet).
-- The candidates are read through staff.person, whose row-level security
-- records each person shown.
SET ROLE kenshin_owner;

CREATE FUNCTION staff.review_record(item bigint)
RETURNS TABLE (
    review_id bigint, file_name text, line_no integer, source text, reason text, candidates jsonb,
    status text, linked_addressee_id char(10), decided_by text, decided_at timestamptz, decision_reason text,
    name_kana text, name_kanji text, sex smallint, birth_date date, postal_code char(8), address text,
    exam_type char(2), exam_date date, addressee_id char(10), voucher_number char(12)
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog
AS $$
DECLARE
    purpose text := nullif(current_setting('kenshin.purpose', TRUE), '');
BEGIN
    IF purpose IS NULL THEN
        RAISE EXCEPTION 'state the purpose of the access first: set_config(''kenshin.purpose'', ...)'
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO audit.access_log (db_role, login, app_user, purpose, object, person_key, protected)
    VALUES (audit.acting_role(), session_user, audit.app_user(), purpose, 'ops.review_item:' || item, NULL, FALSE)
    ON CONFLICT DO NOTHING;
    RETURN QUERY
    SELECT
        r.review_id, m.file_name, r.line_no, r.source, r.reason, r.candidates, r.status,
        r.linked_addressee_id, r.decided_by, r.decided_at, r.decision_reason,
        coalesce(k.name_kana, s.name_kana), coalesce(k.name_kanji, s.name_kanji), coalesce(k.sex, s.sex),
        coalesce(k.birth_date, s.birth_date), k.postal_code, k.address,
        coalesce(k.exam_type, s.exam_type), coalesce(k.exam_date, s.screening_exam_date),
        coalesce(k.addressee_id, s.addressee_id), k.voucher_number
    FROM ops.review_item AS r
    INNER JOIN ops.load_manifest AS m ON r.load_id = m.load_id
    LEFT JOIN landing.kenshin_accepted AS k
        ON r.source = 'kenshin' AND r.load_id = k.load_id AND r.line_no = k.line_no
    LEFT JOIN landing.seiken_accepted AS s
        ON r.source = 'seiken' AND r.load_id = s.load_id AND r.line_no = s.line_no
    WHERE r.review_id = item;
END
$$;
REVOKE EXECUTE ON FUNCTION staff.review_record(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION staff.review_record(bigint) TO kenshin_staff;

RESET ROLE;
