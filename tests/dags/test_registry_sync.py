"""registry_sync runs end to end with dag.test() against a real database."""

from __future__ import annotations

import pendulum
import psycopg
import pytest

from builders import jumin_file, people
from kenshin.platform.envelope import write_records

pytestmark = pytest.mark.dag


def test_registry_sync_runs_end_to_end(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    ps = people(30)
    jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps])
    moved = ps[0].but(address="神奈川県川崎市麻生区万福寺1丁目1番1号", ward_code="141372", postal_code="215-0004")
    jumin_file(inbox, "20261002", "diff", [moved.jumin_row("05", "20261002")])
    write_records(inbox / "seiho_202610.csv", ["H", "SEIHO", "202610", "20261001"],
                  [["D", ps[1].addressee_id, "12345678", "1", "20200401", ""]])
    write_records(inbox / "kokuho_202610.csv", ["H", "KOKUHO", "202610", "20261001"],
                  [["D", ps[2].addressee_id, "K123", "20240401", ""]])
    jumin_file(inbox, "20261005", "diff", [])  # after this interval: not due yet
    airflow_connections(db_url)

    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "registry_sync.py")).get_dag("registry_sync")
    # The 06:00 run of 10-02 covers the interval ending then: files dated up to 10-01.
    run = dag.test(logical_date=pendulum.datetime(2026, 10, 2, 6, tz="Asia/Tokyo"))
    assert run.state == "success"
    assert run.data_interval_end == pendulum.datetime(2026, 10, 2, 6, tz="Asia/Tokyo")

    def manifest():
        with psycopg.connect(db_url) as conn:
            return conn.execute("select file_name, status, rows_in_file, rows_loaded from ops.load_manifest "
                                "order by load_id").fetchall()

    assert manifest() == [
        ("jumin_20261001_full.csv", "loaded", 30, 30),
        ("seiho_202610.csv", "loaded", 1, 1),
        ("kokuho_202610.csv", "loaded", 1, 1),
    ]
    # The next day's run loads the 10-02 diff; the 10-05 diff is still not due.
    run = dag.test(logical_date=pendulum.datetime(2026, 10, 3, 6, tz="Asia/Tokyo"))
    assert run.state == "success"
    assert manifest()[3:] == [("jumin_20261002_diff.csv", "loaded", 1, 1)]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select ward_code from core.person_current where addressee_id = %s",
                            (ps[0].addressee_id,)).fetchone()[0] == "141372"


def test_a_rejected_file_fails_its_task_once_without_retries(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    ps = people(5)
    jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps], trailer=False)  # truncated transfer
    airflow_connections(db_url)

    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "registry_sync.py")).get_dag("registry_sync")
    run = dag.test(logical_date=pendulum.datetime(2026, 10, 2, 6, tz="Asia/Tokyo"))
    assert run.state == "failed"
    ingest = [ti for ti in run.get_task_instances() if ti.task_id == "ingest"]
    assert [(ti.state, ti.try_number) for ti in ingest] == [("failed", 1)]  # a gate is never retried
    assert ingest[0].max_tries >= 1  # though the task has retries (for a load lost with its worker)
    publish = [ti for ti in run.get_task_instances() if ti.task_id == "publish_ledger"]
    assert publish[0].state == "upstream_failed"  # no Asset event for a failed load
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select status, reason from ops.load_manifest").fetchall() == [
            ("rejected", "jumin_20261001_full.csv:6 field record_type: no trailer (T): truncated transfer")]
        assert conn.execute("select count(*) from core.person").fetchone()[0] == 0
