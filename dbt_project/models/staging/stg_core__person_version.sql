select
    addressee_id,
    valid_from,
    valid_to,
    sex,
    birth_date,
    ward_code,
    status
from {{ source('core', 'person_version') }}
