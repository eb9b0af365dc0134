-- The national figures' ages (DOMAIN.md: 40-69, gastric 50-69, cervical 20-69)
-- are published as a margin of whole age bands: each bound must be a band's bound,
-- or the '40-69' row would not be the sum of the band rows it stands for.
select r.exam_type, r.report_min_age, r.report_max_age
from {{ ref('int_reported_exam_types') }} as r
where (r.report_min_age is null) <> (r.report_max_age is null)
   or (r.report_min_age is not null
       and (not exists (select 1 from {{ ref('age_bands') }} as b where b.min_age = r.report_min_age)
            or not exists (select 1 from {{ ref('age_bands') }} as b where b.max_age = r.report_max_age)))
