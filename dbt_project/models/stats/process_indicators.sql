-- プロセス指標 of the guideline's cancer screenings (exam_types.report_table; PSA
-- and the other city programmes are not judged by them): per fiscal year, exam
-- type (and family: 'gastric', 'cervical'), sex and age band (with 'all' margins
-- and the national figures' band, '40-69' etc.),
-- the counts of the ministry's process indicators and their rates, compared
-- with the selected national thresholds. Counts 1-9 suppressed (macro
-- suppressed_counts); rates only from published counts. Incremental by fiscal
-- year: margins and suppression never cross one.
{{ config(
    post_hook=["{{ drop_years_without_facts(ref('int_screening_counts'), by=['fiscal_year', 'exam_type']) }}"],
) }}
{%- set dims = ['fiscal_year', 'exam_type', 'sex', 'age_band'] %}
{%- set measures = ['screened', 'needing_detailed_exam', 'detailed_exam_attended', 'detailed_exam_not_attended',
                    'detailed_exam_unknown', 'cancers_found'] %}
with
{{ fiscal_years_to_rebuild(ref('int_screening_counts'), stats=true) }},

guideline_cells as (
    select *
    from {{ ref('int_screening_counts') }}
    where exam_type::text in (select t.exam_type from {{ ref('int_reported_exam_types') }} as t
                              where t.report_table = 'guideline')
      and age_band is not null
      and fiscal_year in (select c.fiscal_year from changed_years as c)
),

counts as (
    select
        fiscal_year,
        exam_type,
        {{- margin_labels(['sex', 'age_band']) }},
        {%- for m in measures %}
        sum({{ m }}) as {{ m }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from guideline_cells
    group by {{ margin_grouping_sets(['fiscal_year', 'exam_type'], ['sex', 'age_band']) }}
    union all
    {{ national_margin_rows('guideline_cells', ['fiscal_year', 'exam_type'], ['sex'], measures) }}
),

published as (
    {{ suppressed_counts('counts', dims, measures, ['sex', 'age_band'],
                         {'needing_detailed_exam': ['detailed_exam_attended', 'detailed_exam_not_attended',
                                                    'detailed_exam_unknown']},
                         scopes=['national', 'family']) }}
),

wide as (
    {{ published_wide('published', dims, measures) }}
),

rates as (
    select
        w.*,
        round(100.0 * w.needing_detailed_exam / nullif(w.screened, 0), 2) as recall_rate,
        round(100.0 * w.detailed_exam_attended / nullif(w.needing_detailed_exam, 0), 2) as followup_rate,
        round(100.0 * w.detailed_exam_not_attended / nullif(w.needing_detailed_exam, 0), 2) as not_attended_rate,
        round(100.0 * w.detailed_exam_unknown / nullif(w.needing_detailed_exam, 0), 2) as unknown_rate,
        round(100.0 * (w.detailed_exam_not_attended + w.detailed_exam_unknown)
              / nullif(w.needing_detailed_exam, 0), 2) as not_attended_or_unknown_rate,
        round(100.0 * w.cancers_found / nullif(w.screened, 0), 3) as detection_rate,
        round(100.0 * w.cancers_found / nullif(w.needing_detailed_exam, 0), 2) as ppv
    from wide as w
),

checks as (
    -- one row per indicator that has a threshold for this exam type (the most
    -- specific row of the table: sex and age band before either empty); a rate
    -- that cannot be computed (suppressed counts) is not met, not unknown-as-met
    select
        r.fiscal_year, r.exam_type, r.sex, r.age_band,
        th.acceptable_pct is not null as has_acceptable,
        th.target_pct is not null as has_target,
        case when th.direction = 'min' then v.rate >= th.acceptable_pct else v.rate <= th.acceptable_pct end
            as meets_acceptable,
        case when th.direction = 'min' then v.rate >= th.target_pct else v.rate <= th.target_pct end
            as meets_target
    from rates as r
    cross join lateral (values
        ('recall_rate', r.recall_rate), ('followup_rate', r.followup_rate),
        ('not_attended_rate', r.not_attended_rate), ('unknown_rate', r.unknown_rate),
        ('not_attended_or_unknown_rate', r.not_attended_or_unknown_rate),
        ('detection_rate', r.detection_rate), ('ppv', r.ppv)) as v (indicator, rate)
    cross join lateral (
        select t.direction, t.acceptable_pct, t.target_pct
        from {{ ref('indicator_thresholds') }} as t
        where t.threshold_table = '{{ var("threshold_table") }}'
          and t.exam_type = r.exam_type and t.indicator = v.indicator
          and (t.sex is null or t.sex = r.sex) and (t.age_band is null or t.age_band = r.age_band)
        order by t.sex is null, t.age_band is null
        limit 1
    ) as th
),

judged as (
    -- DOMAIN.md: no threshold, no verdict (null); any indicator that fails makes
    -- it false; one that cannot be computed leaves it open (null), never true
    select
        fiscal_year,
        exam_type,
        sex,
        age_band,
        case
            when not bool_or(has_acceptable) then null
            when bool_or(has_acceptable and not meets_acceptable) then false
            when bool_or(has_acceptable and meets_acceptable is null) then null
            else true
        end as meets_acceptable,
        case
            when not bool_or(has_target) then null
            when bool_or(has_target and not meets_target) then false
            when bool_or(has_target and meets_target is null) then null
            else true
        end as targets_met
    from checks
    group by fiscal_year, exam_type, sex, age_band
),

verdicts as (
    -- 目標値 is met only on top of every 許容値
    select
        fiscal_year,
        exam_type,
        sex,
        age_band,
        meets_acceptable,
        case
            when targets_met is null then null
            when meets_acceptable is false then false
            when meets_acceptable is null then null
            else targets_met
        end as meets_target
    from judged
)

select
    r.fiscal_year,
    r.exam_type,
    r.sex,
    r.age_band,
    {%- for m in measures %}
    r.{{ m }},
    r.{{ m }}_suppressed,
    {%- endfor %}
    r.recall_rate,
    r.followup_rate,
    r.not_attended_rate,
    r.unknown_rate,
    r.not_attended_or_unknown_rate,
    r.detection_rate,
    r.ppv,
    v.meets_acceptable,
    v.meets_target,
    y.facts_in_year,
    now() as built_at,
    {{ marts_policy(stats=true) }} as policy
from rates as r
inner join fact_years as y on r.fiscal_year = y.fiscal_year
left join verdicts as v
    on r.fiscal_year = v.fiscal_year and r.exam_type = v.exam_type and r.sex = v.sex and r.age_band = v.age_band
