-- 受診率: per fiscal year, exam type, ward, sex and age band (with 'all' margins),
-- the target population on the fiscal year's first day and the people screened;
-- biennial programmes count this and the previous fiscal year (screened last FY +
-- this FY - both, DOMAIN.md). Counts 1-9 suppressed.
{%- set dims = ['fiscal_year', 'exam_type', 'ward_code', 'sex', 'age_band'] %}
with screened as (
    -- people screened in the fiscal year (biennial programmes: or the one before),
    -- each counted once, in the ward, sex and age band of their latest screening
    select
        y.fiscal_year,
        f.exam_type,
        f.person_key,
        (array_agg(f.ward_code order by f.fiscal_year desc, f.screening_id desc))[1] as ward_code,
        (array_agg(f.sex order by f.fiscal_year desc, f.screening_id desc))[1] as sex,
        (array_agg(f.age_band order by f.fiscal_year desc, f.screening_id desc))[1] as age_band
    from {{ ref('fct_screening') }} as f
    inner join {{ ref('exam_types') }} as t on f.exam_type = t.exam_type
    inner join (select distinct fiscal_year from {{ ref('int_target_population') }}) as y
        on f.fiscal_year between y.fiscal_year - (case when t.interval_years >= 2 then 1 else 0 end)
                             and y.fiscal_year
    group by y.fiscal_year, f.exam_type, f.person_key
),

cells as (
    select fiscal_year, exam_type, ward_code, sex, age_band, target_population, 0 as screened
    from {{ ref('int_target_population') }}
    union all
    select fiscal_year, exam_type, ward_code, sex, age_band, 0, count(*)
    from screened
    where age_band is not null
    group by fiscal_year, exam_type, ward_code, sex, age_band
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
