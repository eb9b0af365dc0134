-- 経年管理: each person's screenings per programme over the years. Staff read it one
-- person at a time through staff.screening_history(), which records each read:
-- only kenshin_owner (the function's owner) may select from it.
-- The city's own screenings
-- (a view on int_screening_enriched, indexed by addressee_id)
-- and those previous municipalities reported (情報照会), marked with the
-- municipality that did.
{{ config(materialized='view', grants={'select': ['kenshin_owner']}) }}
select
    addressee_id,
    person_key,
    programme,
    exam_type,
    exam_date,
    fiscal_year,
    age_in_fiscal_year,
    result_code,
    detailed_exam_status,
    detailed_exam_outcome,
    detailed_exam_date,
    is_first_time,
    is_interval_kept,
    next_due_from,
    null::char(6) as source_municipality_code
from {{ ref('int_screening_enriched') }}
union all
select
    e.addressee_id,
    p.person_key,
    t.programme,
    e.exam_type,
    e.exam_date,
    {{ fiscal_year('e.exam_date') }} as fiscal_year,
    null::int as age_in_fiscal_year,
    e.result_code,
    null as detailed_exam_status,
    e.followup_outcome as detailed_exam_outcome,
    null::date as detailed_exam_date,
    null::boolean as is_first_time,
    null::boolean as is_interval_kept,
    null::date as next_due_from,
    e.source_municipality_code
from {{ ref('stg_core__external_screening') }} as e
inner join {{ ref('stg_core__person') }} as p on e.addressee_id = p.addressee_id
inner join {{ ref('exam_types') }} as t on e.exam_type = t.exam_type
