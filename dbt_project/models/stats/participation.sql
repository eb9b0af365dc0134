-- 受診率: per fiscal year, exam type (and family of several methods, exam_type
-- its name), ward, sex and age band (with 'all' margins and the national
-- figures' band, '40-69' etc.: macro national_margin_rows),
-- the target population on the fiscal year's first day and the people screened;
-- biennial programmes count this and the previous fiscal year (screened last FY +
-- this FY - both, DOMAIN.md). Counts 1-9 suppressed. Incremental by fiscal year.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('int_people_screened')) }}"],
) }}
{%- set dims = ['fiscal_year', 'exam_type', 'ward_code', 'sex', 'age_band'] %}
with
{{ fiscal_years_to_rebuild(ref('int_people_screened'), stats=true) }},

years as (
    select c.fiscal_year from changed_years as c
    {%- if is_incremental() %}
    union
    -- a recounted target population
    select t.fiscal_year from {{ ref('int_target_population') }} as t
    where t.built_at > (select max(p.built_at) from {{ this }} as p)
    {%- endif %}
),

cells as (
    select fiscal_year, exam_type, ward_code, sex, age_band, target_population, 0 as screened
    from {{ ref('int_target_population') }}
    where fiscal_year in (select y.fiscal_year from years as y)
    union all
    select fiscal_year, exam_type, ward_code, sex, age_band, 0 as target_population, people_screened as screened
    from {{ ref('int_people_screened') }}
    where age_band is not null
      and fiscal_year in (select t.fiscal_year from {{ ref('int_target_population') }} as t)
      and fiscal_year in (select y.fiscal_year from years as y)
),

counts as (
    select
        fiscal_year,
        exam_type,
        {{- margin_labels(['ward_code', 'sex', 'age_band']) }},
        sum(target_population) as target_population,
        sum(screened) as screened
    from cells
    group by {{ margin_grouping_sets(['fiscal_year', 'exam_type'], ['ward_code', 'sex', 'age_band']) }}
    union all
    {{ national_margin_rows('cells', ['fiscal_year', 'exam_type'], ['ward_code', 'sex'],
                            ['target_population', 'screened']) }}
),

published as (
    {{ suppressed_counts('counts', dims, ['target_population', 'screened'], ['ward_code', 'sex', 'age_band'],
                         scopes=['national', 'family']) }}
),

wide as (
    {{ published_wide('published', dims, ['target_population', 'screened']) }}
)

select
    w.*,
    round(100.0 * w.screened / nullif(w.target_population, 0), 2) as participation_rate,
    f.facts_in_year,
    now() as built_at,
    {{ marts_policy(stats=true) }} as policy
from wide as w
inner join fact_years as f on w.fiscal_year = f.fiscal_year
