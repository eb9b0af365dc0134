"""The task policy every kenshin DAG shares (telemetry-airflow style: every DAG
has an owner, tags, retries, failure alerts, docs; tests/dags/test_dag_policy.py
holds them to it): the owner, retries and the failure callback, the business
time zone, the start date, and the rule that a gate is never retried.
"""

from __future__ import annotations

import pendulum

from kenshin.platform import vocabulary
from kenshin_airflow.failure import notify_failure

# Schedules and business dates (platform.yaml `time_zone`, Asia/Tokyo).
TIMEZONE = vocabulary.business_tz().key
OWNER = "kenshin-data-engineering"
# The first data interval any DAG knows of (FY2026). catchup is off everywhere.
START_DATE = pendulum.datetime(2026, 4, 1, tz=TIMEZONE)

# The wait between tries is Airflow's own setting, [core] default_task_retry_delay
# (300 s unless the deployment says otherwise; the scale-out test shortens it).
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "on_failure_callback": notify_failure,
}


def ui_base_url() -> str:
    """Where the Airflow UI is, for links in alerts: `[api] base_url`, else the
    same default Airflow's own log links use (the api-server on this machine)."""
    from airflow.providers.common.compat.sdk import conf

    return conf.get("api", "base_url", fallback=None) or "http://localhost:8080/"


# Tasks that run a data-quality gate: a failed gate is final, never retried
# (ARCHITECTURE.md). Their retries are 0; a rerun after a fix is a manual clear,
# which is safe because loads are idempotent.
GATE_RETRIES = 0
# A file load's task (ingest_dag) keeps the default retries: its gate's verdict
# is final all the same (a rejected file raises AlertedFailure, an
# AirflowFailException, which is never retried), while a load lost with its
# worker (a killed machine) runs again on another, finding the file loaded
# (the manifest) or loading it, once.
