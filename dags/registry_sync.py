"""
### registry_sync — 住民記録・生活保護・国保の取込

Keeps the person ledger (宛名台帳) current. Daily at 06:00 Asia/Tokyo it loads the
inbox files due for the run's data interval: the resident registry diff (and the
monthly full snapshot when present), and the monthly public assistance (`seiho`)
and NHI (`kokuho`) lists. One mapped task per file, in file order; each file goes
through the shared ingestion mechanism (manifest, envelope check, GX gate,
quarantine, promotion in one transaction). A rejected file fails its task
without retries and leaves core untouched; its reason is in `ops.load_manifest`.

On success the `core.person_ledger` Asset is published for downstream DAGs; a
rejected file holds it back (the registry applies in date order).

Replay by hand: `kenshin ingest --report out.jsonl FILE...` runs the same code.
"""

from __future__ import annotations

from kenshin_airflow.assets import PERSON_LEDGER
from kenshin_airflow.ingest_dag import IngestDagSpec, build_ingest_dag

registry_sync = build_ingest_dag(IngestDagSpec(
    dag_id="registry_sync",
    cron="0 6 * * *",
    sources=("jumin", "seiho", "kokuho"),
    asset=PERSON_LEDGER,
    publish_task_id="publish_ledger",
    doc_md=__doc__,
    tags=("registry", "ingest"),
))
