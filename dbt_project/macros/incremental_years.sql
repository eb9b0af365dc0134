{#
  Incremental aggregates by fiscal year (int_screening_counts, int_people_screened,
  int_target_population): which fiscal years of `facts` (fct_screening) a run
  recomputes. Margins and suppression never cross a fiscal year, so a year is
  the unit of rebuild.

  fiscal_years_to_rebuild(facts) renders two CTEs:
    fact_years     (fiscal_year, facts_in_year): the years of `facts` and their row counts;
    changed_years  (fiscal_year): every year on a full build; on an incremental one,
                   the years with rows of `facts` built since this model was, and
                   the years whose row count differs from the one this model last
                   saw (screenings deleted by a correction or a purge leave no newer row).
  The model stores facts_in_year, built_at and policy for the next run's comparison;
  when the policy (marts_policy) changed, every year is rebuilt.
#}
{% macro fiscal_years_to_rebuild(facts, stats=false) %}
fact_years as (
    select fiscal_year, count(*) as facts_in_year
    from {{ facts }}
    group by fiscal_year
),

changed_years as (
    {%- if is_incremental() %}
    select distinct fiscal_year
    from {{ facts }}
    where built_at > (select max(built_at) from {{ this }})
    union
    select coalesce(f.fiscal_year, t.fiscal_year)
    from fact_years as f
    full join (select fiscal_year, max(facts_in_year) as facts_in_year from {{ this }} group by fiscal_year) as t
        on f.fiscal_year = t.fiscal_year
    where f.facts_in_year is distinct from t.facts_in_year
    union
    select f.fiscal_year
    from fact_years as f
    where {{ policy_changed(stats) }}
    {%- else %}
    select fiscal_year from fact_years
    {%- endif %}
)
{% endmacro %}

{# Post-hook of those models: a fiscal year (or, `by` more columns, a cell such as
   a fiscal year's exam type) with no facts left (all purged) has nothing to
   insert, so delete+insert alone would keep its old rows. `where` narrows the
   facts to those the model counts (a year left with only an uncounted
   screening, say an inactive programme's, has nothing to insert either). #}
{% macro drop_years_without_facts(facts, by=['fiscal_year'], where=none) %}
    {%- if is_incremental() %}
    delete from {{ this }} as t
    where not exists (select 1 from {{ facts }} as f
                      where {% for c in by %}f.{{ c }} = t.{{ c }} and {% endfor %}{{ where or 'true' }})
    {%- endif %}
{% endmacro %}

{# The vars an incremental model depends on, as one string stored in each row
   (column policy): a build with other values rebuilds everything, as a full
   refresh would. The facts depend on the fiscal year and age rules; the
   statistics also on suppression and the threshold table. #}
{% macro marts_policy(stats=false) -%}
    {%- set parts = ["fy_start=" ~ var("fiscal_year_start_month"), "age_ref=" ~ var("age_reference"),
                     "first_time=" ~ var("first_time_lookback_years")] -%}
    {%- if stats -%}
    {%- do parts.extend(["suppress=" ~ var("suppress_below"), "passes=" ~ var("suppression_passes", 4),
                         "thresholds=" ~ var("threshold_table")]) -%}
    {%- endif -%}
    '{{ parts | join(";") }}'
{%- endmacro %}

{% macro policy_changed(stats=false) -%}
    ((select prior.policy from {{ this }} as prior limit 1) is distinct from {{ marts_policy(stats) }})
{%- endmacro %}

{# The change watermark of the last build of `relation` as a literal, read when
   the model is compiled: with a constant the planner estimates how few rows
   changed and walks the indexes; with a subquery it assumed a third of the
   table and joined everything (seconds instead of milliseconds at city scale).
   -infinity (everything changed) when there is none or the policy changed.
   Unit tests override this macro. #}
{% macro last_change_watermark(relation) -%}
    {%- if execute -%}
        {%- set value = run_query("select case when (select policy from " ~ relation ~ " limit 1) = "
                                  ~ marts_policy() ~ " then max(change_watermark) end from "
                                  ~ relation).columns[0].values()[0] -%}
        {%- if value is none -%}'-infinity'::timestamptz{%- else -%}'{{ value }}'::timestamptz{%- endif -%}
    {%- else -%}
        now()
    {%- endif -%}
{%- endmacro %}

{# Post-hook of int_screening_enriched: this build's change watermark, kept as
   the table's comment, so that it is known even when the build wrote no row
   (reconcile_fct_screening_with_core reads it with build_change_watermark). #}
{% macro record_change_watermark() -%}
    do $$ begin
        execute format('comment on table {{ this.include(database=false) }} is %L', 'change_watermark='
                       || coalesce(current_setting('kenshin.change_watermark', true), now()::text));
    end $$
{%- endmacro %}

{% macro build_change_watermark(relation) -%}
    {#- no comment (a table not built by this project): fail closed, every row must be there -#}
    (select coalesce(nullif(split_part(obj_description('{{ relation.include(database=false) }}'::regclass, 'pg_class'),
                                       'change_watermark=', 2), '')::timestamptz, 'infinity'))
{%- endmacro %}
