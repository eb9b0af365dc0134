"""The dbt project as a Cosmos task group (one Airflow task per model and test).

Rendered from the manifest `kenshin marts parse` writes at install and test
time (no `dbt ls` when a DAG file is parsed); dbt runs in the worker's own
Python (the dbt runner, no subprocess) with the profile mapped from the
`kenshin_dbt` connection (the login working as kenshin_owner). Every dbt task
is part of the gate: a failure is final.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior
from cosmos.profiles import PostgresUserPasswordProfileMapping

from kenshin.reporting.marts import DBT_PROJECT, MANIFEST
from kenshin_airflow.connection import DBT_CONN_ID
from kenshin_airflow.policy import GATE_RETRIES


def dbt_task_group(group_id: str = "dbt") -> DbtTaskGroup:
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT, manifest_path=MANIFEST, install_dbt_deps=False),
        profile_config=ProfileConfig(
            profile_name="kenshin", target_name="warehouse",
            profile_mapping=PostgresUserPasswordProfileMapping(conn_id=DBT_CONN_ID, profile_args={"schema": "marts"})),
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.AFTER_ALL),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER,
                                         dbt_executable_path=str(Path(sys.executable).parent / "dbt")),
        operator_args={"retries": GATE_RETRIES},
    )
