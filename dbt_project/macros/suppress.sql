{#
  Disclosure control for published counts (DOMAIN.md "Statistics must not identify anyone").

  `suppressed_counts(relation, dims, measures, margin_dims, identities, scopes)`
  returns the counts of `relation` in long form (dims..., measure, value, suppressed):

  1. primary suppression: every count from 1 to var('suppress_below') - 1;
  2. complementary suppression, so that no suppressed count can be worked back
     from a published total: no group of cells and their total (the relations of
     macro margin_relations) may hold exactly one suppressed count. Where one
     does, its smallest published part (non-zero first) is suppressed as well, or
     the total when no part is left; passes repeat (var('suppression_passes')) and
     a data test (no_single_suppressed_cell_in_a_margin) fails the build if any
     group is still left with one.

  Rates are then computed by the caller from published counts only.
#}
{% macro suppressed_counts(relation, dims, measures, margin_dims, identities={}, scopes=[]) %}
{%- set threshold = var('suppress_below') -%}
{%- set relations = margin_relations(dims, margin_dims, identities, scopes) -%}
{%- set attrs = margin_attribute_names(scopes) -%}
{%- set cols = (dims + attrs) | join(', ') -%}
{%- set steps = [] -%}
{%- for pass in range(var('suppression_passes', 4)) -%}
  {%- for r in relations -%}{%- do steps.append(r) -%}{%- endfor -%}
{%- endfor -%}
with a0 as (
    select src.*{{ margin_attributes(scopes, 'src') }}
    from {{ relation }} as src
),

s0 as (
    {%- for m in measures %}
    select {{ cols }}, '{{ m }}'::text as measure, {{ m }}::bigint as value,
           ({{ m }} between 1 and {{ threshold - 1 }}) as suppressed
    from a0
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
{%- for r in steps %}
{%- set k = loop.index0 %}
{%- set member = "coalesce(" ~ r.member ~ ", false)" %}
{%- set is_cell = "(" ~ member ~ " and not coalesce(" ~ r.total ~ ", false))" %}
{%- set group = r.by | join(', ') ~ ", " ~ member %},
w{{ k }} as (
    select *,
           count(*) filter (where suppressed and {{ member }}) over (partition by {{ group }}) as group_suppressed,
           count(*) filter (where not suppressed and {{ is_cell }}) over (partition by {{ group }})
               as group_published_cells,
           row_number() over (partition by {{ group }}, (not suppressed and {{ is_cell }})
                              order by (value = 0), value, {{ r.order }}) as rank_published
    from s{{ k }}
),
s{{ k + 1 }} as (
    select {{ cols }}, measure, value,
           suppressed or (
               {{ member }} and group_suppressed = 1 and not suppressed
               and (({{ is_cell }} and rank_published = 1)
                    -- no published cell left to hide: the total goes instead
                    or (not {{ is_cell }} and group_published_cells = 0))
           ) as suppressed
    from w{{ k }}
)
{%- endfor %}
select * from s{{ steps | length }}
{% endmacro %}

{#
  The linear relations a published table holds, each a group of cells and their
  total that an attacker could subtract (a list of {by, member, total, order}:
  rows of one group share the `by` columns and satisfy `member`; `total` marks
  the group's total):
  - each margin dim: the cells (dim <> 'all') and the 'all' row;
  - each identity {total: [parts]}: within one row, the measure that is the sum
    of the others;
  - scope 'national': the national figures' age band (DOMAIN.md: '40-69',
    gastric '50-69', cervical '20-69'; int_reported_exam_types) is a partial
    total of the bands it spans, and 'all' is that row plus the bands outside it
    (the plain age margin leaves the national row out);
  - scope 'family': a family's row (exam_type 'gastric', 'cervical') against its
    methods' rows. It is not an exact sum (a person screened by both methods is
    once in the family), but nearly: treated as one, which protects more.
  Rows carry age_scope and family_of (macro margin_attributes) for these.
#}
{% macro margin_relations(dims, margin_dims, identities={}, scopes=[]) %}
{%- set relations = [] -%}
{%- for d in margin_dims -%}
  {%- set member = "age_scope <> 'national'" if (d == 'age_band' and 'national' in scopes) else "true" -%}
  {%- do relations.append({'by': (dims | reject('equalto', d) | list) + ['measure'], 'member': member,
                           'total': d ~ " = 'all'", 'order': 'measure, ' ~ d}) -%}
{%- endfor -%}
{%- for total, parts in identities.items() -%}
  {%- do relations.append({'by': dims, 'member': "measure in ('" ~ ([total] + parts) | join("', '") ~ "')",
                           'total': "measure = '" ~ total ~ "'", 'order': 'measure'}) -%}
{%- endfor -%}
{%- if 'national' in scopes -%}
  {%- set others = (dims | reject('equalto', 'age_band') | list) + ['measure'] -%}
  {%- do relations.append({'by': others, 'member': "age_scope in ('band_in', 'national')",
                           'total': "age_scope = 'national'", 'order': 'measure, age_band'}) -%}
  {%- do relations.append({'by': others, 'member': "age_scope in ('band_out', 'national', 'all')",
                           'total': "age_scope = 'all'", 'order': 'measure, age_band'}) -%}
{%- endif -%}
{%- if 'family' in scopes -%}
  {%- do relations.append({'by': (dims | reject('equalto', 'exam_type') | list) + ['measure', 'family_of'],
                           'member': "family_of is not null", 'total': "exam_type = family_of",
                           'order': 'measure, exam_type'}) -%}
{%- endif -%}
{{ return(relations) }}
{% endmacro %}

{% macro margin_attribute_names(scopes=[]) -%}
{%- set names = [] -%}
{%- if 'national' in scopes %}{% do names.append('age_scope') %}{% endif -%}
{%- if 'family' in scopes %}{% do names.append('family_of') %}{% endif -%}
{{ return(names) }}
{%- endmacro %}

{# The columns margin_relations reads, from a row's exam_type and age_band:
   age_scope ('all', 'national' = the national figures' row, 'band_in' = a band
   within it, 'band_out' = any other band) and family_of (the family of several
   methods the row is a method of or the row of; null otherwise), for the
   select list after `row.*`. #}
{% macro margin_attributes(scopes=[], row='src') -%}
    {%- if 'national' in scopes %},
    case
        when {{ row }}.age_band = 'all' then 'all'
        when {{ row }}.age_band = (select r.national_age_band from {{ ref('int_reported_exam_types') }} as r
                          where r.exam_type = {{ row }}.exam_type::text) then 'national'
        when exists (select 1 from {{ ref('int_reported_exam_types') }} as r
                     inner join {{ ref('age_bands') }} as b on b.age_band = {{ row }}.age_band
                     where r.exam_type = {{ row }}.exam_type::text
                       and b.min_age >= r.report_min_age and b.max_age <= r.report_max_age) then 'band_in'
        else 'band_out'
    end as age_scope
    {%- endif %}
    {%- if 'family' in scopes %},
    (select r.family from {{ ref('int_reported_exam_types') }} as r
      where r.exam_type = {{ row }}.exam_type::text
        and exists (select 1 from {{ ref('int_reported_exam_types') }} as f
                    where f.exam_type = r.family and f.is_family)) as family_of
    {%- endif %}
{%- endmacro %}

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
