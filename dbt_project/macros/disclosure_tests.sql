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

{# No group of cells and its margin (over each margin dim, and within a row
   for identities {total: [parts]}) holds exactly one suppressed count: it
   could be worked back from the others. #}
{% test no_single_suppressed_cell_in_a_margin(model, dims, measures, margin_dims, identities={}) %}
with long as (
    select {{ dims | join(', ') }}, v.measure, v.suppressed
    from {{ model }}
    cross join lateral (values
        {%- for m in measures %}
        ('{{ m }}', {{ m }}_suppressed){% if not loop.last %},{% endif %}
        {%- endfor %}) as v (measure, suppressed)
)
{%- for dim in margin_dims %}
{%- set others = dims | reject('equalto', dim) | list %}
select 'over {{ dim }}' as margin, {{ others | join(" || '/' || ") }} as cell_group, measure
from long group by {{ others | join(', ') }}, measure
having count(*) filter (where suppressed) = 1
{% if not loop.last or identities %}union all{% endif %}
{%- endfor %}
{%- for total, parts in identities.items() %}
select '{{ total }} = {{ parts | join(" + ") }}', {{ dims | join(" || '/' || ") }}, ''
from long
where measure in ('{{ ([total] + parts) | join("', '") }}')
group by {{ dims | join(', ') }}
having count(*) filter (where suppressed) = 1
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{% endtest %}
