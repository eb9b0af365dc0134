"""
### annual_report — 地域保健・健康増進事業報告（健康増進編）

Once a year, on July 1 at 07:00 Asia/Tokyo, writes the ministry's tables for
the fiscal year that ended on March 31 (its follow-up block holds the
detailed-exam outcomes of the year before): `reports/FY{year}/chiiki_hoken_{year}.xlsx`
and one CP932 CSV per table (LAYOUTS.md §8), exact counts from
`report.ministry_report_exact`, read as `kenshin_reporter` (each read in
`audit.access_log`). The fiscal year comes from the run's data interval.

By hand: `kenshin report annual --fiscal-year 2025`.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task

from kenshin_airflow.assets import STATS
from kenshin_airflow.periods import PARAMS, run_day
from kenshin_airflow.policy import DEFAULT_ARGS, START_DATE, TIMEZONE


@dag(
    schedule=CronDataIntervalTimetable("0 7 1 7 *", timezone=TIMEZONE),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "stats", "report"],
    doc_md=__doc__,
    params=PARAMS,
)
def annual_report():
    @task(inlets=[STATS])
    def write_report(data_interval_end=None, dag_run=None, params=None) -> list[str]:
        """The tables of the fiscal year that ended before this run."""
        from kenshin.reporting.annual_report import report_fiscal_year, write_annual_report
        from kenshin_airflow.connection import warehouse_url

        year = report_fiscal_year(run_day(data_interval_end=data_interval_end, dag_run=dag_run, params=params))
        return [str(p) for p in write_annual_report(year, url=warehouse_url())]

    write_report()


annual_report()
