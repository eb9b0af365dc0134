"""Registry events: one per file line (two same-day corrections are two events).

Revision ID: 0002
Revises: 0001
"""

from kenshin.migration_sql import run_sql_file

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    run_sql_file(__file__)
