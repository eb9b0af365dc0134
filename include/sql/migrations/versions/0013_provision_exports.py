"""Provision copies (副本) exported for other municipalities.

Revision ID: 0013
Revises: 0012
"""

from kenshin.migration_sql import run_sql_file

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    run_sql_file(__file__)
