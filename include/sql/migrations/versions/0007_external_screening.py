"""Screenings received from previous municipalities (external records).

Revision ID: 0007
Revises: 0006
"""

from kenshin.migration_sql import run_sql_file

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    run_sql_file(__file__)
