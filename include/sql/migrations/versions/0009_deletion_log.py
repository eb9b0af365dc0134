"""Deletion log: what the incremental marts must forget.

Revision ID: 0009
Revises: 0008
"""

from kenshin.migration_sql import run_sql_file

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    run_sql_file(__file__)
