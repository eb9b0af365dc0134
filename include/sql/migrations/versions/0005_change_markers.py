"""Indexes on the change markers the incremental marts read.

Revision ID: 0005
Revises: 0004
"""

from kenshin.migration_sql import run_sql_file

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    run_sql_file(__file__)
