"""Linkage queries for new arrivals: the requests and their states.

Revision ID: 0010
Revises: 0009
"""

from kenshin.migration_sql import run_sql_file

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    run_sql_file(__file__)
