"""Pseudonyms the auditor cannot reverse: no identifying or value column readable; identity only through a logged function.

Revision ID: 0023
Revises: 0022
"""

from kenshin.migration_sql import run_sql_file

revision = "0023"
down_revision = "0022"


def upgrade() -> None:
    run_sql_file(__file__)
