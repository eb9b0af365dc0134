"""Every DAG imports, parses fast and follows the house policy (owner, tags,
docs, Asia/Tokyo, no catch-up, one active run for writers, retries except on gates)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.dag

WRITERS = {"registry_sync", "clinic_ingest", "marts_build", "reminders", "transferee_linkage", "provision_copies",
           "retention_purge"}
# Tasks that run a data-quality gate (per DAG): no retries on gates.
GATE_TASKS = {("marts_build", "publish_stats"), ("retention_purge", "approve"), ("retention_purge", "verify")}
# Task groups all of whose tasks are part of a gate (the dbt build and its tests).
GATE_GROUPS = {("marts_build", "dbt.")}
# File loads: retried when lost with a worker, their gate's rejection final all
# the same (AlertedFailure, an AirflowFailException: test_registry_sync shows
# a rejected file failing at its first try; tests/scaleout a killed worker's
# load retried on the other).
LOAD_TASKS = {("registry_sync", "ingest"), ("clinic_ingest", "ingest"), ("transferee_linkage", "ingest")}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


def test_every_dag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) >= {"registry_sync", "clinic_ingest", "marts_build", "annual_report", "reminders",
                                   "transferee_linkage", "provision_copies", "retention_purge"}


def test_parse_time_per_file_under_one_second(dagbag, capsys):
    stats = dagbag.dagbag_stats
    assert stats, "no files parsed"
    with capsys.disabled():
        for s in stats:
            print(f"\nDAG parse {s.file}: {s.duration.total_seconds():.3f} s ({s.dag_num} DAG)")
    slow = {s.file: s.duration.total_seconds() for s in stats if s.duration.total_seconds() >= 1.0}
    assert slow == {}


def test_gate_tasks_exist(dagbag):
    """The gate list names real tasks, so the retries-0 rule below is exercised."""
    for dag_id, task_id in GATE_TASKS | LOAD_TASKS:
        assert dagbag.dags[dag_id].has_task(task_id)
    for dag_id, prefix in GATE_GROUPS:
        assert any(t.startswith(prefix) for t in dagbag.dags[dag_id].task_ids)


def test_policy(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.tags and "kenshin" in dag.tags, dag_id
        assert dag.catchup is False, dag_id
        assert str(dag.timezone.name) == "Asia/Tokyo", dag_id
        if dag_id in WRITERS:
            assert dag.max_active_runs == 1, dag_id
        for t in dag.tasks:
            assert t.owner == "kenshin-data-engineering", (dag_id, t.task_id)
            assert t.on_failure_callback, (dag_id, t.task_id)
            in_gate_group = any(d == dag_id and t.task_id.startswith(g) for d, g in GATE_GROUPS)
            if (dag_id, t.task_id) in GATE_TASKS or in_gate_group:
                assert t.retries == 0, (dag_id, t.task_id)
            else:
                assert t.retries >= 1, (dag_id, t.task_id)


# Runs that must finish by a deadline (alerts.yaml `deadlines`): the monthly
# clinic load before the review-queue staff start, the daily registry sync
# before the counters open.
DEADLINE_DAGS = {"registry_sync", "clinic_ingest"}


def test_deadlines_are_the_configured_ones_and_shorter_than_the_period(dagbag):
    import datetime as dt

    from croniter import croniter

    from kenshin.platform import config
    from kenshin_airflow.deadlines import DagRunDueDeadline
    from kenshin_airflow.policy import START_DATE

    configured = config.load("alerts")["deadlines"]
    assert DEADLINE_DAGS <= set(configured) <= set(dagbag.dag_ids)   # a misspelt DAG id would alert for nothing
    for dag_id, dag in dagbag.dags.items():
        if dag_id not in configured:
            assert not dag.deadline, dag_id
            continue
        [alert] = dag.deadline
        assert isinstance(alert.reference, DagRunDueDeadline), dag_id
        assert alert.interval == dt.timedelta(minutes=configured[dag_id]["finish_within_minutes"]), dag_id
        assert alert.callback.path == "kenshin_airflow.deadlines.alert_missed_deadline", dag_id
        # the next scheduled run must not be due before the alert
        fires = croniter(dag.timetable.expression, START_DATE)
        times = [fires.get_next(dt.datetime) for _ in range(25)]
        assert alert.interval < min(b - a for a, b in zip(times, times[1:], strict=False)), dag_id
