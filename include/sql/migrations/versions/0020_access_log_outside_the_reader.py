"""The access log written outside the reader's transaction (dblink), purposes from configuration, no row values in the server log.

Revision ID: 0020
Revises: 0019
"""

from kenshin.migration_sql import run_sql_file

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    run_sql_file(__file__)
