"""Inbox ingestion DAGs built from a configuration object (one shape, several sources).

`registry_sync` and `clinic_ingest` are the same wiring: find the inbox files
due for the run's data interval, load each through `kenshin.ingest.inbox` (one mapped
task per file, in file order; a file the GX gate rejects fails for good, a load
lost with its worker is retried), then
publish an Asset with the run's totals. Only the schedule, the sources, the
Asset and what a rejected file means for the rest differ; they are the spec.
A DAG listed under alerts.yaml `deadlines` alerts when a run is not finished in
time (kenshin_airflow.deadlines).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from airflow.sdk import Asset, CronDataIntervalTimetable, dag, task

from kenshin_airflow.connection import warehouse_url
from kenshin_airflow.deadlines import deadline_alerts
from kenshin_airflow.failure import AlertedFailure
from kenshin_airflow.periods import PARAMS, run_day, run_moment
from kenshin_airflow.policy import DEFAULT_ARGS, START_DATE, TIMEZONE


@dataclass(frozen=True)
class IngestDagSpec:
    """What distinguishes one inbox-ingestion DAG from another."""

    dag_id: str
    cron: str                        # in Asia/Tokyo, over the data interval it closes
    sources: tuple[str, ...]         # kenshin source names (file families)
    asset: Asset                     # published when the run's loads are done
    publish_task_id: str
    doc_md: str
    tags: tuple[str, ...] = ()
    # False: any rejected file holds the Asset back (the registry applies in
    # order). True: the other files' loads are published and the rejected file's
    # own task fails (alert, no retry) - clinic files are independent.
    publish_despite_rejections: bool = False
    # Files loaded side by side (mapped tasks at once); 1 keeps file order.
    parallel_files: int = 1
    # Daily steps after the loads, in order: (task_id, function); each function
    # takes the run's business date (Asia/Tokyo) and `url=` the warehouse URL.
    then: tuple[tuple[str, Callable[..., dict]], ...] = ()
    start_date: dt.datetime = START_DATE


def build_ingest_dag(spec: IngestDagSpec):
    @dag(
        dag_id=spec.dag_id,
        schedule=CronDataIntervalTimetable(spec.cron, timezone=TIMEZONE),
        start_date=spec.start_date,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["kenshin", *spec.tags],
        doc_md=spec.doc_md,
        params=PARAMS,
        deadline=deadline_alerts(spec.dag_id),
    )
    def ingest_dag():
        @task
        def find_due_files(data_interval_end=None, dag_run=None, params=None) -> list[str]:
            """Files of this interval (and any late ones) not yet processed."""
            from kenshin.ingest.inbox import due_files

            until = run_moment(data_interval_end=data_interval_end, dag_run=dag_run, params=params)
            return due_files(spec.sources, until, url=warehouse_url())

        # In the order find_due_files gives (each task first loads any earlier
        # due file), `parallel_files` at a time. The task runs the GX gate: a
        # rejection fails it for good (AlertedFailure); a load lost with its
        # worker is retried (policy: file loads), once loaded always once.
        # Each mapped task is named by its file in the UI (not [0] ... [389]).
        @task(max_active_tis_per_dagrun=spec.parallel_files, map_index_template="{{ file_name }}")
        def ingest(path: str, files: list[str], run_id=None) -> dict:
            """Gate and load one file (after any earlier due file); a rejected file
            fails the task, final (never retried)."""
            from airflow.sdk import get_current_context

            get_current_context()["file_name"] = path.rsplit("/", 1)[-1]
            from kenshin.ingest.inbox import ingest_in_order
            from kenshin.ingest.rejections import rejection_message

            url = warehouse_url()
            result = ingest_in_order(list(files), path, run_id=run_id, url=url)
            if result.status == "rejected":
                # the alert names the file and the failed expectations or line and field
                raise AlertedFailure(rejection_message(result, url=url))
            return result.summary()

        @task(task_id=spec.publish_task_id, outlets=[spec.asset],
              trigger_rule="all_done" if spec.publish_despite_rejections else "all_success")
        def publish(results) -> dict:
            """Publish the Asset with this run's counts (files that loaded)."""
            from kenshin.ingest.loading import run_totals

            # Index by position: iterating the lazy XCom sequence probes one past
            # the end and logs a spurious "XCom not found" error. A failed
            # mapped task has no XCom: it is skipped here and alerted on its own.
            loaded = []
            for i in range(len(results)):
                try:
                    value = results[i]
                except (KeyError, IndexError):
                    continue
                if value is not None:
                    loaded.append(value)
            return run_totals(loaded)

        def step(task_id: str, function: Callable[..., dict]):
            @task(task_id=task_id, trigger_rule="all_done")
            def run_step(data_interval_end=None, dag_run=None, params=None) -> dict:
                day = run_day(data_interval_end=data_interval_end, dag_run=dag_run, params=params)
                return function(day, url=warehouse_url())

            return run_step()

        due = find_due_files()
        last = publish(ingest.partial(files=due).expand(path=due))
        for task_id, function in spec.then:
            current = step(task_id, function)
            last >> current
            last = current

    return ingest_dag()
