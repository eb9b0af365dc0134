"""Four-eyes corrections: a staff request takes effect only when another staff member approves it.

Revision ID: 0017
Revises: 0016
"""

from kenshin.migration_sql import run_sql_file

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    run_sql_file(__file__)
