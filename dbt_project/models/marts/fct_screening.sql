-- One row per screening, pseudonymous: the fact table statistics are built from.
-- A view: int_screening_enriched holds each screening once (incrementally); the
-- marts are what each audience may see of it.
{{ config(materialized='view') }}
select
    screening_id,
    person_key,
    fiscal_year,
    age_in_fiscal_year,
    age_band,
    sex,
    ward_code,
    exam_type,
    programme,
    family,
    is_first_time,
    is_in_programme,
    is_counted,
    is_counted_for_family,
    result_code,
    needs_detailed_exam,
    detailed_exam_status,
    detailed_exam_outcome,
    cancer_found,
    built_at
from {{ ref('int_screening_enriched') }}
