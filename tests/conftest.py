"""Test set-up: a real PostgreSQL (KENSHIN_DATABASE_URL's server, or the embedded
default cluster), one freshly migrated database per test cloned from a template,
synthetic keys, and an Airflow home with its metadata in the same server."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".local" / "test"


def pytest_configure(config):
    WORK.mkdir(parents=True, exist_ok=True)
    # Synthetic keys for synthetic people; never the keys of a real deployment.
    os.environ.setdefault("KENSHIN_MY_NUMBER_KEY", base64.b64encode(b"t" * 32).decode())
    os.environ.setdefault("KENSHIN_HMAC_KEY", base64.b64encode(b"h" * 32).decode())
    os.environ["KENSHIN_DATA_DIR"] = str(WORK / "data")
    airflow_home = WORK / "airflow"
    os.environ.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
    })
    sys.path.insert(0, str(ROOT / "plugins"))
    # Airflow reads its metadata connection when first imported: decide it now.
    from kenshin.platform import db

    url = db.database_url()
    os.environ["KENSHIN_TEST_SERVER_URL"] = url
    # one metadata database per concurrent test session when asked (two sessions
    # sharing one would see each other's DAG runs)
    os.environ.setdefault("KENSHIN_TEST_AIRFLOW_DB", "airflow_test")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = db.sqlalchemy_url(
        db.with_database(url, os.environ["KENSHIN_TEST_AIRFLOW_DB"]))
    # DAGs run here with dag.test(), which Airflow 3.3.2 cannot finish for a DAG
    # with a deadline (kenshin_airflow.deadlines.let_dag_test_finish)
    from kenshin_airflow.deadlines import let_dag_test_finish

    let_dag_test_finish()
    # marts_build is rendered from the dbt manifest (no dbt ls at parse time)
    from kenshin.reporting import marts

    marts.ensure_manifest(url=url)


@pytest.fixture(scope="session")
def server_url() -> str:
    return os.environ["KENSHIN_TEST_SERVER_URL"]


@pytest.fixture(scope="session")
def template_db(server_url) -> str:
    """A database migrated once per session; tests clone it (CREATE ... TEMPLATE)."""
    from kenshin.platform import db

    name = f"kenshin_tmpl_{os.getpid()}"
    admin = db.with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    db.migrate(db.with_database(server_url, name))
    yield name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def new_database(server_url, template_db):
    """Factory of fresh, migrated databases for one test (cloned from the
    template), all dropped afterwards."""
    from kenshin.platform import db

    admin = db.with_database(server_url, "postgres")
    made: list[str] = []

    def make() -> str:
        name = f"kenshin_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'create database "{name}" template "{template_db}"')
        made.append(name)
        return db.with_database(server_url, name)

    yield make
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in made:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def db_url(new_database) -> str:
    """A fresh, migrated database for one test, dropped afterwards."""
    return new_database()


@pytest.fixture(scope="session")
def airflow_db(server_url) -> str:
    """Airflow's metadata database on the same server, migrated once per session."""
    from kenshin.platform import db

    db.ensure_database(db.with_database(server_url, os.environ["KENSHIN_TEST_AIRFLOW_DB"]))
    conn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, env=os.environ.copy())
    return conn


@pytest.fixture
def inbox(tmp_path, monkeypatch) -> Path:
    """An empty data folder for one test (KENSHIN_DATA_DIR)."""
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(data))
    return data / "inbox"


@pytest.fixture
def logins(db_url, server_url):
    """Factory of real database logins for one test: `logins("staff01",
    "kenshin_staff")` creates a LOGIN role in those group roles, registers it as
    staff member `staff01` (ops.staff_member, as the owner does with `kenshin
    staff register`) unless `register=False`, and returns the URL of the test
    database as that login. Roles are the cluster's: dropped afterwards."""
    from kenshin.platform import db

    made: list[str] = []

    def make(staff_id: str, *roles: str, register: bool = True, airflow_user: str | None = None) -> str:
        login = f"t{uuid.uuid4().hex[:10]}_{staff_id}".lower()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(f'create role "{login}" login' + (f" in role {', '.join(roles)}" if roles else ""))
            made.append(login)
            if register:
                conn.execute("insert into ops.staff_member (staff_id, db_login, airflow_user) values (%s, %s, %s)",
                             (staff_id, login, airflow_user))
        return db.with_user(db_url, login)

    yield make
    with psycopg.connect(db.with_database(server_url, "postgres"), autocommit=True) as conn:
        for login in made:
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", (login,))
            conn.execute(f'drop role if exists "{login}"')


@pytest.fixture
def airflow_connections(monkeypatch):
    """Point Airflow's warehouse connections (`kenshin` and dbt's `kenshin_dbt`)
    at a test database: `airflow_connections(db_url)`."""
    from kenshin_airflow.connection import development_connections

    def point(url: str) -> None:
        for name, value in development_connections(url).items():
            monkeypatch.setenv(name, value)

    return point
