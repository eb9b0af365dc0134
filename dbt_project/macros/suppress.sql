{#
  Disclosure control for published counts (DOMAIN.md "Statistics must not identify anyone").

  `suppressed_counts(relation, dims, measures, margin_dims, identities)` returns
  the counts of `relation` in long form (dims..., measure, value, suppressed):

  1. primary suppression: every count from 1 to var('suppress_below') - 1;
  2. complementary suppression, so that no suppressed count can be worked back:
     - margins: for each dim in `margin_dims`, the cells of a group (the rows
       differing only in that dim, dim <> 'all') and the group's total (dim =
       'all') must not hold exactly one suppressed count;
     - identities: within one row, a measure that is the sum of others
       (`identities`: {total: [parts]}) counts as a margin too;
     where a group holds exactly one, its smallest published part (non-zero
     first) is suppressed as well; passes repeat (var('suppression_passes'))
     and a singular test fails the build if any group is still left with one.

  Rates are then computed by the caller from published counts only.
#}
{% macro suppressed_counts(relation, dims, measures, margin_dims, identities={}) %}
{%- set threshold = var('suppress_below') -%}
{%- set steps = [] -%}
{%- for pass in range(var('suppression_passes', 4)) -%}
  {%- for dim in margin_dims -%}{%- do steps.append(('dim', dim)) -%}{%- endfor -%}
  {%- for total in identities -%}{%- do steps.append(('identity', total)) -%}{%- endfor -%}
{%- endfor -%}
with s0 as (
    {%- for m in measures %}
    select {{ dims | join(', ') }}, '{{ m }}'::text as measure, {{ m }}::bigint as value,
           ({{ m }} between 1 and {{ threshold - 1 }}) as suppressed
    from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
{%- for kind, key in steps %}
{%- set k = loop.index0 %}
{%- if kind == 'dim' %}
{%- set group = (dims | reject('equalto', key) | list) + ['measure'] %}
{%- set is_cell = key ~ " <> 'all'" %}
{%- else %}
{%- set group = dims %}
{%- set members = "measure in ('" ~ ([key] + identities[key]) | join("', '") ~ "')" %}
{%- set is_cell = "measure in ('" ~ identities[key] | join("', '") ~ "')" %}
{%- endif %},
w{{ k }} as (
    select *,
           count(*) filter (where suppressed {%- if kind != 'dim' %} and {{ members }}{% endif %})
               over (partition by {{ group | join(', ') }}) as group_suppressed,
           count(*) filter (where not suppressed and {{ is_cell }})
               over (partition by {{ group | join(', ') }}) as group_published_cells,
           row_number() over (partition by {{ group | join(', ') }}, (not suppressed and {{ is_cell }})
                              order by (value = 0), value, measure {%- if kind == 'dim' %}, {{ key }}{% endif %})
               as rank_published
    from s{{ k }}
),
s{{ k + 1 }} as (
    select {{ dims | join(', ') }}, measure, value,
           suppressed or (
               group_suppressed = 1 and not suppressed {%- if kind != 'dim' %} and {{ members }}{% endif %}
               and ((({{ is_cell }}) and rank_published = 1)
                    -- no published cell left to hide: the total goes instead
                    or (not ({{ is_cell }}) and group_published_cells = 0))
           ) as suppressed
    from w{{ k }}
)
{%- endfor %}
select * from s{{ steps | length }}
{% endmacro %}

{# The published table back in wide form: each measure, null where suppressed,
   beside its `<measure>_suppressed` flag (the output of suppressed_counts). #}
{% macro published_wide(relation, dims, measures) %}
select
    {{ dims | join(', ') }},
    {%- for m in measures %}
    max(value) filter (where measure = '{{ m }}' and not suppressed) as {{ m }},
    coalesce(bool_or(suppressed) filter (where measure = '{{ m }}'), false) as {{ m }}_suppressed
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
from {{ relation }}
group by {{ dims | join(', ') }}
{% endmacro %}
