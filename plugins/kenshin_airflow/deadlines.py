"""Deadline alerts (締切の通知): a run of `registry_sync` or `clinic_ingest` not
done some time after it was due sends ONE alert through the project's
channels (kenshin_airflow.notify: the log, e-mail and chat), naming the
DAG, the run, how late it is and what to do next; never personal data.

Airflow's Deadline Alerts do the watching: the DAG declares a `DeadlineAlert`
(reference: the moment the run was due, interval: alerts.yaml `deadlines`); the
scheduler records the deadline when it creates the run, and once it has passed
with the run not successful it queues `alert_missed_deadline` for the triggerer,
which imports it from this module (the plugins folder is on every component's
path). A run that succeeds in time has its deadline removed; the alert never
stops the run.

Why a reference of our own (`DagRunDueDeadline`, registered by the plugin
`kenshin_deadlines`) rather than Airflow's: the logical date of an interval
timetable is the START of the period a run closes (a month before a monthly
run starts, none at all for a manual run), and the queued time moves when a
task is cleared, which Airflow 3.3 cannot do for such a deadline (clearing
fails with "TypeError: unsupported type for timedelta seconds component: dict",
apache/airflow#70368). `run_after` is when the run was due: the end of the
data interval for a scheduled run, the click on Trigger for a manual one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any
from urllib.parse import quote

from airflow.sdk import AsyncCallback, BaseDeadlineReference, DeadlineAlert

log = logging.getLogger("kenshin.alerts")


class DagRunDueDeadline(BaseDeadlineReference):
    """The moment a run was due (予定時刻): its `run_after`. Evaluated by the
    scheduler when it creates the run; never moved by a clear or a late queue."""

    # what the scheduler must pass to `_evaluate_with` (it offers dag_id and run_id)
    required_kwargs = {"dag_id", "run_id"}

    def _evaluate_with(self, *, session, dag_id: str, run_id: str, **kwargs) -> dt.datetime | None:
        from airflow.models import DagRun
        from sqlalchemy import select

        return session.scalar(select(DagRun.run_after).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))


def let_dag_test_finish() -> None:
    """Work around apache/airflow#73428 (Airflow 3.3.2; fix proposed in #73430):
    `dag.test()` of a DAG with a deadline crashes once its run has succeeded,
    because its in-memory copy of the DAG holds the encoded alerts where the
    scheduler's holds their ids, and `DeadlineAlert.get_by_id` is handed the
    former. An encoded alert is answered with an unsaved model of itself; an
    id (the scheduler's, the API's case) goes to Airflow's lookup unchanged.

    Called only by what runs DAGs with `dag.test()` (the tests' conftest and
    `make demo`'s tools/demo.py): the scheduler, workers and api-server of a
    deployment run Airflow unpatched. Remove once the Airflow in uv.lock
    carries the fix."""
    try:
        from airflow.models.deadline_alert import DeadlineAlert as DeadlineAlertModel
    except ImportError:  # a Task SDK-only worker never runs dag.test()
        return
    lookup = DeadlineAlertModel.get_by_id
    if getattr(lookup, "kenshin_workaround", False):
        return

    def get_by_id(deadline_alert_id, *args, **kwargs):
        if isinstance(deadline_alert_id, dict):
            data = deadline_alert_id.get("__var", deadline_alert_id)
            return DeadlineAlertModel(name=data.get("name"), reference=data["reference"],
                                      interval=data["interval"], callback_def=data["callback"])
        return lookup(deadline_alert_id, *args, **kwargs)

    get_by_id.kenshin_workaround = True
    DeadlineAlertModel.get_by_id = staticmethod(get_by_id)


def deadline_alerts(dag_id: str) -> list[DeadlineAlert]:
    """The DAG's deadline (alerts.yaml `deadlines`), or none when not configured."""
    from kenshin.platform import alerts

    minutes = alerts.deadline_minutes(dag_id)
    if minutes is None:
        return []
    return [DeadlineAlert(reference=DagRunDueDeadline(), interval=dt.timedelta(minutes=minutes),
                          callback=AsyncCallback(alert_missed_deadline,
                                                 kwargs={"finish_within_minutes": minutes}),
                          name=f"{dag_id} done within {minutes} min of its due time")]


def _moment(value: Any) -> dt.datetime | None:
    """A datetime from the callback's context (a datetime or its ISO text, by how it travelled)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _duration(delta: dt.timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def deadline_message(context: dict, finish_within_minutes: int, now: dt.datetime | None = None) -> tuple[str, str]:
    """Subject and text of the alert, from the context Airflow gives a deadline
    callback (`dag_run`: the run as the REST API shows it; `deadline`: its time).
    Only the DAG, run id, state and times are read: a run's `conf` and `note` are not."""
    from kenshin.platform import alerts, vocabulary
    from kenshin_airflow.policy import ui_base_url

    run = context.get("dag_run") or {}
    dag_id, run_id = run.get("dag_id", "?"), run.get("dag_run_id") or run.get("run_id") or "?"
    tz = vocabulary.business_tz()
    deadline = _moment((context.get("deadline") or {}).get("deadline_time"))
    due = _moment(run.get("run_after"))
    now = now or dt.datetime.now(dt.UTC)

    def local(moment: dt.datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "?"

    late = f"{_duration(now - deadline)} late" if deadline else "late"
    lines = [f"run: {dag_id} {run_id}, {run.get('state', '?')}; due to start {local(due)}, to finish by "
             f"{local(deadline)} (within {finish_within_minutes} min, alerts.yaml deadlines), now {late}",
             f"next: {alerts.next_step('deadline')}",
             f"run page: {ui_base_url().rstrip('/')}/dags/{dag_id}/runs/{quote(str(run_id), safe='')}"]
    return f"[kenshin] {dag_id} not done by its deadline ({late})", "\n".join(lines)


def done_in_time(context: dict) -> bool:
    """Whether the run succeeded by its deadline. The scheduler removes such a
    run's deadline when it succeeds; `dag.test()` does not (Airflow 3.3.2), so a
    scheduler later started on the same metadata database (the demo's) would
    otherwise alert for runs that were never late."""
    run = context.get("dag_run") or {}
    ended, deadline = _moment(run.get("end_date")), _moment((context.get("deadline") or {}).get("deadline_time"))
    return run.get("state") == "success" and ended is not None and deadline is not None and ended <= deadline


async def alert_missed_deadline(finish_within_minutes: int, context: dict | None = None) -> list[str]:
    """The DeadlineAlert's callback (run by the triggerer): ONE alert through the
    channels; returns the channels that took it (shown as the callback's output),
    none for a run that was done in time."""
    from kenshin_airflow import notify

    if done_in_time(context or {}):
        log.info("deadline of a run done in time: no alert")
        return []
    subject, text = deadline_message(context or {}, finish_within_minutes)
    # the notifiers block (SMTP, HTTP): off the triggerer's event loop
    return await asyncio.to_thread(notify.send, subject, text, context)
