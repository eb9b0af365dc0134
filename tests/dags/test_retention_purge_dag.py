"""retention_purge run with dag.test() on twelve fiscal years of history: a
small plan goes through on its own; a large one waits in Airflow's
human-in-the-loop (Required Actions) until someone answers, through the same
function the REST API's endpoint runs: a different user's approval lets it
proceed, the requester's own is refused and nothing is deleted."""

from __future__ import annotations

import threading
import time

import pendulum
import psycopg
import pytest

import history
from kenshin.governance import retention
from kenshin.platform import config

pytestmark = pytest.mark.dag

AS_OF = pendulum.datetime(2026, 12, 5, 2, tz="Asia/Tokyo")   # the run of December 5 purges as of that day


@pytest.fixture
def purge_dag(db_url, airflow_db, inbox, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        history.write(conn, inbox.parent)
    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN", db_url.replace("postgresql://postgres@", "postgres://postgres:x@"))
    return DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "retention_purge.py")).get_dag("retention_purge")


def _purge_runs(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select state, requested_by, approved_by, planned_rows, deleted_rows "
                            "from ops.purge_run order by run_id").fetchall()


def _screenings(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("select count(*) from core.screening").fetchone()[0]


def test_a_plan_under_the_threshold_is_purged_verified_and_logged(purge_dag, db_url):
    run = purge_dag.test(logical_date=AS_OF)
    assert run.state == "success"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["approve"] == "skipped" and states["under_threshold"] == "success"
    assert states["verify"] == states["record"] == "success"
    [(state, requester, approver, planned, deleted)] = _purge_runs(db_url)
    assert (state, requester, approver) == ("verified", "dag_test", None)
    assert deleted == planned > 0


def _respond_when_waiting(dag_id: str, user: str, option: str, seen: dict, url: str) -> None:
    """Wait until the approval task asks, note what the database held then, and answer as `user`."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    class Staff:
        def get_id(self) -> str:
            return user

        def get_name(self) -> str:
            return user

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with create_session() as session:
            # the metadata database is the session's: other tests' runs of the DAG are there too
            ti = session.query(TaskInstance).filter_by(dag_id=dag_id, task_id="approve",
                                                       state=TaskInstanceState.AWAITING_INPUT).one_or_none()
            if ti is not None:
                seen.update(runs=_purge_runs(url), screenings=_screenings(url), run_id=ti.run_id)
                update_hitl_detail(dag_id=dag_id, dag_run_id=ti.run_id, task_id="approve",
                                   update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option]),
                                   user=Staff(), session=session)
                return
        time.sleep(0.5)
    seen["timeout"] = True


def _run_with_answer(dag, url: str, user: str, option: str = "Approve"):
    seen: dict = {}
    answer = threading.Thread(target=_respond_when_waiting, args=(dag.dag_id, user, option, seen, url), daemon=True)
    answer.start()
    run = dag.test(logical_date=AS_OF)
    answer.join(timeout=5)
    assert "timeout" not in seen, "the approval task never asked"
    return run, seen


@pytest.fixture
def large_plans(monkeypatch, db_url):
    policy = {**config.load("retention"), "purge": {"approval_threshold_rows": 100, "batch_rows": 1000}}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    # the staff members behind two Airflow users (dag.test() runs as `dag_test`)
    with psycopg.connect(db_url) as conn:
        conn.execute("insert into ops.staff_member (staff_id, airflow_user) values ('staff02', 'staff02'), "
                     "('dag_test', 'dag_test')")


def test_a_large_plan_waits_for_approval_and_proceeds_once_another_user_approves(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, seen = _run_with_answer(purge_dag, db_url, "staff02")
    # while it waited: planned, nothing deleted
    [(state, requester, approver, planned, deleted)] = seen["runs"]
    assert (state, requester, approver, deleted) == ("planned", "dag_test", None, 0) and planned > 100
    assert seen["screenings"] == before
    assert run.state == "success"
    [(state, requester, approver, planned, deleted)] = _purge_runs(db_url)
    assert (state, requester, approver) == ("verified", "dag_test", "staff02")
    assert deleted == planned
    assert _screenings(db_url) < before


def test_the_requester_may_not_approve_their_own_purge(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, _ = _run_with_answer(purge_dag, db_url, "dag_test")
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["approve"] == "failed" and states["execute"] == "upstream_failed"
    [(state, _, approver, _, deleted)] = _purge_runs(db_url)
    assert (state, approver, deleted) == ("planned", None, 0)   # still waiting for a proper approver
    assert _screenings(db_url) == before


def test_an_airflow_user_who_is_no_registered_staff_member_cannot_approve(purge_dag, db_url, large_plans):
    before = _screenings(db_url)
    run, _ = _run_with_answer(purge_dag, db_url, "admin")
    assert run.state == "failed"
    [(state, _, approver, _, deleted)] = _purge_runs(db_url)
    assert (state, approver, deleted) == ("planned", None, 0)
    assert _screenings(db_url) == before
