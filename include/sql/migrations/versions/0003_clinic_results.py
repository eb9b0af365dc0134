"""Clinic results: screenings, detailed exams, matching outcomes, the review queue.

Revision ID: 0003
Revises: 0002
"""

from kenshin.migration_sql import run_sql_file

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    run_sql_file(__file__)
