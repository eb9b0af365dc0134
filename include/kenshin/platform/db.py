"""Database access: the server URL, the embedded default cluster, connections, migrations.

`KENSHIN_DATABASE_URL` selects the server. When it is unset, an embedded
PostgreSQL cluster is started under the work folder (`KENSHIN_HOME`, default
`.local/` in the project) from the machine's PostgreSQL binaries, so a fresh
machine needs no server set up by hand.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from kenshin.platform import vocabulary
from kenshin.platform.paths import PROJECT_ROOT

log = logging.getLogger(__name__)

SQL_DIR = PROJECT_ROOT / "include" / "sql"
DATABASE_NAME = "kenshin"

# What keeps personal data out of PostgreSQL's own log, which nobody purges: a
# failing row's values (DETAIL), the failing statement and its parameters, and
# no statement logging. The embedded cluster starts with them, the compose
# service too (docker-compose.yml), and migration 0020 sets them per database.
SERVER_LOG_SETTINGS = {
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
    "log_parameter_max_length": "0",
    "log_parameter_max_length_on_error": "0",
    "log_statement": "none",
    "log_min_duration_statement": "-1",
}


def work_dir() -> Path:
    """The ignored work folder for the embedded cluster, keys and caches."""
    path = Path(os.environ.get("KENSHIN_HOME", PROJECT_ROOT / ".local"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def with_user(url: str, login: str) -> str:
    """The same server and database as another login (its password, if the
    server asks one, from the environment or ~/.pgpass, never the URL)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{login}@{host}", parts.path, parts.query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy (psycopg 3 driver), as GX and Alembic need."""
    scheme, rest = url.split("://", 1)
    return "postgresql+psycopg://" + rest if scheme in ("postgres", "postgresql") else url


# --- embedded cluster -------------------------------------------------------

def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        log.info("no PostgreSQL binaries on this machine: installing the Debian package")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "postgresql"], check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found: install postgresql or set KENSHIN_DATABASE_URL")
    return Path(found[-1]).parent


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root (STACK.md): run the cluster as the OS user
    # the Debian package creates.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _free_port(preferred: int, skip: frozenset[int] = frozenset()) -> int:
    """A port the server can bind: tried by binding it, since a port in the
    ephemeral range may be taken by a client connection nobody listens on."""
    for port in [preferred, *range(preferred + 1, preferred + 50)]:
        if port in skip:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the embedded PostgreSQL")


def _reachable_by_postgres(path: Path) -> bool:
    """Whether the server's OS user can enter `path` (every folder above it
    must let it pass: a clone under a mode-700 home does not)."""
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(path)],
                          capture_output=True, cwd="/").returncode == 0


def cluster_dir() -> Path:
    """Where the embedded cluster of this checkout lives: `pg/` in the work
    folder, unless the cluster runs as the `postgres` user (we are root) and that
    user cannot reach the work folder. Then a folder of its own outside the
    checkout, keyed by the work folder's path (`KENSHIN_PG_ROOT`, default
    /var/lib/kenshin): /var/lib/kenshin/pg-<12 hex digits>, mode 700, owned by
    postgres; the work folder's `pg-location` says where it is."""
    base = work_dir() / "pg"
    if os.geteuid() != 0 or (base / "data" / "PG_VERSION").exists():
        return base
    # Every connection without a URL asks: the answer once found is read back,
    # not probed again with a subprocess.
    location = work_dir() / "pg-location"
    if location.exists():
        known = Path(location.read_text().strip())
        if (known / "data" / "PG_VERSION").exists():
            return known
    if _reachable_by_postgres(base.parent):
        return base
    key = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:12]
    root = Path(os.environ.get("KENSHIN_PG_ROOT", "/var/lib/kenshin"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the server's user passes through, lists nothing it does not own
    location.write_text(f"{root / f'pg-{key}'}\n")
    return root / f"pg-{key}"


def embedded_url() -> str:
    """Start (once) the private cluster of this checkout and return its URL."""
    base = cluster_dir()
    data, run = base / "data", base / "run"
    port_file = base / "port"
    bindir = _pg_bin()
    if not (data / "PG_VERSION").exists():
        base.mkdir(parents=True, exist_ok=True)
        run.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(base, "postgres")
            shutil.chown(run, "postgres")
            base.chmod(0o700)
        subprocess.run(
            _as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                               "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, stdout=subprocess.DEVNULL, cwd=base,
        )
    port = int(port_file.read_text()) if port_file.exists() else None
    status = subprocess.run(_as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "status"]),
                            capture_output=True, cwd=base)
    if status.returncode != 0:
        # Another process may take the port between the check and the server's
        # bind: then the next one.
        tried: set[int] = set()
        for _ in range(3):
            port = _free_port(port or 55432, frozenset(tried))
            tried.add(port)
            opts = (f"-p {port} -k {run} -c listen_addresses=127.0.0.1 -c fsync=on "
                    f"-c max_connections=200 -c shared_buffers=512MB -c max_wal_size=4GB "
                    + " ".join(f"-c {k}={v}" for k, v in SERVER_LOG_SETTINGS.items()))
            started = subprocess.run(
                _as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l",
                                   str(base / "server.log"), "-o", opts, "start"]),
                stdout=subprocess.DEVNULL, cwd=base)
            if started.returncode == 0:
                break
        else:
            raise RuntimeError(f"the embedded PostgreSQL did not start: see {base / 'server.log'}")
        port_file.write_text(str(port))
    url = f"postgresql://postgres@127.0.0.1:{port}/{DATABASE_NAME}"
    ensure_database(url)
    return url


