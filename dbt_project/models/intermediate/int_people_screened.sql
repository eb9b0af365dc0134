-- People screened per fiscal year and exam type, each counted once in the
-- ward, sex and age band of their latest screening: the numerator of 受診率.
-- Biennial programmes count the fiscal year and the one before (DOMAIN.md:
-- screened last FY + this FY - both, i.e. the people screened in either).
-- Incremental by fiscal year: a changed year is recounted with the year after
-- it, whose two-year window it falls in.
{{ config(
    materialized='incremental',
    unique_key='fiscal_year',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    post_hook=["{{ drop_years_without_facts(ref('fct_screening')) }}"],
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

people as (
    select
        y.fiscal_year,
        f.exam_type,
        (array_agg(f.ward_code order by f.fiscal_year desc, f.screening_id desc))[1] as ward_code,
        (array_agg(f.sex order by f.fiscal_year desc, f.screening_id desc))[1] as sex,
        (array_agg(f.age_band order by f.fiscal_year desc, f.screening_id desc))[1] as age_band
    from {{ ref('fct_screening') }} as f
    inner join {{ ref('exam_types') }} as t on f.exam_type = t.exam_type
    inner join report_years as y
        on f.fiscal_year between y.fiscal_year - (case when t.interval_years >= 2 then 1 else 0 end)
                             and y.fiscal_year
    group by y.fiscal_year, f.exam_type, f.person_key
)

select
    p.fiscal_year,
    p.exam_type,
    p.ward_code,
    p.sex,
    p.age_band,
    count(*) as people_screened,
    max(y.facts_in_year) as facts_in_year,
    now() as built_at
from people as p
inner join report_years as y on p.fiscal_year = y.fiscal_year
group by p.fiscal_year, p.exam_type, p.ward_code, p.sex, p.age_band
