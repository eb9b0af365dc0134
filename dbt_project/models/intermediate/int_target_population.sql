-- 対象者数: residents on the first day of each fiscal year with screenings (or on
-- the ledger's first day, if later), counted per exam type their sex, fiscal-year
-- age and insurance admit, by ward, sex and age band. People are counted into
-- (fiscal year, ward, sex, age) cells first and the programme rules applied to
-- the cells: a decade of a 1.56M city is 15M person-years, not 15M x 12 rows.
-- A family of several methods (int_reported_exam_types) has rows of its own,
-- exam_type the family's name: whoever any of its active methods admits, once.
--
-- Incremental by fiscal year: a year is counted when it first has screenings
-- and recounted while it is the latest one (late registry corrections of its
-- first day); a closed year's denominators stay as counted, except that every
-- year is recounted after the retention purge removed persons from the ledger
-- (no row may keep deriving from them). A registry correction reaching back
-- into a closed year needs `--full-refresh`.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('int_screening_counts')) }}"],
) }}

with years as (
    select
        y.fiscal_year,
        greatest(make_date(y.fiscal_year, {{ var('fiscal_year_start_month', 4) }}, 1),
                 (select min(v.valid_from) from {{ ref('stg_core__person_version') }} as v)) as as_of
    from (select distinct c.fiscal_year from {{ ref('int_screening_counts') }} as c) as y
    {%- if is_incremental() %}
    where y.fiscal_year not in (select t.fiscal_year from {{ this }} as t)
       or y.fiscal_year = (select max(c.fiscal_year) from {{ ref('int_screening_counts') }} as c)
       or {{ policy_changed() }}
       or exists (select 1 from {{ source('ops', 'deletion_log') }} as d
                  where d.table_name = 'core.person'
                    and d.deleted_at > (select max(t.built_at) from {{ this }} as t))
    {%- endif %}
),

residents as (
    select
        y.fiscal_year,
        y.as_of,
        v.addressee_id,
        v.sex,
        v.ward_code,
        {{ fiscal_year_age('v.birth_date', 'y.fiscal_year') }} as age_in_fiscal_year
    from years as y
    inner join {{ ref('stg_core__person_version') }} as v
        on v.valid_from <= y.as_of and (v.valid_to is null or v.valid_to > y.as_of)
    where v.status = 1
),

populations as (
    select fiscal_year, 'all' as population, sex, ward_code, age_in_fiscal_year from residents
    union all
    select r.fiscal_year, 'nhi' as population, r.sex, r.ward_code, r.age_in_fiscal_year
    from residents as r
    where exists (select 1 from {{ ref('stg_core__nhi_period') }} as n
                   where n.addressee_id = r.addressee_id and n.qualified_from <= r.as_of
                     and (n.qualified_to is null or n.qualified_to >= r.as_of))
    union all
    select r.fiscal_year, 'welfare' as population, r.sex, r.ward_code, r.age_in_fiscal_year
    from residents as r
    where exists (select 1 from {{ ref('stg_core__welfare_period') }} as w
                   where w.addressee_id = r.addressee_id and w.start_date <= r.as_of
                     and (w.end_date is null or w.end_date >= r.as_of))
),

cells as (
    select fiscal_year, population, sex, ward_code, age_in_fiscal_year, count(*) as people
    from populations
    group by fiscal_year, population, sex, ward_code, age_in_fiscal_year
),

admitted as (
    -- the cells each active method admits by sex, fiscal-year age and insurance
    select c.*, t.exam_type::text as exam_type, t.family
    from cells as c
    inner join {{ ref('exam_types') }} as t
        on c.population = t.population
        and t.active
        and (t.sex is null or t.sex = c.sex)
        and exists (
            select 1 from unnest(string_to_array(t.age_ranges, ' ')) as r (age_range)
            where c.age_in_fiscal_year >= split_part(r.age_range, '-', 1)::integer
              and (split_part(r.age_range, '-', 2) = ''
                   or c.age_in_fiscal_year <= split_part(r.age_range, '-', 2)::integer))
        and (t.milestone_ages is null
             or c.age_in_fiscal_year::text = any(string_to_array(t.milestone_ages, ' ')))
),

subject_cells as (
    select fiscal_year, exam_type, ward_code, sex, age_in_fiscal_year, people
    from admitted
    union all
    -- a family's target is whoever any of its methods admits, each cell once
    -- (its methods serve one population: tests/family_methods_share_a_population.sql)
    select distinct on (a.fiscal_year, a.family, a.population, a.sex, a.ward_code, a.age_in_fiscal_year)
        a.fiscal_year, a.family as exam_type, a.ward_code, a.sex, a.age_in_fiscal_year, a.people
    from admitted as a
    inner join {{ ref('int_reported_exam_types') }} as r on a.family = r.exam_type and r.is_family
)

select
    c.fiscal_year,
    c.exam_type,
    c.ward_code,
    c.sex,
    b.age_band,
    sum(c.people) as target_population,
    now() as built_at,
    {{ marts_policy() }} as policy
from subject_cells as c
inner join {{ ref('age_bands') }} as b on c.age_in_fiscal_year between b.min_age and b.max_age
group by c.fiscal_year, c.exam_type, c.ward_code, c.sex, b.age_band
