"""Airflow plugin "Screening operations" (運用状況): what this month's processing
did, at a glance, inside the Airflow UI (kenshin_airflow.operations_view).

Registers the page's FastAPI app (mounted by the api-server under /kenshin-ops,
behind Airflow's sign-in) and an external view that puts it in the UI's
navigation (Browse → Screening operations; shown at /plugin/screening-operations).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from kenshin_airflow.operations_view import URL_PREFIX, app


class ScreeningOperationsPlugin(AirflowPlugin):
    name = "screening_operations"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Screening operations"}]
    external_views = [{
        "name": "Screening operations",
        "href": f"{URL_PREFIX}/",
        "url_route": "screening-operations",
        "destination": "nav",
        "category": "browse",
    }]
