-- People screened by fiscal year, exam type, ward, sex, age band and
-- first-time / repeat, with their detailed-exam follow-up: the cells every
-- statistic of process indicators and the ministry report is summed from.
-- A person screened twice by one method in a fiscal year (重複受診) is one
-- 受診者: their first screening counts, with its result and follow-up. A family
-- of several methods (int_reported_exam_types) has rows of its own, exam_type
-- the family's name, each person once: their first screening of either method.
-- screened_both_years: of those, the people counted the fiscal year before too
-- (2年連続受診者数).
-- Incremental by fiscal year (macro fiscal_years_to_rebuild): a month of new
-- results recounts its own fiscal year and the next (its 2年連続), not ten.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('fct_screening'), where='f.is_counted') }}"],
) }}

with
{{ fiscal_years_to_rebuild(ref('fct_screening')) }},

report_years as (
    select f.fiscal_year
    from fact_years as f
    where f.fiscal_year in (select c.fiscal_year from changed_years as c
                            union
                            select c.fiscal_year + 1 from changed_years as c)
),

counted as (
    -- one row per person, exam type (or family) and fiscal year read
    select
        f.person_key, f.exam_type::text as exam_type, f.fiscal_year, f.ward_code, f.sex, f.age_band,
        f.is_first_time, f.needs_detailed_exam, f.detailed_exam_status, f.detailed_exam_outcome, f.cancer_found
    from {{ ref('fct_screening') }} as f
    where f.is_counted
      and f.fiscal_year in (select y.fiscal_year from report_years as y
                            union
                            select y.fiscal_year - 1 from report_years as y)
    union all
    select
        f.person_key, f.family as exam_type, f.fiscal_year, f.ward_code, f.sex, f.age_band,
        f.is_first_time, f.needs_detailed_exam, f.detailed_exam_status, f.detailed_exam_outcome, f.cancer_found
    from {{ ref('fct_screening') }} as f
    inner join {{ ref('int_reported_exam_types') }} as r on f.family = r.exam_type and r.is_family
    where f.is_counted_for_family
      and f.fiscal_year in (select y.fiscal_year from report_years as y
                            union
                            select y.fiscal_year - 1 from report_years as y)
)

select
    f.fiscal_year,
    f.exam_type,
    f.ward_code,
    f.sex,
    f.age_band,
    f.is_first_time,
    count(*) as screened,
    count(p.person_key) as screened_both_years,
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
from counted as f
inner join fact_years as y on f.fiscal_year = y.fiscal_year
left join counted as p
    on f.person_key = p.person_key and f.exam_type = p.exam_type and p.fiscal_year = f.fiscal_year - 1
where f.fiscal_year in (select r.fiscal_year from report_years as r)
group by f.fiscal_year, f.exam_type, f.ward_code, f.sex, f.age_band, f.is_first_time
