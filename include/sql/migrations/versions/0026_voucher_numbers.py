"""Voucher numbers: one per person, fiscal year and exam type, issued with the VOUCHER letter; void on reissue.

Revision ID: 0026
Revises: 0025
"""

from kenshin.migration_sql import run_sql_file

revision = "0026"
down_revision = "0025"


def upgrade() -> None:
    run_sql_file(__file__)
