"""Every inbox entry in the manifest: statuses unrecognised, unreadable and not a file, recorded once per entry and content.

Revision ID: 0029
Revises: 0028
"""

from kenshin.migration_sql import run_sql_file

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    run_sql_file(__file__)
