-- The published grand totals of stats.process_indicators equal fct_screening
-- (people: the first screening of a method in the fiscal year).
{{ config(severity='error') }}
with facts as (
    select fiscal_year, exam_type, count(*) as screened,
           count(*) filter (where needs_detailed_exam) as needing,
           count(*) filter (where cancer_found) as cancers
    from {{ ref('fct_screening') }} as f
    where age_band is not null and is_counted
      and exists (select 1 from {{ ref('exam_types') }} as t where t.exam_type = f.exam_type and t.is_cancer)
    group by fiscal_year, exam_type
)
select p.fiscal_year, p.exam_type
from {{ ref('process_indicators') }} as p
left join facts as f using (fiscal_year, exam_type)
where p.sex = 'all' and p.age_band = 'all'
  and (p.screened is distinct from f.screened and not p.screened_suppressed
       or p.needing_detailed_exam is distinct from f.needing and not p.needing_detailed_exam_suppressed
       or p.cancers_found is distinct from f.cancers and not p.cancers_found_suppressed)
