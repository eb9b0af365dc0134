select
    addressee_id,
    person_key
from {{ source('core', 'person') }}
