"""Run the SQL file that belongs to an Alembic revision (same stem, `.sql`)."""

from pathlib import Path

from alembic import op


def run_sql_file(revision_file: str) -> None:
    sql_path = Path(revision_file).with_suffix(".sql")
    # The psycopg connection itself, inside Alembic's transaction: executed
    # without parameters, so format() placeholders such as %I reach the server.
    op.get_bind().connection.driver_connection.execute(sql_path.read_text(encoding="utf-8"))
