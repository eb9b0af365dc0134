select
    screening_id,
    addressee_id,
    followup_date,
    outcome,
    updated_at
from {{ source('core', 'detailed_exam') }}
