"""Audit trail: every insert, update and delete on core, by whom (role, login, application user).

Revision ID: 0015
Revises: 0014
"""

from kenshin.migration_sql import run_sql_file

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    run_sql_file(__file__)
