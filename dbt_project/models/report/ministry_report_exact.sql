-- 地域保健・健康増進事業報告（健康増進編）, exact: the counts the city submits
-- (DOMAIN.md: never suppressed, never from the published stats). Per report
-- fiscal year, exam type, sex, age band and first-time / repeat (with 'all'
-- margins): people screened and needing a detailed exam in that year, and the
-- detailed-exam outcomes of the PREVIOUS fiscal year's 要精検 (outcomes finish
-- after the screening year). Readable by kenshin_reporter only, every read
-- logged (dbt_project.yml, migration 0028); stats.ministry_report is these
-- cells suppressed.
{%- set measures = ['screened', 'needing_detailed_exam', 'prev_needing_detailed_exam', 'prev_cancer',
                    'prev_suspected', 'prev_other_disease', 'prev_no_abnormality', 'prev_not_attended',
                    'prev_unknown'] %}
with
cells as (
    select
        c.fiscal_year,
        c.exam_type,
        c.sex,
        c.age_band,
        case when c.is_first_time then 'first' else 'repeat' end as first_time,
        c.screened,
        c.needing_detailed_exam,
        c.outcome_cancer,
        c.outcome_suspected,
        c.outcome_other_disease,
        c.outcome_no_abnormality,
        c.detailed_exam_not_attended,
        c.detailed_exam_unknown
    from {{ ref('int_screening_counts') }} as c
    where c.age_band is not null
),

-- each year's cells count in their own year's block and in the next year's follow-up block
rows_by_report_year as (
    select fiscal_year, exam_type, sex, age_band, first_time,
           screened, needing_detailed_exam,
           0 as prev_needing_detailed_exam, 0 as prev_cancer, 0 as prev_suspected, 0 as prev_other_disease,
           0 as prev_no_abnormality, 0 as prev_not_attended, 0 as prev_unknown
    from cells
    union all
    -- a union's later branch takes its column names from the first one
    select fiscal_year + 1 as report_year, exam_type, sex, age_band, first_time, 0, 0,  -- noqa: AL03
           needing_detailed_exam, outcome_cancer, outcome_suspected, outcome_other_disease,
           outcome_no_abnormality, detailed_exam_not_attended, detailed_exam_unknown
    from cells
    where needing_detailed_exam > 0
),

counts as (
    select
        fiscal_year,
        exam_type,
        coalesce(sex::text, 'all') as sex,
        coalesce(age_band, 'all') as age_band,
        coalesce(first_time, 'all') as first_time,
        {%- for m in measures %}
        sum({{ m }}) as {{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from rows_by_report_year
    group by grouping sets (
        (fiscal_year, exam_type, sex, age_band, first_time), (fiscal_year, exam_type, sex, age_band),
        (fiscal_year, exam_type, sex, first_time), (fiscal_year, exam_type, age_band, first_time),
        (fiscal_year, exam_type, sex), (fiscal_year, exam_type, age_band), (fiscal_year, exam_type, first_time),
        (fiscal_year, exam_type))
)

select
    c.*,
    t.report_table
from counts as c
inner join {{ ref('exam_types') }} as t on c.exam_type = t.exam_type
