-- 要精検 is decided for every exam type and result code, exactly once: a missing
-- pair would drop screenings from the marts' inner join, a repeated one count them twice.
select t.exam_type, r.result_code, count(c.exam_type) as rows_in_seed
from {{ ref('exam_types') }} as t
cross join {{ ref('result_codes') }} as r
left join {{ ref('detailed_exam_criteria') }} as c on t.exam_type = c.exam_type and r.result_code = c.result_code
group by t.exam_type, r.result_code
having count(c.exam_type) <> 1
