"""Pseudonymous person key (HMAC of the addressee id) for marts and statistics.

Revision ID: 0004
Revises: 0003
"""

from kenshin.migration_sql import run_sql_file

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    run_sql_file(__file__)
