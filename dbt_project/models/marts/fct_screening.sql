-- One row per screening, pseudonymous: the fact table statistics are built from.
select
    screening_id,
    person_key,
    fiscal_year,
    age_in_fiscal_year,
    b.age_band,
    sex,
    ward_code,
    exam_type,
    programme,
    is_first_time,
    result_code,
    needs_detailed_exam,
    detailed_exam_status,
    detailed_exam_outcome,
    cancer_found
from {{ ref('int_screening_enriched') }} as e
left join {{ ref('age_bands') }} as b
    on e.age_in_fiscal_year between b.min_age and b.max_age
