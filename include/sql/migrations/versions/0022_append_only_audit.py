"""An append-only audit trail: no role updates or deletes it, the purge through logged functions, a hash chain `kenshin audit verify` recomputes.

Revision ID: 0022
Revises: 0021
"""

from kenshin.migration_sql import run_sql_file

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    run_sql_file(__file__)
