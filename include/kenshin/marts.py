"""Running the dbt project (`dbt_project/`) against the warehouse.

dbt reads its connection from environment variables (dbt_project/profiles.yml);
this module derives them from a database URL, so the CLI, the tests and the
demo build the marts exactly as the `marts_build` DAG does, and keeps dbt's
work files inside the project's ignored work folder.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from kenshin import db

DBT_PROJECT = db.PROJECT_ROOT / "dbt_project"


def dbt_env(url: str | None = None) -> dict[str, str]:
    """KENSHIN_DBT_* variables of profiles.yml for the database at `url`."""
    parts = urlsplit(url or db.database_url())
    return {
        "KENSHIN_DBT_HOST": parts.hostname or "127.0.0.1",
        "KENSHIN_DBT_PORT": str(parts.port or 5432),
        "KENSHIN_DBT_USER": unquote(parts.username or "postgres"),
        "KENSHIN_DBT_PASSWORD": unquote(parts.password or ""),
        "KENSHIN_DBT_DBNAME": parts.path.lstrip("/") or db.DATABASE_NAME,
    }


def run_dbt(args: list[str], url: str | None = None, *, vars: dict | None = None):
    """Run a dbt command in-process; returns dbt's result (`.success`)."""
    import json

    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_env(url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = db.work_dir() / "dbt" / "target"
    logs = db.work_dir() / "dbt" / "logs"
    full = [*args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(target), "--log-path", str(logs)]
    if vars:
        full += ["--vars", json.dumps(vars)]
    return dbtRunner().invoke(full)
