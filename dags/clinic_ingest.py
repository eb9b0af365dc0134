"""
### clinic_ingest — 検診結果・精密検査結果の取込（月次）

Monthly, on the 10th at 02:00 Asia/Tokyo, loads the clinic files of the month
that ended (and late files of earlier months): screening results
(`kenshin_{clinic_code}_YYYYMM.csv`) and detailed-exam outcomes
(`seiken_{clinic_code}_YYYYMM.csv`). One mapped task per file; each goes through
the shared ingestion mechanism (manifest, envelope, row rules, GX gate), then the
matcher links every record to a resident by name, birth date, sex and address as
of the exam date (`kenshin.matching.matcher`), and promotion writes screenings and
detailed exams in the same transaction.

Per file: records linked, sent to the review queue (`kenshin review list`), or
returned to the clinic with a reason on the return list
(`outbox/returns/{file}_henrei.csv`). A rejected file fails its own task (alert,
no retry) without holding back the other clinics' files; the `core.screenings`
Asset is published for what loaded.

Replay by hand: `kenshin ingest --report out.jsonl FILE...` runs the same code.
"""

from __future__ import annotations

from kenshin.platform import config
from kenshin_airflow.assets import SCREENINGS
from kenshin_airflow.ingest_dag import IngestDagSpec, build_ingest_dag

clinic_ingest = build_ingest_dag(IngestDagSpec(
    dag_id="clinic_ingest",
    cron="0 2 10 * *",
    sources=("kenshin", "seiken"),
    asset=SCREENINGS,
    publish_task_id="publish_screenings",
    doc_md=__doc__,
    tags=("clinic", "ingest", "matching"),
    publish_despite_rejections=True,
    # different clinics' files commute until promotion (kenshin.ingest.sources.clinic)
    parallel_files=int(config.load("platform")["loading"]["clinic_parallel_files"]),
))
