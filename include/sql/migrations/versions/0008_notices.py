"""Notice history: one row per letter and what it was for.

Revision ID: 0008
Revises: 0007
"""

from kenshin.migration_sql import run_sql_file

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    run_sql_file(__file__)
