-- The published grand totals of stats.process_indicators equal fct_screening
-- (people: the first screening of a method in the fiscal year; a family's row,
-- the first screening of either of its methods).
{{ config(severity='error') }}
with counted as (
    select fiscal_year, exam_type::text as exam_type, needs_detailed_exam, cancer_found
    from {{ ref('fct_screening') }}
    where age_band is not null and is_counted
    union all
    select fiscal_year, family, needs_detailed_exam, cancer_found
    from {{ ref('fct_screening') }}
    where age_band is not null and is_counted_for_family
),

facts as (
    select fiscal_year, exam_type, count(*) as screened,
           count(*) filter (where needs_detailed_exam) as needing,
           count(*) filter (where cancer_found) as cancers
    from counted
    group by fiscal_year, exam_type
)

select p.fiscal_year, p.exam_type
from {{ ref('process_indicators') }} as p
left join facts as f on p.fiscal_year = f.fiscal_year and p.exam_type = f.exam_type
where p.sex = 'all' and p.age_band = 'all'
  and (p.screened is distinct from f.screened and not p.screened_suppressed
       or p.needing_detailed_exam is distinct from f.needing and not p.needing_detailed_exam_suppressed
       or p.cancers_found is distinct from f.cancers and not p.cancers_found_suppressed)
