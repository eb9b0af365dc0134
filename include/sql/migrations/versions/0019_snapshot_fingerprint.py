"""Registry snapshot fingerprints: an unchanged line of a full snapshot is not parsed or copied again.

Revision ID: 0019
Revises: 0018
"""

from kenshin.migration_sql import run_sql_file

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    run_sql_file(__file__)
