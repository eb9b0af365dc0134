"""Airflow-facing glue for kenshin (`kenshin` itself never imports Airflow).

- `assets`: the Assets DAGs publish and are scheduled on;
- `policy`: owner, retries, failure callback, time zone, start date, gate retries;
- `periods`: the period a run stands for (data interval, run_after or `as_of`);
- `connection`: the warehouse connection as a libpq URL;
- `failure`: the failure callback and the error text it may show;
- `ingest_dag`: the inbox-ingestion DAGs built from a spec;
- `dbt_group`: the dbt project as a Cosmos task group;
- `approval`: the four-eyes approval of a purge (human-in-the-loop);
- `operations_view`: the operations page's FastAPI app (plugin `screening_operations`).

Nothing here touches the database at import time. `plugins/.airflowignore`
keeps Airflow's plugin manager out of this package: it is imported as a
package by DAGs and the UI plugin, never walked as plugin files.
"""
