-- People screened by fiscal year, exam type, ward, sex, age band and
-- first-time / repeat, with their detailed-exam follow-up: the cells every
-- statistic of process indicators and the ministry report is summed from.
-- A person screened twice by one method in a fiscal year (重複受診) is one
-- 受診者: their first screening counts, with its result and follow-up.
-- Incremental by fiscal year (macro fiscal_years_to_rebuild): a month of new
-- results recounts its own fiscal year, not ten.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('fct_screening')) }}"],
) }}

with
{{ fiscal_years_to_rebuild(ref('fct_screening')) }}

select
    f.fiscal_year,
    f.exam_type,
    f.ward_code,
    f.sex,
    f.age_band,
    f.is_first_time,
    count(*) as screened,
    count(*) filter (where f.needs_detailed_exam) as needing_detailed_exam,
    count(*) filter (where f.detailed_exam_status = 'attended') as detailed_exam_attended,
    count(*) filter (where f.detailed_exam_status = 'not_attended') as detailed_exam_not_attended,
    count(*) filter (where f.detailed_exam_status = 'unknown') as detailed_exam_unknown,
    count(*) filter (where f.cancer_found) as cancers_found,
    count(*) filter (where f.detailed_exam_outcome = '1') as outcome_cancer,
    count(*) filter (where f.detailed_exam_outcome = '2') as outcome_suspected,
    count(*) filter (where f.detailed_exam_outcome = '3') as outcome_other_disease,
    count(*) filter (where f.detailed_exam_outcome = '4') as outcome_no_abnormality,
    max(y.facts_in_year) as facts_in_year,
    now() as built_at,
    {{ marts_policy() }} as policy
from {{ ref('fct_screening') }} as f
inner join fact_years as y on f.fiscal_year = y.fiscal_year
where f.fiscal_year in (select c.fiscal_year from changed_years as c)
  and f.is_counted
group by f.fiscal_year, f.exam_type, f.ward_code, f.sex, f.age_band, f.is_first_time
