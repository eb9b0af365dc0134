"""Linkage responses: landing table, accepted view, deletion log.

Revision ID: 0011
Revises: 0010
"""

from kenshin.migration_sql import run_sql_file

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    run_sql_file(__file__)
