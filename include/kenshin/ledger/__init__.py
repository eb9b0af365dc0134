"""The ledger (台帳): what promotion writes into `core`.

`persons` keeps the person ledger from the registry files, `screenings` the
clinics' results. Parsers land and check rows; these modules apply the
accepted ones inside the load's promotion transaction.
"""


class PromotionRefused(Exception):
    """Promotion found the file unfit as a whole (its transaction rolls back and
    the file is rejected); the message holds counts, never values."""
