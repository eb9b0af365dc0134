{# Disclosure gates for every stats table (DOMAIN.md "Statistics must not identify anyone"). #}

{# No count from 1 to suppress_below - 1 is published. #}
{% test no_small_count_published(model, measures) %}
select *
from {{ model }}
where false
{%- for m in measures %}
   or {{ m }} between 1 and {{ var('suppress_below') - 1 }}
{%- endfor %}
{% endtest %}

{# No group of cells and its total (macro margin_relations: each margin dim,
   each identity {total: [parts]} within a row, the national and family scopes)
   holds exactly one suppressed count: it could be worked back from the others. #}
{% test no_single_suppressed_cell_in_a_margin(model, dims, measures, margin_dims, identities={}, scopes=[]) %}
{%- set attrs = margin_attribute_names(scopes) %}
with long as (
    select {{ (dims + attrs) | join(', ') }}, v.measure, v.suppressed
    from (select src.*{{ margin_attributes(scopes, 'src') }} from {{ model }} as src) as t
    cross join lateral (values
        {%- for m in measures %}
        ('{{ m }}', {{ m }}_suppressed){% if not loop.last %},{% endif %}
        {%- endfor %}) as v (measure, suppressed)
)
{%- for r in margin_relations(dims, margin_dims, identities, scopes) %}
select {{ loop.index }} as relation, {{ r.by | join("::text || '/' || ") }}::text as cell_group
from long
where coalesce({{ r.member }}, false)
group by {{ r.by | join(', ') }}
having count(*) filter (where suppressed) = 1
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endtest %}
