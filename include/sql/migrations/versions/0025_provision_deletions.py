"""Provision deletions: a purged or deleted screening's key, for the fukuhon X row (LAYOUTS.md §7).

Revision ID: 0025
Revises: 0024
"""

from kenshin.migration_sql import run_sql_file

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    run_sql_file(__file__)
