"""Runs as operators start them: the UI's Trigger button, the REST API and
`airflow dags trigger` create a run with no logical date and no data interval
(Airflow 3). `dag.test(logical_date=None, run_after=...)` makes exactly that
run. Each DAG that takes a period stands for `run_after`'s business day, or
for the `as_of` day given on the Trigger form, by the same rules as the
scheduled run of that day (kenshin_airflow.periods)."""

from __future__ import annotations

import datetime as dt

import pendulum
import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening, jumin_file, people

pytestmark = pytest.mark.dag

TOKYO = "Asia/Tokyo"


def get_dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags" / f"{dag_id}.py")).get_dag(dag_id)


def manual(dag_id: str, run_after: pendulum.DateTime, **conf):
    """A run as the Trigger button makes it: no logical date, no data interval."""
    run = get_dag(dag_id).test(logical_date=None, run_after=run_after, run_conf=conf or None)
    assert run.logical_date is None and run.data_interval_end is None
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}
    return run


@pytest.fixture
def warehouse(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    airflow_connections(db_url)
    return db_url


def test_a_manual_registry_run_loads_what_is_due_on_its_day_and_names_each_task_by_file(warehouse, inbox):
    ps = people(5)
    jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps])
    jumin_file(inbox, "20261009", "diff", [])  # dated the run's own day: not due yet (as scheduled)
    run = manual("registry_sync", pendulum.datetime(2026, 10, 9, 14, 30, tz=TOKYO))
    ingest = [ti for ti in run.get_task_instances() if ti.task_id == "ingest"]
    assert [(ti.rendered_map_index, ti.state) for ti in ingest] == [("jumin_20261001_full.csv", "success")]
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select file_name, status from ops.load_manifest").fetchall() == [
            ("jumin_20261001_full.csv", "loaded")]


def test_as_of_makes_a_manual_run_stand_for_an_earlier_day(warehouse, inbox):
    jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in people(3)])
    run = manual("registry_sync", pendulum.datetime(2026, 10, 9, 14, tz=TOKYO), as_of="2026-10-01")
    # nothing is due before 10-01: the mapped ingest expands to no file
    assert [ti.state for ti in run.get_task_instances() if ti.task_id == "ingest"] == ["skipped"]
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select count(*) from ops.load_manifest").fetchone()[0] == 0
    run = manual("registry_sync", pendulum.datetime(2026, 10, 9, 14, tz=TOKYO), as_of="2026-10-02")
    assert [ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == "ingest"] == [
        "jumin_20261001_full.csv"]


def test_manual_clinic_and_linkage_runs_take_their_day_from_run_after(warehouse, inbox):
    manual("clinic_ingest", pendulum.datetime(2026, 11, 12, 9, tz=TOKYO))
    run = manual("transferee_linkage", pendulum.datetime(2026, 11, 12, 9, tz=TOKYO))
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["send_requests"] == states["delete_old_responses"] == "success"


def test_a_manual_rerun_of_a_past_month_writes_the_same_provision_copies_as_its_scheduled_run(warehouse, inbox):
    with psycopg.connect(warehouse) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, dt.date(1980, 5, 5))
        insert_screening(conn, "0000000001", "07", dt.date(2026, 10, 5), 1)
    out = inbox.parent / "outbox" / "fukuhon" / "fukuhon_20261031.csv"
    run = get_dag("provision_copies").test(logical_date=pendulum.datetime(2026, 11, 1, 3, tz=TOKYO))
    assert run.state == "success"
    scheduled = out.read_bytes()
    out.unlink()
    manual("provision_copies", pendulum.datetime(2026, 12, 3, 10, tz=TOKYO), as_of="2026-11-01")
    assert out.read_bytes() == scheduled
    # and without as_of a manual run on Dec 3 exports the month that ended before it (November)
    manual("provision_copies", pendulum.datetime(2026, 12, 3, 10, tz=TOKYO))
    assert (out.parent / "fukuhon_20261130.csv").exists()


def test_a_manual_reminders_run_sends_the_letters_of_its_day(warehouse):
    run = manual("reminders", pendulum.datetime(2026, 10, 1, 9, tz=TOKYO))
    states = {ti.rendered_map_index: ti.state for ti in run.get_task_instances()}
    assert states["INVITE"] == "success" and states["VOUCHER"] == "skipped"  # October 1: invitations only


def test_a_manual_purge_runs_as_of_its_day(warehouse):
    manual("retention_purge", pendulum.datetime(2026, 12, 3, 10, tz=TOKYO))
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select as_of, state from ops.purge_run").fetchall() == [(dt.date(2026, 12, 3),
                                                                                       "verified")]
