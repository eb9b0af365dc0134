-- 経年管理: each person's screenings per programme over the years (staff only).
-- A view on int_screening_enriched (indexed by addressee_id for one person's history).
{{ config(materialized='view') }}
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
    next_due_from
from {{ ref('int_screening_enriched') }}
