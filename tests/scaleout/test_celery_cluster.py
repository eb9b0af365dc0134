"""The platform on a real scheduler and two Celery workers, run as operators run it.

Airflow's api-server, scheduler, dag-processor, triggerer and two Celery workers
(CeleryExecutor, Redis: the machine's on 127.0.0.1:6379, else a redis-server of
the test's own) run as processes of their own (tests/airflow_cluster.py). A
month of a synthetic city's files is dropped into the inbox; `registry_sync`
and `clinic_ingest` are triggered through the REST API as the UI's Trigger
button does (no logical date; the business day on the Trigger form's `as_of`),
and the Assets they publish start `marts_build`. In the middle of a clinic
file's load one worker is killed with SIGKILL (its whole process group, as a
machine that dies): the scheduler finds the task's heartbeat gone, the retry
runs on the other worker, the file loads exactly once.

The warehouse must then equal, table by table, the one the same runs make with
`dag.test()` in this process (as `make demo` runs the DAGs), and rows in =
loaded + quarantined + in review for every file. Finally every DAG is
triggered with no logical date at all and every run must succeed.

Time-bounded: each wait has its deadline; every process is ended by its id.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pendulum
import psycopg
import pytest

from airflow_cluster import Cluster, redis_url, stop
from kenshin_airflow.connection import development_connections

pytestmark = [pytest.mark.scaleout, pytest.mark.integration, pytest.mark.dag]

RESIDENTS = 3000
START, DAYS = dt.date(2026, 10, 1), 31
# the business days the runs stand for: the registry month, then its clinic month
REGISTRY_AS_OF, CLINIC_AS_OF = "2026-11-01", "2026-11-10"
ALL_DAGS = ("registry_sync", "clinic_ingest", "marts_build", "transferee_linkage", "reminders",
            "provision_copies", "annual_report", "retention_purge")
# Tables whose row counts depend on how a run was executed, not on the data:
# the access log records each reader's connections (a Celery task is a
# connection per task, dag.test one per process); the stats build schema is
# a copy the publication empties.
RUN_DEPENDENT = {"audit.access_log", "audit.seal", "ops.load_manifest"}
# ops.load_manifest is compared by outcome instead (_file_outcomes): a killed
# load leaves an 'abandoned' row, and a load task that first loads an earlier
# file another task is loading may record a 'duplicate'.


def _warehouse_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in "
            "('landing', 'core', 'ops', 'audit', 'marts', 'marts_staging', 'stats', 'report') order by 1")]
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables
                if t not in RUN_DEPENDENT}


def _file_outcomes(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select file_name, status, rows_in_file, rows_loaded, rows_quarantined, rows_review "
                            "from ops.load_manifest where status in ('loaded', 'rejected') order by 1").fetchall()


def _nothing_lost(url: str) -> list[tuple]:
    """Files whose rows in differ from loaded + quarantined + in review, or whose
    quarantined count differs from the quarantine's rows."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select m.file_name, m.rows_in_file, m.rows_loaded, m.rows_quarantined, m.rows_review
                 from ops.load_manifest m
                where m.status = 'loaded'
                  and (m.rows_in_file is distinct from m.rows_loaded + m.rows_quarantined + m.rows_review
                       or m.rows_quarantined <> (select count(*) from ops.quarantine q where q.load_id = m.load_id))
            """).fetchall()


def _reference(url: str, data: Path, monkeypatch, airflow_connections) -> None:
    """The same runs with dag.test() in this process."""
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    airflow_connections(url)
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(data))
    now = pendulum.now("Asia/Tokyo")
    for dag_id, conf in (("registry_sync", {"as_of": REGISTRY_AS_OF}), ("clinic_ingest", {"as_of": CLINIC_AS_OF}),
                         ("marts_build", None)):
        dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / f"{dag_id}.py")).get_dag(dag_id)
        run = dag.test(logical_date=None, run_after=now, run_conf=conf)
        assert run.state == "success", (dag_id, {ti.task_id: ti.state for ti in run.get_task_instances()})


def _worker_of(cluster: Cluster, pid: int) -> str | None:
    owner = cluster.owner_of(pid)
    return owner if owner and owner.startswith("worker") else None


def _kill_a_worker_mid_clinic_load(cluster: Cluster, url: str, run_id: str,
                                   timeout: float = 300) -> tuple[int, set[str]]:
    """SIGKILL the worker of a clinic file's load task while the loads are in
    staging (every running load task has a file in staging, the manifest says),
    and return the task's map index and the files then in staging."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            staging = {r[0] for r in conn.execute(
                "select file_name from ops.load_manifest where status = 'staging' and source = 'kenshin'")}
            if staging:
                running = sorted((ti for ti in cluster.task_instances("clinic_ingest", run_id)
                                  if ti["task_id"] == "ingest" and ti["state"] == "running" and ti["pid"]),
                                 key=lambda ti: ti["start_date"])
                workers = [(ti, _worker_of(cluster, ti["pid"])) for ti in running]
                if running and len(staging) >= len(running) and all(w for _, w in workers):
                    ti, worker = workers[0]
                    cluster.kill(worker)
                    return ti["map_index"], staging
            time.sleep(0.05)
    pytest.fail("no clinic file was ever caught in the middle of its load")


