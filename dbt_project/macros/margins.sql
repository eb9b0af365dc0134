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