def ensure_database(url: str) -> None:
    """Create the database of `url` on its server if it does not exist."""
    dbname = urlsplit(url).path.lstrip("/") or DATABASE_NAME
    for _ in range(50):
        try:
            with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
                if not conn.execute("select 1 from pg_database where datname = %s", (dbname,)).fetchone():
                    conn.execute(f'create database "{dbname}"')
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("database server did not accept connections")


def database_url() -> str:
    """`KENSHIN_DATABASE_URL`, or the embedded default cluster."""
    url = os.environ.get("KENSHIN_DATABASE_URL")
    if url:
        return url
    return embedded_url()


def user_default() -> str:
    """Who runs a command by hand: KENSHIN_USER, else the operating-system user."""
    import getpass

    return os.environ.get("KENSHIN_USER") or getpass.getuser()


def app_user() -> str:
    """The application user the audit trail records: inside an Airflow task the
    DAG and task (Airflow sets AIRFLOW_CTX_* while a task runs), else
    `user_default()`."""
    dag = os.environ.get("AIRFLOW_CTX_DAG_ID")
    if dag:
        return f"airflow:{dag}.{os.environ.get('AIRFLOW_CTX_TASK_ID', '')}"
    return user_default()


@contextlib.contextmanager
def connect(url: str | None = None, role: str | None = "kenshin_loader",
            autocommit: bool = False, user: str | None = None,
            purpose: str | None = None, purpose_note: str | None = None) -> Iterator[psycopg.Connection]:
    """A connection acting as `role` (least privilege: the loader by default),
    on behalf of the application user `user` (default `app_user()`), which
    the audit trail records beside the role and the login. Staff state the
    `purpose` of their access, a code of audit.yaml `purposes` (free text in
    `purpose_note`): the database refuses them a person's record without one,
    and records both with every record they read."""
    conn = psycopg.connect(url or database_url(), autocommit=autocommit)
    try:
        conn.execute(sql.SQL("set timezone = {}").format(sql.Literal(vocabulary.business_tz().key)))
        conn.execute("select set_config('kenshin.app_user', %s, false)", (user or app_user(),))
        if purpose:
            conn.execute("select set_config('kenshin.purpose', %s, false)", (purpose,))
        if purpose_note:
            conn.execute("select set_config('kenshin.purpose_note', %s, false)", (purpose_note,))
        if role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        if not autocommit:
            conn.commit()
        yield conn
    finally:
        conn.close()


# --- migrations (Alembic) ---------------------------------------------------

def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SQL_DIR / "migrations"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema up to `revision` with Alembic (migrations in include/sql)."""
    from alembic import command

    url = url or database_url()
    ensure_database(url)
    command.upgrade(alembic_config(url), revision)
    sync_policy(url)


def sync_policy(url: str) -> None:
    """Copy the policy the database enforces from configuration: the access
    purposes (audit.yaml) into audit.access_purpose, a purpose no longer
    configured deactivated, never deleted (the access log refers to it); the
    audit period (retention.yaml audit_years) into audit.policy."""
    from kenshin.platform import config

    purposes = config.load("audit").get("purposes") or {}
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('audit.access_purpose')").fetchone()[0] is None:
            return   # migrated to an older revision
        with conn.cursor() as cur:
            cur.executemany(
                """insert into audit.access_purpose (code, label_ja, label_en, active) values (%s, %s, %s, true)
                   on conflict (code) do update set label_ja = excluded.label_ja, label_en = excluded.label_en,
                                                    active = true""",
                [(code, p["ja"], p["en"]) for code, p in purposes.items()])
        conn.execute("update audit.access_purpose set active = false where code <> all(%s)", (list(purposes),))
        if conn.execute("select to_regclass('audit.policy')").fetchone()[0] is not None:
            conn.execute("update audit.policy set audit_years = %s",
                         (int(config.load("retention")["audit_years"]),))
