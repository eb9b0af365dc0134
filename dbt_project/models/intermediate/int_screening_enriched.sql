-- Every screening with what statistics and the history need: programme,
-- fiscal year, the person as of the exam date (sex, ward, age in the fiscal
-- year), first-time flag, previous screening of the programme, detailed-exam status.
--
-- Incremental: a monthly run rebuilds only the people whose screenings,
-- detailed exams or ledger entry changed since the last build (a person's
-- first-time flags and intervals depend on all their screenings, so all of a
-- changed person's rows are rebuilt). "Since" is the build's change watermark
-- (ops.change_watermark, read by the pre-hook before the build's snapshot): the
-- start of the oldest transaction then open, so a load committed during a
-- build is picked up by the next one. Deleted screenings and detailed exams
-- (corrections, purges) are in ops.deletion_log: their people are rebuilt and
-- the post-hook removes the deleted rows. A rebuilt row whose content did not
-- change keeps its built_at (row_hash), so the aggregates downstream recount
-- only the fiscal years where something changed.
-- `kenshin marts build --full-refresh` rebuilds everything.
{{ config(
    unique_key='screening_id',
    indexes=[
        {'columns': ['screening_id'], 'unique': True},
        {'columns': ['addressee_id']},
        {'columns': ['fiscal_year', 'exam_type']},
        {'columns': ['built_at']},
    ],
    pre_hook=["select set_config('kenshin.change_watermark', ops.change_watermark()::text, true)"],
    post_hook=["
        {% if is_incremental() %}
        delete from {{ this }} as t
        using {{ source('ops', 'deletion_log') }} as d
        where d.table_name = 'core.screening' and d.record_id = t.screening_id
          and not exists (select 1 from {{ ref('stg_core__screening') }} as s where s.screening_id = t.screening_id)
        {% endif %}",
        "{{ record_change_watermark() }}"],
) }}

with
{% if is_incremental() %}
{%- set changed_after = last_change_watermark(this) %}

changed as (
    -- what to rebuild: (person, family or null for all, from which exam date).
    -- A new or corrected screening or outcome changes its own row and the later
    -- ones of the family (their previous screening); a ledger change or a
    -- deletion, every row of the person. changed_after is -infinity after a
    -- change of policy (other fiscal year or age rules): everything.
    select s.addressee_id, t.family, min(s.exam_date) as rebuild_from
    from {{ ref('stg_core__screening') }} as s
    inner join {{ ref('exam_types') }} as t on s.exam_type = t.exam_type
    where s.updated_at > {{ changed_after }}
    group by s.addressee_id, t.family
    union all
    select d.addressee_id, t.family, min(s.exam_date) as rebuild_from
    from {{ ref('stg_core__detailed_exam') }} as d
    inner join {{ ref('stg_core__screening') }} as s on d.screening_id = s.screening_id
    inner join {{ ref('exam_types') }} as t on s.exam_type = t.exam_type
    where d.updated_at > {{ changed_after }}
    group by d.addressee_id, t.family
    union all
    -- a screening a previous municipality reported changes the later rows of its family
    select e.addressee_id, t.family, min(e.exam_date) as rebuild_from
    from {{ ref('stg_core__external_screening') }} as e
    inner join {{ ref('exam_types') }} as t on e.exam_type = t.exam_type
    where e.updated_at > {{ changed_after }}
    group by e.addressee_id, t.family
    union all
    select addressee_id, null as family, '-infinity'::date as rebuild_from
    from {{ ref('stg_core__person') }}
    where updated_at > {{ changed_after }}
    union all
    select addressee_id, null as family, '-infinity'::date as rebuild_from
    from {{ source('ops', 'deletion_log') }}
    where deleted_at > {{ changed_after }}
),

changed_people as (
    select distinct c.addressee_id from changed as c
),
{% endif %}

screening as (
    select
        s.screening_id,
        s.addressee_id,
        p.person_key,
        s.exam_type,
        t.programme,
        t.family,
        t.interval_years,
        t.min_age,
        t.sex as programme_sex,
        s.exam_date,
        {{ fiscal_year('s.exam_date') }} as fiscal_year,
        s.result_code,
        r.needs_detailed_exam
    from {{ ref('stg_core__screening') }} as s
    inner join {{ ref('stg_core__person') }} as p on s.addressee_id = p.addressee_id
    inner join {{ ref('exam_types') }} as t on s.exam_type = t.exam_type
    -- 要精検 per exam type (cervical 判定不能 counts)
    inner join {{ ref('detailed_exam_criteria') }} as r
        on s.exam_type = r.exam_type and s.result_code = r.result_code
    {% if is_incremental() %}
    where s.addressee_id in (select c.addressee_id from changed_people as c)
    {% endif %}
),

as_of_exam as (
    -- the version valid on the exam date; for an exam in a gap of residence, the
    -- last version before it; for one before the ledger began, the first version
    select distinct on (s.screening_id)
        s.screening_id,
        v.sex,
        v.birth_date,
        v.ward_code
    from screening as s
    inner join {{ ref('stg_core__person_version') }} as v on s.addressee_id = v.addressee_id
    order by s.screening_id, (v.valid_from <= s.exam_date) desc, abs(s.exam_date - v.valid_from)
),

in_programme as (
    -- a screening outside its programme's sex and ages (a 35-year-old's X-ray, a
    -- cervical screening linked to a man) stays in the history but is no
    -- programme's 受診者: no statistic and no row of the ministry report counts it
    -- (the report's rows start at the programme's youngest age, and a 計 holding
    -- it would give it away as 計 minus the bands)
    select
        s.screening_id,
        s.addressee_id,
        s.family,
        s.fiscal_year,
        s.exam_date,
        s.needs_detailed_exam,
        s.exam_type,
        (s.min_age is null or {{ fiscal_year_age('a.birth_date', 's.fiscal_year') }} >= s.min_age)
        and (s.programme_sex is null or a.sex = s.programme_sex) as is_in_programme
    from screening as s
    inner join as_of_exam as a on s.screening_id = a.screening_id
),

first_in_year as (
    -- 受診者数 counts people: of a person's screenings by one method in one
    -- fiscal year (a 重複受診), the first in the programme counts
    select
        screening_id,
        addressee_id,
        family,
        fiscal_year,
        exam_date,
        needs_detailed_exam,
        is_in_programme,
        is_in_programme and row_number() over (
            partition by addressee_id, exam_type, fiscal_year
            order by is_in_programme desc, exam_date asc, screening_id asc) = 1
            as is_counted
    from in_programme
),

counted_in_year as (
    -- of a family's counted screenings in one fiscal year (an X-ray and an
    -- endoscopy the same year, which staff let through), the family's row
    -- counts the first that needs a detailed exam, else the first: it keeps
    -- every 要精検 its methods' rows have, and is one of theirs
    select
        screening_id,
        is_in_programme,
        is_counted,
        is_counted and row_number() over (
            partition by addressee_id, family, fiscal_year
            order by is_counted desc, needs_detailed_exam desc, exam_date asc, screening_id asc) = 1
            as is_counted_for_family
    from first_in_year
),

