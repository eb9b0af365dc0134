"""The exact reporting path: role kenshin_reporter and the logged read of the ministry report's exact cells.

Revision ID: 0028
Revises: 0027
"""

from kenshin.migration_sql import run_sql_file

revision = "0028"
down_revision = "0027"


def upgrade() -> None:
    run_sql_file(__file__)
