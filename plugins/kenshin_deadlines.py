"""Airflow plugin "kenshin_deadlines" (締切): registers the deadline reference
the ingest DAGs' Deadline Alerts count from (kenshin_airflow.deadlines.DagRunDueDeadline,
a run's due time). Airflow finds custom references only through a plugin: the
scheduler, which works out each run's deadline, loads it from here."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from kenshin_airflow.deadlines import DagRunDueDeadline


class KenshinDeadlinesPlugin(AirflowPlugin):
    name = "kenshin_deadlines"
    deadline_references = [DagRunDueDeadline]
