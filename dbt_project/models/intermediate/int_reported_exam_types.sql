-- Every exam_type a statistics table or the ministry report has rows for: each
-- method (exam_types) and each family of several methods (exam_families), whose
-- rows carry the family's name (DOMAIN.md: statistics per method and for the
-- family, a person counted once). What those tables need of each: its report
-- table and place, the sexes and youngest age of its rows, its interval, and the
-- national figures' age band ('40-69', gastric '50-69', cervical '20-69').
{{ config(materialized='table') }}

with subjects as (
    select
        t.exam_type::text as exam_type,
        t.family,
        false as is_family,
        t.report_table,
        t.report_name_ja,
        t.report_order,
        t.sex,
        t.min_age,
        t.interval_years,
        t.report_min_age,
        t.report_max_age,
        t.active
    from {{ ref('exam_types') }} as t
    union all
    select
        f.family as exam_type,
        f.family,
        true as is_family,
        min(t.report_table) as report_table,
        f.report_name_ja,
        f.report_order,
        -- a sex only when every method has the same one
        case when count(t.sex) = count(*) and min(t.sex) = max(t.sex) then min(t.sex) end as sex,
        min(t.min_age) as min_age,
        f.interval_years,
        f.report_min_age,
        f.report_max_age,
        bool_or(t.active) as active
    from {{ ref('exam_families') }} as f
    inner join {{ ref('exam_types') }} as t on f.family = t.family
    group by f.family, f.report_name_ja, f.report_order, f.interval_years, f.report_min_age, f.report_max_age
)

select
    *,
    case when report_min_age is not null and report_max_age is not null
         then report_min_age || '-' || report_max_age end as national_age_band
from subjects
