"""Alembic environment: plain SQL migrations, version table in `public`.

Each revision in versions/ executes the SQL file of the same stem, so the
schema stays readable SQL (and lintable) while Alembic keeps the order and the
applied versions.
"""

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, version_table="kenshin_schema_version",
                          transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not used: run `kenshin db migrate`")
run_migrations_online()
