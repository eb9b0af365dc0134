-- 地域保健・健康増進事業報告（健康増進編）, exact: the counts the city submits
-- (DOMAIN.md: never suppressed, never from the published stats). Per report
-- fiscal year, exam type, sex, age band and first-time / repeat (with 'all'
-- margins): people screened and needing a detailed exam in that year, and the
-- detailed-exam outcomes of the PREVIOUS fiscal year's 要精検 (outcomes finish
-- after the screening year); 対象者数 and 精検受診者数 beside them, and for the
-- biennial tables 前年度受診者数 and 2年連続受診者数; families of several methods
-- as tables of their own (胃がん(計), 子宮頸がん(計)); every row
-- of the tables present, 0 where nobody. Readable by kenshin_reporter only, every read
-- logged (dbt_project.yml, migration 0028); stats.ministry_report is these
-- cells suppressed.
{%- set measures = ['screened', 'prev_year_screened', 'screened_both_years', 'needing_detailed_exam',
                    'prev_needing_detailed_exam', 'prev_cancer',
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
        c.screened_both_years,
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

-- each year's cells count in their own year's block and in the next year's:
-- its 前年度受診者数 and the follow-up of its 要精検
rows_by_report_year as (
    select fiscal_year, exam_type, sex, age_band, first_time,
           screened, needing_detailed_exam, 0 as prev_year_screened, screened_both_years,
           0 as prev_needing_detailed_exam, 0 as prev_cancer, 0 as prev_suspected, 0 as prev_other_disease,
           0 as prev_no_abnormality, 0 as prev_not_attended, 0 as prev_unknown
    from cells
    union all
    -- last year's cells, in this year's row (前年度 columns)
    select fiscal_year + 1 as fiscal_year, exam_type, sex, age_band, first_time,
           0 as screened, 0 as needing_detailed_exam, screened as prev_year_screened, 0 as screened_both_years,
           needing_detailed_exam as prev_needing_detailed_exam, outcome_cancer as prev_cancer,
           outcome_suspected as prev_suspected, outcome_other_disease as prev_other_disease,
           outcome_no_abnormality as prev_no_abnormality, detailed_exam_not_attended as prev_not_attended,
           detailed_exam_unknown as prev_unknown
    from cells
),

counts as (
    select
        fiscal_year,
        exam_type,
        {{- margin_labels(['sex', 'age_band', 'first_time']) }},
        {%- for m in measures %}
        sum({{ m }}) as {{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from rows_by_report_year
    group by {{ margin_grouping_sets(['fiscal_year', 'exam_type'], ['sex', 'age_band', 'first_time']) }}
),

target as (
    select
        fiscal_year,
        exam_type,
        {{- margin_labels(['sex', 'age_band']) }},
        sum(target_population) as target_population
    from {{ ref('int_target_population') }}
    group by {{ margin_grouping_sets(['fiscal_year', 'exam_type'], ['sex', 'age_band']) }}
),

report_years as (
    select distinct c.fiscal_year from counts as c
),

bands as (
    select a.age_band, a.max_age from {{ ref('age_bands') }} as a
    union all
    select 'all' as age_band, null as max_age
),

grid as (
    -- every row of the report's tables, 0 where nobody (DOMAIN.md): the exam
    -- type's sexes, the bands from its youngest age on, first-time / repeat and
    -- the 計 rows, for each active programme (and one with counts that year)
    select y.fiscal_year, t.exam_type, t.report_table, t.report_order, t.report_name_ja,
           coalesce(t.interval_years = 2, false) as is_biennial,
           x.sex, b.age_band, f.first_time
    from report_years as y
    cross join {{ ref('int_reported_exam_types') }} as t
    cross join (values ('1'), ('2'), ('all')) as x (sex)
    cross join bands as b
    cross join (values ('first'), ('repeat'), ('all')) as f (first_time)
    where (t.active or exists (select 1 from counts as c where c.fiscal_year = y.fiscal_year
                                                         and c.exam_type = t.exam_type))
      and (t.sex is null or x.sex in (t.sex::text, 'all'))
      and (b.age_band = 'all' or b.max_age >= t.min_age)
)

select
    g.fiscal_year,
    g.exam_type,
    g.sex,
    g.age_band,
    g.first_time,
    -- 対象者数 is a count of residents, not of screenings: it has no 初回 / 非初回
    case when g.first_time = 'all' then coalesce(p.target_population, 0) end as target_population,
    {%- for m in measures %}
    {%- if m in ('prev_year_screened', 'screened_both_years') %}
    -- biennial tables only (LAYOUTS.md §8), counts of people like 対象者数: 計 rows
    case when g.is_biennial and g.first_time = 'all' then coalesce(c.{{ m }}, 0) end as {{ m }},
    {%- else %}
    coalesce(c.{{ m }}, 0) as {{ m }},
    {%- endif %}
    {%- endfor %}
    coalesce(c.prev_cancer + c.prev_suspected + c.prev_other_disease + c.prev_no_abnormality, 0) as prev_attended,
    g.report_table,
    g.report_order,
    g.report_name_ja,
    g.is_biennial
from grid as g
left join counts as c
    on g.fiscal_year = c.fiscal_year and g.exam_type = c.exam_type and g.sex = c.sex
    and g.age_band = c.age_band and g.first_time = c.first_time
left join target as p
    on g.fiscal_year = p.fiscal_year and g.exam_type = p.exam_type and g.sex = p.sex and g.age_band = p.age_band
