"""Retention purges: the purger role and the purge log.

Revision ID: 0014
Revises: 0013
"""

from kenshin.migration_sql import run_sql_file

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    run_sql_file(__file__)
