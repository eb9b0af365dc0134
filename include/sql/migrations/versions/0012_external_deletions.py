"""Deleted external screenings reach the deletion log too.

Revision ID: 0012
Revises: 0011
"""

from kenshin.migration_sql import run_sql_file

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    run_sql_file(__file__)
