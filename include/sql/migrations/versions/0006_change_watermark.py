"""The change watermark incremental marts record at each build.

Revision ID: 0006
Revises: 0005
"""

from kenshin.migration_sql import run_sql_file

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    run_sql_file(__file__)
