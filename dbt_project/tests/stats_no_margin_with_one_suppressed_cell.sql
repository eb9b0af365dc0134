-- Disclosure gate: no group of cells and its margin (over sex, over age band, and
-- needing = attended + not attended + unknown within a row) holds exactly one
-- suppressed count, which could be worked back from the others.
{{ config(severity='error') }}
{%- set measures = ['screened', 'needing_detailed_exam', 'detailed_exam_attended', 'detailed_exam_not_attended',
                    'detailed_exam_unknown', 'cancers_found'] %}
with long as (
    select fiscal_year, exam_type, sex, age_band, v.measure, v.suppressed
    from {{ ref('process_indicators') }}
    cross join lateral (values
        {%- for m in measures %}
        ('{{ m }}', {{ m }}_suppressed){% if not loop.last %},{% endif %}
        {%- endfor %}) as v (measure, suppressed)
)
select 'over age band' as margin, fiscal_year, exam_type, sex, measure
from long group by fiscal_year, exam_type, sex, measure
having count(*) filter (where suppressed) = 1
union all
select 'over sex', fiscal_year, exam_type, age_band, measure
from long group by fiscal_year, exam_type, age_band, measure
having count(*) filter (where suppressed) = 1
union all
select 'needing = attended + not attended + unknown', fiscal_year, exam_type, sex || '/' || age_band, ''
from long
where measure in ('needing_detailed_exam', 'detailed_exam_attended', 'detailed_exam_not_attended',
                  'detailed_exam_unknown')
group by fiscal_year, exam_type, sex, age_band
having count(*) filter (where suppressed) = 1
