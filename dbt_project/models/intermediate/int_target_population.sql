-- 対象者: residents on the first day of each fiscal year with screenings (or on the
-- ledger's first day, if later), with the
-- exam types their sex and fiscal-year age admit (programme rules of the seed).
-- Ward, sex and age are those of that day.
with years as (
    -- the fiscal year's first day, or the day the ledger began if that is later
    -- (before its first full snapshot the ledger knows nobody)
    select
        fiscal_year,
        greatest(make_date(fiscal_year, {{ var('fiscal_year_start_month', 4) }}, 1),
                 (select min(valid_from) from {{ ref('stg_core__person_version') }})) as as_of
    from (select distinct fiscal_year from {{ ref('int_screening_enriched') }}) as y
),

residents as (
    select
        y.fiscal_year,
        p.person_key,
        v.sex,
        v.ward_code,
        exists (select 1 from {{ ref('stg_core__nhi_period') }} as n
                 where n.addressee_id = v.addressee_id and n.qualified_from <= y.as_of
                   and (n.qualified_to is null or n.qualified_to >= y.as_of)) as is_nhi_member,
        exists (select 1 from {{ ref('stg_core__welfare_period') }} as w
                 where w.addressee_id = v.addressee_id and w.start_date <= y.as_of
                   and (w.end_date is null or w.end_date >= y.as_of)) as is_welfare_recipient,
        {{ fiscal_year_age('v.birth_date', 'y.fiscal_year') }} as age_in_fiscal_year
    from years as y
    inner join {{ ref('stg_core__person_version') }} as v
        on v.valid_from <= y.as_of and (v.valid_to is null or v.valid_to > y.as_of)
        and v.status = 1
    inner join {{ ref('stg_core__person') }} as p on v.addressee_id = p.addressee_id
)

select
    r.fiscal_year,
    r.person_key,
    r.sex,
    r.ward_code,
    r.is_nhi_member,
    r.is_welfare_recipient,
    r.age_in_fiscal_year,
    b.age_band,
    t.exam_type,
    -- biennial programmes count people screened this or last fiscal year (DOMAIN.md)
    case when t.interval_years >= 2 then 2 else 1 end as participation_years
from residents as r
inner join {{ ref('exam_types') }} as t
    on (t.sex is null or t.sex = r.sex)
    and (t.population = 'all' or (t.population = 'nhi' and r.is_nhi_member)
         or (t.population = 'welfare' and r.is_welfare_recipient))
    and r.age_in_fiscal_year >= t.min_age
    and (t.max_age is null or r.age_in_fiscal_year <= t.max_age)
    and (t.milestone_ages is null
         or r.age_in_fiscal_year::text = any(string_to_array(t.milestone_ages, ' ')))
inner join {{ ref('age_bands') }} as b on r.age_in_fiscal_year between b.min_age and b.max_age
