"""
### reminders — 受診券・受診勧奨・精検受診勧奨 (letters to residents)

Every day at 08:00 Asia/Tokyo, one task per notice kind
(`include/config/notices.yaml`):

- `VOUCHER` (受診券 / 無料クーポン) and `INVITE` (受診勧奨) run on their send day of
  the fiscal year (April 1 and October 1 by default); VOUCHER also every
  `mid_year_every_days` after it, for whoever became a target since (a move-in,
  a new public-assistance recipient); other days they skip;
- `FOLLOWUP` (精検受診勧奨) and `FOLLOWUP2` (精検再勧奨) run every day and pick the
  要精検 screenings whose follow-up is due that day.

Each writes its letters into the notice history and the files under
`notices/`: the print vendor's CSV (CP932) and PDF, and the manual list of
protection-flagged persons (never in the vendor's files). A rerun for the same
day adds nothing: a letter never goes twice for the same cause.

By hand: `kenshin notices run --kind FOLLOWUP --as-of 2027-01-15 [--dry-run]`.
"""

from __future__ import annotations

from airflow.sdk import CronTriggerTimetable, dag, task

from kenshin.platform.vocabulary import notice_kinds
from kenshin_airflow.periods import PARAMS, run_day
from kenshin_airflow.policy import DEFAULT_ARGS, START_DATE, TIMEZONE


@dag(
    schedule=CronTriggerTimetable("0 8 * * *", timezone=TIMEZONE),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "notices"],
    doc_md=__doc__,
    params=PARAMS,
)
def reminders():
    @task(map_index_template="{{ kind }}")
    def send(kind: str, data_interval_end=None, dag_run=None, params=None) -> dict:
        """One kind's letters for the run's day (yearly kinds only on their send day)."""
        from airflow.sdk.exceptions import AirflowSkipException

        from kenshin.letters import notices
        from kenshin_airflow.connection import warehouse_url

        day = run_day(data_interval_end=data_interval_end, dag_run=dag_run, params=params)
        not_today = notices.due(kind, day)
        if not_today:
            raise AirflowSkipException(not_today)
        return notices.run(kind, day, url=warehouse_url())

    send.expand(kind=list(notice_kinds()))


reminders()
