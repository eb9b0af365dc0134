"""
### marts_build — 経年管理・統計の構築 (dbt)

Builds the screening history and the statistics from `core` with dbt whenever
the person ledger or the screenings change (Assets published by
`registry_sync` and `clinic_ingest`). The dbt project is rendered by Cosmos
from its manifest (built at install/test time: `kenshin marts parse`), one
task per seed and model, then every dbt test as the gate (disclosure control,
reconciliation with core, uniqueness ...). Statistics are built in
`stats_build`; only when the whole build and all its tests passed does
`publish_stats` move them into `stats`, in one transaction. A failing test
stops everything after it and the published statistics stay as they were.
`render_charts` then draws the statistics pictures (統計グラフ) of the latest
published fiscal year from `stats` only: PNG and one HTML page under
`reports/charts/FY{year}/` (`kenshin report charts --fiscal-year YYYY`).
Beside the build, `check_freshness` runs `dbt source freshness` and sends one
warning through the alert channels when a source is late (no registry file for
days, no clinic file for over a month: the rules are in the sources' YAML); it
never stops the build.

Gate tasks are never retried. Replay by hand: `kenshin marts build`.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from kenshin_airflow.assets import PERSON_LEDGER, SCREENINGS, STATS
from kenshin_airflow.dbt_group import dbt_task_group
from kenshin_airflow.policy import DEFAULT_ARGS, GATE_RETRIES, START_DATE


@dag(
    schedule=(PERSON_LEDGER | SCREENINGS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "marts", "dbt", "stats"],
    doc_md=__doc__,
)
def marts_build():
    dbt = dbt_task_group()

    @task(outlets=[STATS], retries=GATE_RETRIES)
    def publish_stats() -> list[str]:
        """Move the tested statistics into `stats` in one transaction."""
        from kenshin.reporting.marts import publish_stats as publish
        from kenshin_airflow.connection import DBT_CONN_ID, warehouse_url

        # as the owner of the statistics (the dbt login): it replaces their tables
        return publish(url=warehouse_url(DBT_CONN_ID))

    @task
    def render_charts() -> list[str]:
        """Statistics pictures of the latest published fiscal year (PNG + HTML)."""
        from kenshin.reporting import charts
        from kenshin_airflow.connection import warehouse_url

        result = charts.render(None, url=warehouse_url())
        return [str(p) for p in result.files] if result else []

    @task
    def check_freshness() -> list[dict]:
        """Sources late against their freshness (鮮度): one warning, never a stop."""
        from kenshin.reporting.marts import late_sources_alert, source_freshness
        from kenshin_airflow import notify
        from kenshin_airflow.connection import DBT_CONN_ID, warehouse_url

        results = source_freshness(url=warehouse_url(DBT_CONN_ID))
        message = late_sources_alert(results)
        if message:
            notify.send(*message)
        return results

    dbt >> publish_stats() >> render_charts()
    check_freshness()


marts_build()
