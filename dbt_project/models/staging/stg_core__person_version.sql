select
    addressee_id,
    valid_from,
    valid_to,
    -- the first version also stands for the time before the ledger began
    row_number() over (partition by addressee_id order by valid_from, version_id) = 1 as is_first_version,
    sex,
    birth_date,
    ward_code,
    status
from {{ source('core', 'person_version') }}
