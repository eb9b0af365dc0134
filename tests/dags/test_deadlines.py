"""Deadline alerts (締切の通知) of registry_sync and clinic_ingest, through Airflow's
own machinery against the metadata database: the DAG as the dag-processor stores
it, a run created as the scheduler creates it (Airflow records its deadline
from alerts.yaml, through the plugin's reference), the scheduler's step for
deadlines that have passed (the callback queued as a trigger), and the trigger
the triggerer would run, which sends the alert to chat (Apprise, configured by the
connection kenshin_alert_chat, posting to a JSON webhook on loopback). The run is one that was
due earlier than its deadline allows; nothing of Airflow is replaced."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from alert_sinks import chat_connection, webhook_server
from kenshin.platform import config

pytestmark = pytest.mark.dag


def _stored_dag(dag_id: str):
    """The DAG written to the metadata database as the dag-processor writes it."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.serialized_dag import SerializedDagModel

    from kenshin.platform.db import PROJECT_ROOT

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / f"{dag_id}.py"))
    assert bag.import_errors == {}
    sync_bag_to_db(bag, "dags-folder", None)
    return SerializedDagModel.get_dag(dag_id)


async def _run_trigger(trigger) -> list:
    return [event async for event in trigger.run()]


@pytest.mark.parametrize("dag_id", ["registry_sync", "clinic_ingest"])
def test_a_run_not_done_by_its_deadline_alerts_once_through_the_channels(dag_id, airflow_db, monkeypatch):
    from airflow._shared.module_loading import import_string
    from airflow.models.deadline import Deadline
    from airflow.models.taskinstance import clear_task_instances
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    minutes = config.load("alerts")["deadlines"][dag_id]["finish_within_minutes"]
    dag = _stored_dag(dag_id)
    now = dt.datetime.now(dt.UTC)
    due = now - dt.timedelta(minutes=minutes + 30)   # due (minutes + 30) ago, still queued
    run_id = f"manual__deadline_test_{now:%Y%m%dT%H%M%S%f}"
    with create_session() as session:
        run = dag.create_dagrun(run_id=run_id, logical_date=None, data_interval=None, run_after=due,
                                run_type=DagRunType.MANUAL, triggered_by=DagRunTriggeredByType.TEST,
                                state=DagRunState.QUEUED, session=session)
        session.flush()   # Airflow's sessions do not autoflush
        # Airflow worked out the deadline from the configured interval, through the plugin's reference
        [deadline] = session.query(Deadline).filter_by(dagrun_id=run.id).all()
        assert deadline.deadline_time == due + dt.timedelta(minutes=minutes)
        # an operator clears a task (the advice of every failure alert): the due
        # time does not move, and the clear works (a queued-at deadline breaks
        # it on Airflow 3.3, apache/airflow#70368)
        clear_task_instances(run.get_task_instances(session=session), session)
        session.flush()
        session.refresh(deadline)
        assert deadline.deadline_time == due + dt.timedelta(minutes=minutes)

        # the scheduler's loop: every deadline passed and not yet handled (this run's)
        passed = session.query(Deadline).filter(Deadline.deadline_time < dt.datetime.now(dt.UTC),
                                                ~Deadline.missed, Deadline.dagrun_id == run.id).all()
        assert passed == [deadline]
        deadline.handle_miss(session)
        session.flush()
        callback, trigger_row = deadline.callback, deadline.callback.trigger
        assert trigger_row.classpath == "airflow.triggers.callback.CallbackTrigger"

        # the triggerer: the trigger from its stored class path and kwargs, run to its end
        trigger = import_string(trigger_row.classpath)(**trigger_row.kwargs)
        with webhook_server() as (url, received):
            monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_CHAT", chat_connection(url))
            events = asyncio.run(_run_trigger(trigger))
        for event in events:
            callback.handle_event(event, session)
        assert (callback.state, callback.output) == ("success", ["log", "chat"])
        assert deadline.missed

    assert len(received) == 1
    subject, lines = received[0]["title"], received[0]["message"].splitlines()   # Apprise's JSON
    assert subject == f"[kenshin] {dag_id} not done by its deadline (30 min late)"
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert lines[0] == (f"run: {dag_id} {run_id}, queued; due to start {due.astimezone(tokyo):%Y-%m-%d %H:%M} JST, "
                        f"to finish by {(due + dt.timedelta(minutes=minutes)).astimezone(tokyo):%Y-%m-%d %H:%M} JST "
                        f"(within {minutes} min, alerts.yaml deadlines), now 30 min late")
    assert lines[1].startswith("next: The run goes on; this alert does not stop it.")
    assert lines[2] == f"run page: http://localhost:8080/dags/{dag_id}/runs/{run_id}"
    assert len(lines) == 3   # the DAG, the run, times and advice: nothing from the run's conf or files


def test_a_deadline_that_is_no_positive_number_of_minutes_is_refused(monkeypatch):
    from kenshin.platform import alerts

    for bad in (0, -5, "6h", 1.5, True, None):
        monkeypatch.setattr(alerts, "settings", lambda bad=bad: {"deadlines": {"clinic_ingest": {
            "finish_within_minutes": bad}}})
        with pytest.raises(ValueError, match="deadlines.clinic_ingest.finish_within_minutes"):
            alerts.deadline_minutes("clinic_ingest")
    assert alerts.deadline_minutes("no_such_dag") is None


def test_a_run_done_in_time_sends_nothing(db_url, airflow_db, inbox, airflow_connections, monkeypatch):
    """dag.test() of a run that succeeds well before its deadline: Airflow 3.3.2
    crashed at its end without kenshin_airflow.deadlines' workaround of
    apache/airflow#73428, and leaves the deadline behind (the scheduler removes
    it); should a scheduler handle it later, the callback sends nothing."""
    from airflow._shared.module_loading import import_string
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.deadline import Deadline
    from airflow.utils.session import create_session

    from kenshin.platform.db import PROJECT_ROOT

    airflow_connections(db_url)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "registry_sync.py")).get_dag("registry_sync")
    with webhook_server() as (url, received):
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_CHAT", chat_connection(url))
        run = dag.test()   # a run due now: its deadline is two hours away
        assert run.state == "success"
        with create_session() as session:
            [deadline] = session.query(Deadline).filter_by(dagrun_id=run.id, missed=False).all()
            deadline.handle_miss(session)   # the scheduler's step, whenever it comes
            session.flush()
            trigger_row = deadline.callback.trigger
            events = asyncio.run(_run_trigger(import_string(trigger_row.classpath)(**trigger_row.kwargs)))
            assert [e.payload for e in events][-1] == {"state": "success", "body": []}
    assert received == []
