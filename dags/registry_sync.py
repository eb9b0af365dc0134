"""
### registry_sync — 住民記録・生活保護・国保の取込

Keeps the person ledger (宛名台帳) current. Daily at 06:00 Asia/Tokyo it loads the
inbox files due for the run's data interval: the resident registry diff (and the
monthly full snapshot when present), and the monthly public assistance (`seiho`)
and NHI (`kokuho`) lists. One mapped task per file, in file order; each file goes
through the shared ingestion mechanism (manifest, envelope check, GX gate,
quarantine, promotion in one transaction). A rejected file fails its task
without retries and leaves core untouched; its reason is in `ops.load_manifest`.

On success the `core.person_ledger` Asset is published for downstream DAGs.

Replay by hand: `kenshin ingest --report out.jsonl FILE...` runs the same code.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

from kenshin_airflow import DEFAULT_ARGS, GATE_RETRIES, PERSON_LEDGER, TIMEZONE, warehouse_url


@dag(
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2026, 4, 1, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["kenshin", "registry", "ingest"],
    doc_md=__doc__,
)
def registry_sync():
    @task
    def find_due_files(data_interval_end=None) -> list[str]:
        """Files of this interval (and any late ones) not yet processed."""
        from kenshin.inbox import due_files

        return due_files(warehouse_url(), ("jumin", "seiho", "kokuho"), data_interval_end)

    # One file at a time, in the order find_due_files gives: the registry
    # applies in date order. The task runs the GX gate, so it is never retried.
    @task(max_active_tis_per_dagrun=1, retries=GATE_RETRIES)
    def ingest(path: str, files: list[str], run_id=None) -> dict:
        """Gate and load one file (after any earlier due file); a rejected file
        fails the task, final."""
        from airflow.sdk.exceptions import AirflowFailException

        from kenshin.inbox import ingest_in_order

        result = ingest_in_order(warehouse_url(), list(files), path, run_id=run_id)
        if result.status == "rejected":
            raise AirflowFailException(f"{result.file} rejected: {result.reason}")
        return result.summary()

    @task(outlets=[PERSON_LEDGER])
    def publish_ledger(results: list[dict]) -> dict:
        """Publish the person-ledger Asset with this run's counts."""
        # Index by position: iterating the lazy XCom sequence probes one past
        # the end and logs a spurious "XCom not found" error.
        from kenshin.loading import run_totals

        return run_totals([results[i] for i in range(len(results))])

    due = find_due_files()
    publish_ledger(ingest.partial(files=due).expand(path=due))


registry_sync()
