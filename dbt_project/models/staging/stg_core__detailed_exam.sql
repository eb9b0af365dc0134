select
    screening_id,
    followup_date,
    outcome
from {{ source('core', 'detailed_exam') }}
