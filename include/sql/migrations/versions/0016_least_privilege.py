"""Least privilege: staff read persons only through audited security_invoker views; RLS for protected persons.

Revision ID: 0016
Revises: 0015
"""

from kenshin.migration_sql import run_sql_file

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    run_sql_file(__file__)
