"""Running the dbt project (`dbt_project/`) against the warehouse.

dbt reads its connection from environment variables (dbt_project/profiles.yml);
this module derives them from a database URL, so the CLI, the tests and the
demo build the marts exactly as the `marts_build` DAG does, and keeps dbt's
work files inside the project's ignored work folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kenshin.platform import db

DBT_PROJECT = db.PROJECT_ROOT / "dbt_project"


def dbt_env(*, url: str | None = None) -> dict[str, str]:
    """KENSHIN_DBT_* variables of profiles.yml for the database at `url`."""
    parts = urlsplit(url or db.database_url())
    return {
        "KENSHIN_DBT_HOST": parts.hostname or "127.0.0.1",
        "KENSHIN_DBT_PORT": str(parts.port or 5432),
        "KENSHIN_DBT_USER": unquote(parts.username or "postgres"),
        "KENSHIN_DBT_PASSWORD": unquote(parts.password or ""),
        "KENSHIN_DBT_DBNAME": parts.path.lstrip("/") or db.DATABASE_NAME,
        # no JIT for dbt's sessions (tests too): compiling costs more than it saves here
        "PGOPTIONS": "-c jit=off",
    }


def run_dbt(args: list[str], *, vars: dict | None = None, url: str | None = None):
    """Run a dbt command in-process; returns dbt's result (`.success`)."""
    import json

    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_env(url=url))
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = db.work_dir() / "dbt" / "target"
    logs = db.work_dir() / "dbt" / "logs"
    full = [*args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(target), "--log-path", str(logs)]
    if vars:
        full += ["--vars", json.dumps(vars)]
    return dbtRunner().invoke(full)


MANIFEST = db.work_dir() / "dbt" / "target" / "manifest.json"
BUILD_SCHEMA, PUBLISHED_SCHEMA = "stats_build", "stats"
# columns the incremental stats models keep for their next run, not statistics
BOOKKEEPING = ("facts_in_year", "built_at", "policy")


def parse(*, url: str | None = None) -> None:
    """Write the manifest Cosmos renders `marts_build` from (no `dbt ls` at DAG parse)."""
    result = run_dbt(["parse", "--quiet"], url=url)
    if not result.success:
        raise RuntimeError("dbt parse failed; see .local/dbt/logs/dbt.log")


def ensure_manifest(*, url: str | None = None) -> None:
    """Parse the project when the manifest is missing or older than a project file."""
    newest = max(p.stat().st_mtime for p in DBT_PROJECT.rglob("*")
                 if p.is_file() and "target" not in p.parts and "logs" not in p.parts)
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < newest:
        parse(url=url)


def build(*, vars: dict | None = None, full_refresh: bool = False, url: str | None = None) -> bool:
    """`dbt build` (seeds, models, tests); publish the statistics when all passed.
    The intermediate models are incremental; `full_refresh` rebuilds them whole
    (after a change of the models' logic or of a closed year's ledger)."""
    ok = run_dbt(["build", "--quiet", *(["--full-refresh"] if full_refresh else [])], vars=vars, url=url).success
    if ok:
        publish_stats(url=url)
    return ok


def source_freshness(*, url: str | None = None) -> list[dict]:
    """`dbt source freshness` (鮮度): every source table with a freshness rule
    (dbt_project/models/staging/_sources.yml), its status ('pass', 'warn',
    'error', 'runtime error'), the newest row's time and its age in days, and
    the rule it was judged by. Counts and times only: no row is read."""
    result = run_dbt(["source", "freshness", "--quiet"], url=url)
    found = []
    for r in getattr(result.result, "results", None) or []:
        node, newest = r.node, getattr(r, "max_loaded_at", None)
        # dbt reports an empty table as rows of the year 1
        empty = newest is None or newest.year == 1
        rule = node.freshness
        found.append({
            "source": f"{node.source_name}.{node.name}", "status": str(r.status),
            "max_loaded_at": None if empty else newest.isoformat(),
            "age_days": None if empty else round(r.age / 86400, 1),
            "warn_after": f"{rule.warn_after.count} {rule.warn_after.period}" if rule and rule.warn_after.count else None,
            "error_after": f"{rule.error_after.count} {rule.error_after.period}" if rule and rule.error_after.count
            else None,
        })
    return sorted(found, key=lambda f: f["source"])


def late_sources_alert(results: list[dict]) -> tuple[str, str] | None:
    """The one alert (subject, text) for the sources that are late, or None
    when every source is fresh. Names tables, ages and rules, never values."""
    late = [r for r in results if r["status"] != "pass"]
    if not late:
        return None
    from kenshin.platform import alerts

    lines = [f"{len(late)} of {len(results)} sources are late against their freshness (鮮度):"]
    for r in late:
        newest = (f"newest row {r['max_loaded_at'][:10]}, {r['age_days']} days old" if r["max_loaded_at"]
                  else "no rows at all")
        lines.append(f"- {r['source']}: {r['status']} ({newest}; warn after {r['warn_after']}, "
                     f"error after {r['error_after'] or '-'})")
    lines += ["", f"next: {alerts.next_step('freshness')}"]
    worst = "error" if any(r["status"] != "warn" for r in late) else "warn"
    return f"[kenshin] marts_build: sources late ({worst}): {', '.join(r['source'] for r in late)}", "\n".join(lines)


def docs(*, url: str | None = None) -> Path:
    """`dbt docs generate`: the project's documentation site (every model and column)."""
    result = run_dbt(["docs", "generate", "--quiet"], url=url)
    if not result.success:
        raise RuntimeError("dbt docs generate failed; see .local/dbt/logs/dbt.log")
    return db.work_dir() / "dbt" / "target" / "index.html"


def publish_stats(*, url: str | None = None) -> list[str]:
    """Copy every table dbt built in `stats_build` into `stats`, replacing the
    published ones, in one transaction: readers see the old statistics or the
    new ones, never half of each. Called only after the whole build and all its
    tests passed. The build tables stay (they are incremental); their
    bookkeeping columns are not published. The comments dbt persisted on the
    build tables (persist_docs: the YAML's descriptions) go with them, so that
    statistics staff read them in their SQL client."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url or db.database_url()) as conn:
        tables = [r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = %s order by tablename", (BUILD_SCHEMA,))]
        for name in tables:
            published, built = sql.Identifier(PUBLISHED_SCHEMA, name), sql.Identifier(BUILD_SCHEMA, name)
            described = conn.execute(
                """select a.attname, col_description(a.attrelid, a.attnum)
                     from pg_attribute a
                    where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped
                    order by a.attnum""", (f"{BUILD_SCHEMA}.{name}",)).fetchall()
            columns = [(column, comment) for column, comment in described if column not in BOOKKEEPING]
            conn.execute(sql.SQL("drop table if exists {}").format(published))
            conn.execute(sql.SQL("create table {} as select {} from {}").format(
                published, sql.SQL(", ").join(sql.Identifier(column) for column, _ in columns), built))
            conn.execute(sql.SQL("comment on table {} is {}").format(published, sql.Literal(conn.execute(
                "select obj_description(%s::regclass, 'pg_class')", (f"{BUILD_SCHEMA}.{name}",)).fetchone()[0])))
            for column, comment in columns:
                conn.execute(sql.SQL("comment on column {}.{} is {}").format(
                    published, sql.Identifier(column), sql.Literal(comment)))
            conn.execute(sql.SQL("grant select on {} to kenshin_stats").format(published))
    return tables
