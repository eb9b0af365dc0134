{# The 'all' margins of a statistics table, in one place: `margin_labels(dims)`
   names each margin dim's total 'all' (a coalesce per dim, for the select
   list), `margin_grouping_sets(fixed, dims)` groups by the fixed dims and every
   subset of the margin dims (every cell, every total). #}
{% macro margin_labels(dims) -%}
    {%- for d in dims %}
    coalesce({{ d }}::text, 'all') as {{ d }}{% if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro margin_grouping_sets(fixed, dims) -%}
grouping sets (
    {%- for mask in range(2 ** (dims | length)) | reverse %}
    {%- set cols = fixed[:] %}
    {%- for d in dims %}{% if (mask // (2 ** loop.index0)) % 2 == 1 %}{% do cols.append(d) %}{% endif %}{% endfor %}
    ({{ cols | join(', ') }}){% if not loop.last %},{% endif %}
    {%- endfor %})
{%- endmacro %}

{# The national figures' rows (DOMAIN.md: ages 40-69, gastric 50-69, cervical
   20-69, int_reported_exam_types.national_age_band) of `relation`: its cells of
   the bands within those ages summed, age_band the range's label, with the 'all'
   margins of `dims` as margin_grouping_sets gives them; columns in the order
   fixed, dims, age_band, measures. Suppressed afterwards like every other row. #}
{% macro national_margin_rows(relation, fixed, dims, measures) %}
select
    {{ fixed | join(', ') }},
    {{- margin_labels(dims) }},
    national_age_band as age_band,
    {%- for m in measures %}
    sum({{ m }}) as {{ m }}{% if not loop.last %},{% endif %}
    {%- endfor %}
from (
    select c.*, r.national_age_band
    from {{ relation }} as c
    inner join {{ ref('int_reported_exam_types') }} as r on c.exam_type::text = r.exam_type
    inner join {{ ref('age_bands') }} as b on c.age_band = b.age_band
    where b.min_age >= r.report_min_age and b.max_age <= r.report_max_age
) as national
group by {{ margin_grouping_sets(fixed + ['national_age_band'], dims) }}
{% endmacro %}
