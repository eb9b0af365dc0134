"""Foundation: roles, schemas, person ledger, eligibility, load manifest, quarantine.

Revision ID: 0001
Revises:
"""

from kenshin.migration_sql import run_sql_file

revision = "0001"
down_revision = None


def upgrade() -> None:
    run_sql_file(__file__)
