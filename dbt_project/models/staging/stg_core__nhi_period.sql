select
    addressee_id,
    qualified_from,
    qualified_to
from {{ source('core', 'nhi_period') }}