@pytest.fixture
def cluster(tmp_path, server_url, db_url):
    """The Airflow components on a metadata database of their own, working on db_url."""
    from kenshin.platform import db

    name = f"airflow_scaleout_{os.getpid()}"
    admin = db.with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    metadata = db.with_database(server_url, name)
    broker, redis = redis_url(tmp_path)
    data = tmp_path / "cluster-data"
    (data / "inbox").mkdir(parents=True)
    cluster = Cluster(tmp_path, db.sqlalchemy_url(metadata), broker, "db+" + db.sqlalchemy_url(metadata), env_extra={
        "KENSHIN_DATA_DIR": str(data),
        **development_connections(db_url),
        # a lost worker's task is noticed in seconds, and retried at once
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "2",
    })
    try:
        cluster.start()
        cluster.data = data
        yield cluster
    finally:
        cluster.close()
        if redis is not None:
            stop(redis)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def _settle(cluster: Cluster, timeout: float = 900) -> dict[str, list[dict]]:
    """Until no run of any DAG is queued or running (Asset-triggered ones included)."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {d: cluster.runs(d) for d in ALL_DAGS}
        if all(r["state"] in ("success", "failed") for rs in runs.values() for r in rs):
            time.sleep(6)  # an Asset event just published may still become a run
            again = {d: cluster.runs(d) for d in ALL_DAGS}
            if again == runs:
                return runs
            continue
        assert time.monotonic() < deadline, {d: [r["state"] for r in rs] for d, rs in runs.items()}
        time.sleep(3)


def test_a_month_on_celery_workers_equals_the_dag_test_run_and_survives_a_killed_worker(
        cluster, db_url, new_database, tmp_path, monkeypatch, airflow_connections, airflow_db):
    from kenshin.lab.synth import generate

    t0 = time.monotonic()
    city = tmp_path / "city"
    generate(RESIDENTS, 11, city, START, DAYS)
    reference_data = tmp_path / "reference-data"
    shutil.copytree(city / "inbox", reference_data / "inbox")
    reference = new_database()
    _reference(reference, reference_data, monkeypatch, airflow_connections)
    t_reference = time.monotonic() - t0

    cluster.wait_for_dags(list(ALL_DAGS))
    # Unpausing a cron DAG makes the scheduler run its latest interval at once:
    # on an empty inbox, before the month's files arrive, those runs find nothing.
    for dag_id in ("registry_sync", "clinic_ingest", "marts_build"):
        cluster.unpause(dag_id)
    _settle(cluster)
    shutil.copytree(city / "inbox", cluster.data / "inbox", dirs_exist_ok=True)

    t1 = time.monotonic()
    registry = cluster.trigger("registry_sync", {"as_of": REGISTRY_AS_OF})
    assert cluster.wait_for_run("registry_sync", registry)["state"] == "success"
    clinic = cluster.trigger("clinic_ingest", {"as_of": CLINIC_AS_OF})
    killed_index, in_staging = _kill_a_worker_mid_clinic_load(cluster, db_url, clinic)
    assert cluster.wait_for_run("clinic_ingest", clinic)["state"] == "success"
    runs = _settle(cluster)
    t_month = time.monotonic() - t1

    # every run succeeded; marts_build ran from the Assets (no one triggered it)
    failed = {d: [r["dag_run_id"] for r in rs if r["state"] != "success"] for d, rs in runs.items()}
    if any(failed.values()):
        with psycopg.connect(db_url) as conn:
            print("\nDIAG", conn.execute(
                "select (select max(change_watermark) from marts_staging.int_screening_enriched), "
                "(select min(updated_at) from core.screening), (select max(updated_at) from core.screening), "
                "(select count(*) from core.screening), (select count(*) from marts.fct_screening), "
                "(select count(*) from core.screening s where not exists (select 1 from marts.fct_screening f "
                "where f.screening_id = s.screening_id)), "
                "(select min(s.updated_at) from core.screening s where not exists (select 1 from "
                "marts.fct_screening f where f.screening_id = s.screening_id))").fetchone())
            print("DIAG loads", conn.execute("select file_name, status, received_at, finished_at from "
                                             "ops.load_manifest where source = 'kenshin' order by 3").fetchall())
    assert not any(failed.values()), failed
    asset_runs = [r for r in runs["marts_build"] if r["run_type"] == "asset_triggered"]
    assert asset_runs, runs["marts_build"]

    # the killed load: retried on the other worker, loaded once
    retried = [ti for ti in cluster.task_instances("clinic_ingest", clinic)
               if ti["task_id"] == "ingest" and ti["map_index"] == killed_index]
    assert [(ti["state"], ti["try_number"]) for ti in retried] == [("success", 2)], retried
    killed_file = retried[0]["rendered_map_index"]
    assert killed_file in in_staging
    # the killed worker stayed dead: the second try ran on the other one
    alive = [n for n, proc in cluster.processes.items() if n.startswith("worker") and proc.poll() is None]
    assert len(alive) == 1, alive
    with psycopg.connect(db_url) as conn:
        statuses = conn.execute("select status, count(*) from ops.load_manifest where file_name = %s group by 1",
                                (killed_file,)).fetchall()
    assert dict(statuses).get("loaded") == 1, statuses
    with psycopg.connect(db_url) as conn:
        abandoned = [r[0] for r in conn.execute("select file_name from ops.load_manifest where status = 'abandoned'")]
    assert abandoned == [killed_file]

    # the warehouse equals the dag.test() one, table by table; nothing lost
    celery_counts, reference_counts = _warehouse_counts(db_url), _warehouse_counts(reference)
    assert celery_counts["core.screening"] > 0 and celery_counts["core.person"] > RESIDENTS
    differ = {t: (celery_counts.get(t), reference_counts.get(t))
              for t in celery_counts.keys() | reference_counts.keys() if celery_counts.get(t) != reference_counts.get(t)}
    assert differ == {}
    assert _file_outcomes(db_url) == _file_outcomes(reference)
    assert _nothing_lost(db_url) == []

    # tasks per worker (Celery's own log of what each received)
    per_worker = Counter()
    for name in cluster.processes:
        if name.startswith("worker"):
            per_worker[name] = cluster.log(name, tail=10**8).count("] received")

    # every DAG, triggered as the Trigger button does with no form filled in
    t2 = time.monotonic()
    for dag_id in ALL_DAGS:
        cluster.unpause(dag_id)
    manual = {dag_id: cluster.trigger(dag_id) for dag_id in ALL_DAGS}
    runs = _settle(cluster)
    for dag_id, run_id in manual.items():
        state = next(r["state"] for r in runs[dag_id] if r["dag_run_id"] == run_id)
        assert state == "success", (dag_id, {ti["task_id"]: ti["state"]
                                             for ti in cluster.task_instances(dag_id, run_id)})
    failed = {d: [r["dag_run_id"] for r in rs if r["state"] != "success"] for d, rs in runs.items()}
    assert not any(failed.values()), failed
    print(f"\nscale-out: reference (dag.test) {t_reference:.0f} s; the month on Celery {t_month:.0f} s "
          f"(killed {killed_file} on a worker); every DAG triggered {time.monotonic() - t2:.0f} s; "
          f"tasks received per worker {dict(per_worker)}")
