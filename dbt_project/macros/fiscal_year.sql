{# 年度: the fiscal year a date falls in, named by the calendar year it starts
   (var fiscal_year_start_month, April). #}
{% macro fiscal_year(date_expr) -%}
    (extract(year from {{ date_expr }})::int
     - case when extract(month from {{ date_expr }}) < {{ var('fiscal_year_start_month', 4) }} then 1 else 0 end)
{%- endmacro %}

{# 年度年齢: the age reached on the reference day of the fiscal year (var
   age_reference, the same policy as include/config/programmes.yaml). Japanese
   law makes a person one year older at the end of the day before the birthday,
   so the age reached on a day is the ordinary age on the day after it. #}
{% macro fiscal_year_age(birth_date_expr, fiscal_year_expr) -%}
    {%- set ref = var('age_reference', '03-31').split('-') -%}
    {%- set month, day = ref[0] | int, ref[1] | int -%}
    {%- set offset = 1 if month < var('fiscal_year_start_month', 4) else 0 -%}
    extract(year from age((make_date({{ fiscal_year_expr }} + {{ offset }}, {{ month }}, {{ day }}) + 1)::timestamp,
                          {{ birth_date_expr }}::timestamp))::int
{%- endmacro %}
