"""The compose stack's logins on a real server (no Docker here): a new cluster
initialised as the official postgres image does, `docker/postgres-init.sql`
applied as its entrypoint applies it, the migrations run as airflow-init runs
them (the superuser over the server's socket), then a month loaded as the
`airflow` login, the marts built by `marts_build` (Cosmos/dbt as the
`kenshin_dbt` login, the other tasks as `airflow`) and the ministry report
written as `airflow` through kenshin_reporter. No step runs as a superuser.

The official image's initdb leaves local (socket) connections on trust and
appends `host all all all scram-sha-256`: containers reach the server over
TCP with a password. Here TCP on 127.0.0.1 asks for the password the same way
(`--auth-host=scram-sha-256`), so a wrong or missing grant or password fails
as it would in the stack.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from builders import clinic_file, jumin_file, kenshin_row, people

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SUPERUSER = "postgres"


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def compose_server():
    """A fresh cluster, the init script and the migrations as the stack runs
    them; yields the TCP address and the two logins' passwords."""
    from kenshin.platform import db

    bindir = db._pg_bin()
    base = Path(tempfile.mkdtemp(prefix="kenshin-compose-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, run = base / "data", base / "run"
    passwords = {"POSTGRES_PASSWORD": secrets.token_hex(16), "AIRFLOW_DB_PASSWORD": secrets.token_hex(16),
                 "KENSHIN_DBT_DB_PASSWORD": secrets.token_hex(16)}
    pwfile = base / "pwfile"
    pwfile.write_text(passwords["POSTGRES_PASSWORD"] + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres")
    server = _as_server_user
    subprocess.run(server([str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                           "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8",
                           "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL, cwd=base)
    subprocess.run(server(["mkdir", "-p", str(run)]), check=True, cwd=base)
    port = db._free_port(56543)
    opts = f"-p {port} -k {run} -c listen_addresses=127.0.0.1 " + " ".join(
        f"-c {k}={v}" for k, v in db.SERVER_LOG_SETTINGS.items())
    subprocess.run(server([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "server.log"),
                           "-o", opts, "start"]), check=True, stdout=subprocess.DEVNULL, cwd=base)
    try:
        # the image's entrypoint: psql as POSTGRES_USER over the socket, the
        # postgres service's environment (the two login passwords)
        init = subprocess.run(
            [str(bindir / "psql"), "-v", "ON_ERROR_STOP=1", "--username", SUPERUSER, "--no-password",
             "--no-psqlrc", "--dbname", "postgres", "-h", str(run), "-p", str(port),
             "-f", str(ROOT / "docker" / "postgres-init.sql")],
            env={**os.environ, "AIRFLOW_DB_PASSWORD": passwords["AIRFLOW_DB_PASSWORD"],
                 "KENSHIN_DBT_DB_PASSWORD": passwords["KENSHIN_DBT_DB_PASSWORD"]},
            capture_output=True, text=True, cwd=base)
        assert init.returncode == 0, init.stderr
        # airflow-init: `kenshin db migrate` as the superuser over the socket
        # (its URL names no password), `airflow db migrate` as the airflow login
        socket_url = f"postgresql://{SUPERUSER}@/kenshin?host={run}&port={port}"
        migrated = subprocess.run([sys.executable, "-m", "kenshin.cli", "db", "migrate"],
                                  env={**os.environ, "KENSHIN_DATABASE_URL": socket_url},
                                  capture_output=True, text=True)
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        tcp = f"127.0.0.1:{port}"
        airflow_meta = f"postgresql+psycopg://airflow:{passwords['AIRFLOW_DB_PASSWORD']}@{tcp}/airflow"
        meta = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"],
                              env={**os.environ, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_meta},
                              capture_output=True, text=True)
        assert meta.returncode == 0, meta.stderr[-2000:]
        yield {"tcp": tcp, "socket_url": socket_url, **passwords}
    finally:
        subprocess.run(server([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, cwd=base)
        shutil.rmtree(base, ignore_errors=True)


def _login_url(server: dict, login: str, password_var: str, scheme: str = "postgresql") -> str:
    return f"{scheme}://{login}:{server[password_var]}@{server['tcp']}/kenshin"


def test_the_logins_need_their_passwords_and_are_no_superusers(compose_server):
    airflow = _login_url(compose_server, "airflow", "AIRFLOW_DB_PASSWORD")
    with psycopg.connect(airflow) as conn:
        roles = dict(conn.execute("select rolname, rolsuper or rolcreaterole or rolcreatedb or rolbypassrls "
                                  "from pg_roles where rolname in ('airflow', 'kenshin_dbt')").fetchall())
    assert roles == {"airflow": False, "kenshin_dbt": False}
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://kenshin_dbt:wrong@{compose_server['tcp']}/kenshin").close()
    # the superuser's password is refused nowhere because it is asked nowhere but
    # on the server; over TCP it is required like any other
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(f"postgresql://{SUPERUSER}@{compose_server['tcp']}/kenshin").close()


def test_a_month_loads_builds_and_reports_as_the_compose_logins(compose_server, airflow_db, tmp_path,
                                                                monkeypatch):
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    airflow = _login_url(compose_server, "airflow", "AIRFLOW_DB_PASSWORD")
    dbt = _login_url(compose_server, "kenshin_dbt", "KENSHIN_DBT_DB_PASSWORD")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kenshin.cli", *args], capture_output=True, text=True,
                              env={**os.environ, "KENSHIN_DATABASE_URL": airflow,
                                   "KENSHIN_DATA_DIR": str(tmp_path / "data")})

    # a load as the airflow login (kenshin_loader): the registry, then a clinic month
    ps = people(12)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    registry = jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps])
    clinic = clinic_file(inbox, "kenshin", "202610",
                         [kenshin_row(p, "20261014", line_no=i, result_code="3" if i == 1 else "1")
                          for i, p in enumerate(ps[:8], start=1)])
    loaded = cli("ingest", str(registry), str(clinic))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    outcomes = [(o["file"], o["status"], o["rows"], o["loaded"] + o["quarantined"] + o["review"])
                for o in map(json.loads, loaded.stdout.splitlines())]
    assert outcomes == [(registry.name, "loaded", 12, 12), (clinic.name, "loaded", 8, 8)]

    # the marts as Airflow builds them: Cosmos's dbt as kenshin_dbt, the other tasks as airflow
    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN", _login_url(compose_server, "airflow", "AIRFLOW_DB_PASSWORD",
                                                          "postgres"))
    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_DBT", _login_url(compose_server, "kenshin_dbt",
                                                              "KENSHIN_DBT_DB_PASSWORD", "postgres"))
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path / "data"))
    dag = DagBag(dag_folder=str(ROOT / "dags" / "marts_build.py")).get_dag("marts_build")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 10, 3, tz="Asia/Tokyo"))
    failed = [ti.task_id for ti in run.get_task_instances() if ti.state != "success"]
    assert run.state == "success", failed

    with psycopg.connect(dbt) as conn:
        owners = dict(conn.execute(
            "select n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname in ('marts', 'stats', 'report') and c.relkind in ('r', 'v')").fetchall())
    assert owners and set(owners.values()) == {"kenshin_dbt"}, set(owners.values())
    assert {"marts.fct_screening", "stats.participation", "report.ministry_report_exact"} <= set(owners)

    with psycopg.connect(airflow) as conn:
        conn.execute("set role kenshin_stats")
        screened = conn.execute("select screened from stats.participation where fiscal_year = 2026 "
                                "and exam_type = '04' and sex = 'all' and age_band = 'all'").fetchone()
        assert screened == (None,)   # 8 people: a count of 1-9, suppressed for kenshin_stats
        conn.execute("reset role")
        # the airflow login builds nothing: the marts are dbt's
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create table marts.not_yours (x int)")

    # the ministry report as the airflow login through kenshin_reporter, its read logged
    report = cli("report", "annual", "--fiscal-year", "2026")
    assert report.returncode == 0, report.stderr[-2000:]
    assert (tmp_path / "data" / "reports" / "FY2026" / "chiiki_hoken_2026.xlsx").stat().st_size > 0
    with psycopg.connect(compose_server["socket_url"]) as conn:
        reads = conn.execute("select db_role, login, person_key from audit.access_log "
                             "where object like 'report.%'").fetchall()
    assert reads and set(reads) == {("kenshin_reporter", "airflow", None)}
