-- People screened per fiscal year and exam type (and family of several methods,
-- exam_type the family's name), each counted once in the
-- ward, sex and age band of their latest screening within the programme's sex
-- and ages (is_in_programme): the numerator of 受診率.
-- Biennial programmes count the fiscal year and the one before (DOMAIN.md:
-- screened last FY + this FY - both, i.e. the people screened in either).
-- Incremental by fiscal year: a changed year is recounted with the year after
-- it, whose two-year window it falls in.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('fct_screening'), where='f.is_in_programme') }}"],
) }}

with
{{ fiscal_years_to_rebuild(ref('fct_screening')) }},

report_years as (
    select fiscal_year, facts_in_year
    from fact_years
    where fiscal_year in (
        select c.fiscal_year from changed_years as c
        union
        select c.fiscal_year + 1 from changed_years as c
    )
),

latest_in_year as (
    -- each person's latest screening of the exam type (and of its family, as the
    -- family's row: int_reported_exam_types) in each fiscal year read
    select distinct on (f.person_key, f.exam_type, f.fiscal_year)
        f.person_key,
        f.exam_type,
        f.fiscal_year,
        f.ward_code,
        f.sex,
        f.age_band
    from (
        select s.person_key, s.exam_type::text as exam_type, s.fiscal_year, s.ward_code, s.sex, s.age_band,
               s.screening_id
        from {{ ref('fct_screening') }} as s
        where s.is_in_programme
        union all
        select s.person_key, s.family as exam_type, s.fiscal_year, s.ward_code, s.sex, s.age_band, s.screening_id
        from {{ ref('fct_screening') }} as s
        inner join {{ ref('int_reported_exam_types') }} as r on s.family = r.exam_type and r.is_family
        where s.is_in_programme
    ) as f
    where f.fiscal_year in (
        select y.fiscal_year from report_years as y
        union
        select y.fiscal_year - 1 from report_years as y
    )
    order by f.person_key asc, f.exam_type asc, f.fiscal_year asc, f.screening_id desc
),

counted as (
    -- a person counts in the year of their screening and, for a biennial
    -- programme, in the next year too unless screened again then
    select fiscal_year, exam_type, ward_code, sex, age_band
    from latest_in_year
    union all
    select l.fiscal_year + 1 as fiscal_year, l.exam_type, l.ward_code, l.sex, l.age_band
    from (
        select
            *,
            lead(fiscal_year) over (partition by person_key, exam_type order by fiscal_year) as next_year
        from latest_in_year
    ) as l
    inner join {{ ref('int_reported_exam_types') }} as t on l.exam_type = t.exam_type and t.interval_years >= 2
    where l.next_year is distinct from l.fiscal_year + 1
)

select
    c.fiscal_year,
    c.exam_type,
    c.ward_code,
    c.sex,
    c.age_band,
    count(*) as people_screened,
    max(y.facts_in_year) as facts_in_year,
    now() as built_at,
    {{ marts_policy() }} as policy
from counted as c
inner join report_years as y on c.fiscal_year = y.fiscal_year
group by c.fiscal_year, c.exam_type, c.ward_code, c.sex, c.age_band
