"""
### provision_copies — 副本の登録 (the city's records for other municipalities)

On the 1st of every month at 03:00 Asia/Tokyo, writes `outbox/fukuhon/fukuhon_YYYYMMDD.csv`
(LAYOUTS.md §7, UTF-8) for the month that ended: the city's own screening
records added or changed since the last export (all of them the first time),
with their detailed-exam outcome, `auto_answer=0` for protection-flagged
persons, nothing past its retention. The integration platform registers the
file on the intermediate server. A rerun of the same month writes the same
bytes (the window of changes is kept in `ops.provision_export`).

By hand: `kenshin provision export --as-of 2026-10-31`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task

from kenshin_airflow.periods import PARAMS, run_day
from kenshin_airflow.policy import DEFAULT_ARGS, START_DATE, TIMEZONE


@dag(
    schedule=CronDataIntervalTimetable("0 3 1 * *", timezone=TIMEZONE),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "linkage", "export"],
    doc_md=__doc__,
    params=PARAMS,
)
def provision_copies():
    @task
    def export(data_interval_end=None, dag_run=None, params=None) -> dict:
        """The month that ended before this run."""
        from kenshin.exchange import provision_copies as provision
        from kenshin_airflow.connection import warehouse_url

        day = run_day(data_interval_end=data_interval_end, dag_run=dag_run, params=params)
        return provision.run_month_before(day, url=warehouse_url())

    export()


provision_copies()
