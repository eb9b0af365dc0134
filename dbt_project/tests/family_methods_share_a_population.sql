-- A family's target population counts each admitted cell once: its methods must
-- serve one population (all residents, NHI members or welfare recipients), or a
-- person in two would be counted twice.
select t.family
from {{ ref('exam_types') }} as t
inner join {{ ref('exam_families') }} as f on t.family = f.family
group by t.family
having count(distinct t.population) > 1 or count(*) < 2
