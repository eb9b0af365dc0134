-- 地域保健・健康増進事業報告（健康増進編）: per report fiscal year, exam type, sex,
-- age band and first-time / repeat (with 'all' margins): people screened and
-- needing detailed exam in that year, and the detailed-exam outcomes of the
-- PREVIOUS fiscal year's 要精検 (outcomes finish after the screening year);
-- families of several methods beside their methods (exam_type 'gastric',
-- 'cervical'). The
-- guideline's cancer screenings and the city's own programmes are separate
-- tables (report_table), never one.
-- These are the exact cells of report.ministry_report_exact, counts 1-9
-- suppressed with their complements. Incremental by report year: a
-- changed fiscal year is recounted with the next one (its follow-up block).
{{ config(
    post_hook=["
        {% if is_incremental() %}
        delete from {{ this }} as t
        where not exists (select 1 from {{ ref('ministry_report_exact') }} as e
                          where e.exam_type = t.exam_type and e.fiscal_year = t.fiscal_year)
        {% endif %}"],
) }}
{%- set dims = ['fiscal_year', 'exam_type', 'sex', 'age_band', 'first_time'] %}
{%- set outcomes = ['prev_cancer', 'prev_suspected', 'prev_other_disease', 'prev_no_abnormality'] %}
{%- set measures = ['screened', 'needing_detailed_exam', 'prev_needing_detailed_exam'] + outcomes
                   + ['prev_not_attended', 'prev_unknown'] %}
with
{{ fiscal_years_to_rebuild(ref('int_screening_counts'), stats=true) }},

report_years as (
    select c.fiscal_year from changed_years as c
    union
    select c.fiscal_year + 1 from changed_years as c
),

counts as (
    select
        e.fiscal_year,
        e.exam_type,
        e.sex,
        e.age_band,
        e.first_time,
        {%- for m in measures %}
        e.{{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ ref('ministry_report_exact') }} as e
    where e.fiscal_year in (select r.fiscal_year from report_years as r)
),

published as (
    {{ suppressed_counts('counts', dims, measures, ['sex', 'age_band', 'first_time'],
                         {'prev_needing_detailed_exam': outcomes + ['prev_not_attended', 'prev_unknown']},
                         scopes=['family']) }}
)

select
    w.*,
    t.report_table,
    y.facts_in_year,
    now() as built_at,
    {{ marts_policy(stats=true) }} as policy
from ({{ published_wide('published', dims, measures) }}) as w
inner join {{ ref('int_reported_exam_types') }} as t on w.exam_type = t.exam_type
left join fact_years as y on w.fiscal_year = y.fiscal_year