previous as (
    -- the previous screening of the family (either method), the city's own or one a previous
    -- municipality reported (情報照会): both make a screening a repeat
    select screening_id, previous_fiscal_year, earlier_fiscal_year
    from (
        select
            screening_id,
            lag(fiscal_year) over (partition by addressee_id, family order by exam_date, screening_id nulls first)
                as previous_fiscal_year,
            -- the latest fiscal year BEFORE this one with a screening of the family
            -- (初回 looks at previous fiscal years: an X-ray earlier the same year
            -- does not make the endoscopy a repeat)
            max(fiscal_year) over (partition by addressee_id, family order by fiscal_year
                                   range between unbounded preceding and 1 preceding) as earlier_fiscal_year
        from (
            select screening_id, addressee_id, family, exam_date, fiscal_year
            from screening
            union all
            select
                null as screening_id,
                e.addressee_id,
                t.family,
                e.exam_date,
                {{ fiscal_year('e.exam_date') }} as fiscal_year
            from {{ ref('stg_core__external_screening') }} as e
            inner join {{ ref('exam_types') }} as t on e.exam_type = t.exam_type
            {%- if is_incremental() %}
            where e.addressee_id in (select c.addressee_id from changed_people as c)
            {%- endif %}
        ) as both_sources
    ) as ordered
    where screening_id is not null
),

enriched as (
    select
        s.screening_id,
        s.addressee_id,
        s.person_key,
        s.exam_type,
        s.programme,
        s.family,
        s.exam_date,
        s.fiscal_year,
        a.sex,
        a.ward_code,
        {{ fiscal_year_age('a.birth_date', 's.fiscal_year') }} as age_in_fiscal_year,
        b.age_band,
        s.result_code,
        s.needs_detailed_exam,
        c.is_in_programme,
        c.is_counted,
        c.is_counted_for_family,
        p.previous_fiscal_year,
        -- 初回: none of the family (either method) in the previous N fiscal years
        (p.earlier_fiscal_year is null
         or p.earlier_fiscal_year < s.fiscal_year - {{ var('first_time_lookback_years') }}) as is_first_time,
        -- interval kept: the previous one of the programme at least `interval_years` fiscal years earlier
        (s.interval_years is null or p.previous_fiscal_year is null
         or s.fiscal_year - p.previous_fiscal_year >= s.interval_years) as is_interval_kept,
        case when s.interval_years is not null
            then make_date(s.fiscal_year + s.interval_years, {{ var('fiscal_year_start_month', 4) }}, 1)
        end as next_due_from,
        d.followup_date as detailed_exam_date,
        d.outcome as detailed_exam_outcome,
        case
            when not s.needs_detailed_exam then null
            when o.attended then 'attended'
            -- outcome 5: reported not attended (未受診)
            when d.outcome is not null then 'not_attended'
            -- no report at all: 未把握, never folded into 未受診
            else 'unknown'
        end as detailed_exam_status,
        coalesce(o.is_cancer, false) as cancer_found
    from screening as s
    inner join as_of_exam as a on s.screening_id = a.screening_id
    inner join previous as p on s.screening_id = p.screening_id
    inner join counted_in_year as c on s.screening_id = c.screening_id
    left join {{ ref('age_bands') }} as b
        on {{ fiscal_year_age('a.birth_date', 's.fiscal_year') }} between b.min_age and b.max_age
    left join {{ ref('stg_core__detailed_exam') }} as d on s.screening_id = d.screening_id
    left join {{ ref('detailed_exam_outcomes') }} as o on d.outcome = o.outcome
)

select
    e.*,
    {% if is_incremental() -%}
    -- an unchanged row keeps the time it was last changed
    case when old.row_hash = e.row_hash then old.built_at else now() end as built_at,
    {%- else -%}
    now() as built_at,
    {%- endif %}
    coalesce(current_setting('kenshin.change_watermark', true)::timestamptz, now()) as change_watermark,
    {{ marts_policy() }} as policy
from (select enriched.*, md5(enriched::text) as row_hash from enriched) as e
{%- if is_incremental() %}
left join {{ this }} as old on e.screening_id = old.screening_id
where exists (
    select 1 from changed as c
    where c.addressee_id = e.addressee_id and (c.family is null or c.family = e.family)
      and e.exam_date >= c.rebuild_from
)
{%- endif %}
