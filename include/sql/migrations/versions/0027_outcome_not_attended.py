"""Detailed-exam outcome 5 (精検未受診): reported non-attendance, distinct from no report (未把握).

Revision ID: 0027
Revises: 0026
"""

from kenshin.migration_sql import run_sql_file

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    run_sql_file(__file__)
