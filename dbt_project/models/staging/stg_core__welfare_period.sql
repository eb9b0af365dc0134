select
    addressee_id,
    start_date,
    end_date
from {{ source('core', 'welfare_period') }}
