-- 受診率: per fiscal year, exam type, ward, sex and age band (with 'all' margins),
-- the target population on the fiscal year's first day and the people screened;
-- biennial programmes count this and the previous fiscal year (screened last FY +
-- this FY - both, DOMAIN.md). Counts 1-9 suppressed.
{%- set dims = ['fiscal_year', 'exam_type', 'ward_code', 'sex', 'age_band'] %}
with cells as (
    select fiscal_year, exam_type, ward_code, sex, age_band, target_population, 0 as screened
    from {{ ref('int_target_population') }}
    union all
    select fiscal_year, exam_type, ward_code, sex, age_band, 0 as target_population, people_screened as screened
    from {{ ref('int_people_screened') }}
    where age_band is not null
      and fiscal_year in (select t.fiscal_year from {{ ref('int_target_population') }} as t)
),

counts as (
    select
        fiscal_year,
        exam_type,
        coalesce(ward_code::text, 'all') as ward_code,
        coalesce(sex::text, 'all') as sex,
        coalesce(age_band, 'all') as age_band,
        sum(target_population) as target_population,
        sum(screened) as screened
    from cells
    group by grouping sets (
        (fiscal_year, exam_type, ward_code, sex, age_band), (fiscal_year, exam_type, ward_code, sex),
        (fiscal_year, exam_type, ward_code, age_band), (fiscal_year, exam_type, sex, age_band),
        (fiscal_year, exam_type, ward_code), (fiscal_year, exam_type, sex), (fiscal_year, exam_type, age_band),
        (fiscal_year, exam_type))
),

published as (
    {{ suppressed_counts('counts', dims, ['target_population', 'screened'], ['ward_code', 'sex', 'age_band']) }}
),

wide as (
    {{ published_wide('published', dims, ['target_population', 'screened']) }}
)

select
    *,
    round(100.0 * screened / nullif(target_population, 0), 2) as participation_rate
from wide
