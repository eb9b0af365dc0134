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

Gate tasks are never retried. Replay by hand: `kenshin marts build`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pendulum
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from kenshin.reporting.marts import DBT_PROJECT, MANIFEST
from kenshin_airflow import (
    CONN_ID,
    DEFAULT_ARGS,
    GATE_RETRIES,
    PERSON_LEDGER,
    SCREENINGS,
    STATS,
    TIMEZONE,
)


@dag(
    schedule=(PERSON_LEDGER | SCREENINGS),
    start_date=pendulum.datetime(2026, 4, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "marts", "dbt", "stats"],
    doc_md=__doc__,
)
def marts_build():
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT, manifest_path=MANIFEST, install_dbt_deps=False),
        profile_config=ProfileConfig(
            profile_name="kenshin", target_name="warehouse",
            profile_mapping=PostgresUserPasswordProfileMapping(conn_id=CONN_ID, profile_args={"schema": "marts"})),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER,
                                         dbt_executable_path=str(Path(sys.executable).parent / "dbt")),
        # every dbt task is part of the gate: a failure is final (no retries)
        operator_args={"retries": GATE_RETRIES},
    )

    @task(outlets=[STATS], retries=GATE_RETRIES)
    def publish_stats() -> list[str]:
        """Move the tested statistics into `stats` in one transaction."""
        from kenshin.reporting.marts import publish_stats as publish
        from kenshin_airflow import warehouse_url

        return publish(warehouse_url())

    @task
    def render_charts() -> list[str]:
        """Statistics pictures of the latest published fiscal year (PNG + HTML)."""
        from kenshin.reporting import charts
        from kenshin_airflow import warehouse_url

        result = charts.render(None, warehouse_url())
        return [str(p) for p in result.files] if result else []

    dbt >> publish_stats() >> render_charts()


marts_build()
