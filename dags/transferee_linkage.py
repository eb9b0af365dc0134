"""
### transferee_linkage — 転入者の情報照会 (linkage queries for new arrivals)

Every day at 05:00 Asia/Tokyo:

1. load the response files the integration platform delivered
   (`shokai_res_*`, LAYOUTS.md §6) through the shared mechanism (manifest, row
   rules, GX gate `landing_shokai_res`): `00` records into
   `core.external_screening`, `01` closed, `02` waited for, `09` retried with
   backoff; a response to an unknown or closed request is quarantined with the
   reason; publishes the `core.external_screenings` Asset;
2. `send_requests`: due retries back to the queue, unanswered requests expired
   (and asked once more), move-ins whose lag window passed queued, request files
   `shokai_req_*` written to `outbox/linkage/` (`kenshin.exchange.queries.request`);
3. `delete_old_responses`: received response rows and files deleted after the
   configured days, with a log of counts (`ops.linkage_deletion`).

Policy: `include/config/linkage.yaml`. By hand: `kenshin linkage request --as-of DAY`.
"""

from __future__ import annotations

from kenshin.exchange import queries as linkage_queries
from kenshin_airflow.assets import EXTERNAL_SCREENINGS
from kenshin_airflow.ingest_dag import IngestDagSpec, build_ingest_dag

transferee_linkage = build_ingest_dag(IngestDagSpec(
    dag_id="transferee_linkage",
    cron="0 5 * * *",
    sources=("shokai_res",),
    asset=EXTERNAL_SCREENINGS,
    publish_task_id="publish_external_screenings",
    doc_md=__doc__,
    tags=("linkage", "ingest"),
    publish_despite_rejections=True,
    then=(("send_requests", linkage_queries.request), ("delete_old_responses", linkage_queries.purge)),
))
