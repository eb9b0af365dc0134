"""Assets (data-aware scheduling): the core tables later DAGs are scheduled on.

`registry_sync` publishes the person ledger, `clinic_ingest` the screenings,
`transferee_linkage` the external screenings, `marts_build` the statistics;
`retention_purge` publishes what it deleted from. The URIs are part of the
deployment's history (Airflow keys asset events by them): never rename one.
"""

from __future__ import annotations

from airflow.sdk import Asset

PERSON_LEDGER = Asset(name="core.person_ledger", uri="kenshin://core/person_ledger")
SCREENINGS = Asset(name="core.screenings", uri="kenshin://core/screenings")
STATS = Asset(name="stats.published", uri="kenshin://stats/published")
EXTERNAL_SCREENINGS = Asset(name="core.external_screenings", uri="kenshin://core/external_screenings")
