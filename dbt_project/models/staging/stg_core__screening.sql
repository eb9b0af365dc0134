select
    screening_id,
    addressee_id,
    exam_type,
    exam_date,
    result_code,
    clinic_code,
    updated_at
from {{ source('core', 'screening') }}
