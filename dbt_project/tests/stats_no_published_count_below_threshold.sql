-- Disclosure gate: no count from 1 to suppress_below - 1 is published in stats.
{{ config(severity='error') }}
{%- set measures = ['screened', 'needing_detailed_exam', 'detailed_exam_attended', 'detailed_exam_not_attended',
                    'detailed_exam_unknown', 'cancers_found'] %}
select fiscal_year, exam_type, sex, age_band, measure
from {{ ref('process_indicators') }}
cross join lateral (values
    {%- for m in measures %}
    ('{{ m }}', {{ m }}){% if not loop.last %},{% endif %}
    {%- endfor %}) as v (measure, value)
where v.value between 1 and {{ var('suppress_below') - 1 }}
