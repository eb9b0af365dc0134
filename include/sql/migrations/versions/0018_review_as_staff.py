"""The review queue read as staff: the clinic's record through a logged function.

Revision ID: 0018
Revises: 0017
"""

from kenshin.migration_sql import run_sql_file

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    run_sql_file(__file__)
