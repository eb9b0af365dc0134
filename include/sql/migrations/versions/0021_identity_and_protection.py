"""Four eyes by database login; protection follows the person to every row showing her address; support measures lifted only by request and approval.

Revision ID: 0021
Revises: 0020
"""

from kenshin.migration_sql import run_sql_file

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    run_sql_file(__file__)
