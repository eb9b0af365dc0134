select
    external_screening_id,
    addressee_id,
    source_municipality_code,
    exam_type,
    exam_date,
    result_code,
    followup_outcome,
    updated_at
from {{ source('core', 'external_screening') }}
