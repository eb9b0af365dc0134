-- 受診率: per fiscal year, exam type, ward, sex and age band (with 'all' margins),
-- the target population on the fiscal year's first day and how many of them were
-- screened; biennial programmes count this and the previous fiscal year
-- (screened last FY + this FY - both, DOMAIN.md). Counts 1-9 suppressed.
{%- set dims = ['fiscal_year', 'exam_type', 'ward_code', 'sex', 'age_band'] %}
with screened as (
    select distinct person_key, exam_type, fiscal_year from {{ ref('fct_screening') }}
),

target as (
    select
        t.*,
        exists (
            select 1 from screened as s
            where s.person_key = t.person_key and s.exam_type = t.exam_type
              and s.fiscal_year between t.fiscal_year - t.participation_years + 1 and t.fiscal_year
        ) as was_screened
    from {{ ref('int_target_population') }} as t
),

counts as (
    select
        fiscal_year,
        exam_type,
        coalesce(ward_code::text, 'all') as ward_code,
        coalesce(sex::text, 'all') as sex,
        coalesce(age_band, 'all') as age_band,
        count(*) as target_population,
        count(*) filter (where was_screened) as screened
    from target
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
    select
        {{ dims | join(', ') }},
        max(value) filter (where measure = 'target_population' and not suppressed) as target_population,
        coalesce(bool_or(suppressed) filter (where measure = 'target_population'), false)
            as target_population_suppressed,
        max(value) filter (where measure = 'screened' and not suppressed) as screened,
        coalesce(bool_or(suppressed) filter (where measure = 'screened'), false) as screened_suppressed
    from published
    group by {{ dims | join(', ') }}
)

select
    *,
    round(100.0 * screened / nullif(target_population, 0), 2) as participation_rate
from wide
