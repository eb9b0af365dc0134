"""Intake eligibility check: review items say which check sent them (identity, orphan, 対象外受診, 重複受診).

Revision ID: 0024
Revises: 0023
"""

from kenshin.migration_sql import run_sql_file

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    run_sql_file(__file__)
