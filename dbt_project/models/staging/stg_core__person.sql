select
    addressee_id,
    person_key,
    updated_at
from {{ source('core', 'person') }}
