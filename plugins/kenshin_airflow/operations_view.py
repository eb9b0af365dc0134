"""The "Screening operations" page (運用状況) inside the Airflow UI.

A FastAPI app the api-server mounts under `/kenshin-ops` (plugin
`screening_operations.py`), shown in the UI's navigation as an external view
(in an iframe at /plugin/screening-operations). Every request must carry an
Airflow sign-in: the app depends on Airflow's own `get_user` (the JWT of the
`_token` cookie the UI sets at sign-in, or an `Authorization: Bearer` token from
`POST /auth/token`), so an unauthenticated request is refused with 401.

The page is kenshin.reporting.operations_page's overview of ops (read as kenshin_auditor: no
personal data) plus links to the DAG runs, resolved in Airflow's metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import quote, urlsplit

from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse

from kenshin_airflow.connection import CONN_ID, url_of_connection
from kenshin_airflow.policy import TIMEZONE

log = logging.getLogger(__name__)

URL_PREFIX = "/kenshin-ops"


def _warehouse_url() -> str:
    """The `kenshin` connection as the api-server sees it (core secrets lookup:
    environment, secrets backend, metadata), else kenshin's default."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(CONN_ID)
    except AirflowNotFoundException:
        conn = None
    return url_of_connection(conn)


def _ui_base() -> str:
    """The path the Airflow UI is served under (api.base_url), for links."""
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "/").path.rstrip("/")


def dag_runs(month: dt.date, run_ids: list[str]) -> tuple[dict[str, str], list[dict]]:
    """Links to the DAG runs the files were loaded by, and the month's runs of every DAG."""
    import pendulum
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import or_, select

    base = _ui_base()
    start = pendulum.datetime(month.year, month.month, 1, tz=TIMEZONE)
    end = start.add(months=1)

    def href(dag_id: str, run_id: str) -> str:
        return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    with create_session() as session:
        rows = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.start_date)
            .where(or_(DagRun.run_id.in_(run_ids or [""]),
                       (DagRun.run_after >= start) & (DagRun.run_after < end)))
            .order_by(DagRun.run_after.desc())).all()
    links = {run_id: href(dag_id, run_id) for dag_id, run_id, _, _ in rows if run_id in run_ids}
    runs = [{"dag_id": dag_id, "run_id": run_id, "state": str(state.value if hasattr(state, "value") else state),
             "start_date": started, "href": href(dag_id, run_id)} for dag_id, run_id, state, started in rows][:60]
    return links, runs


def create_app() -> FastAPI:
    # Airflow's own authentication for every route of the app: a signed-in user
    # (any role may look; the page holds counts and file names only).
    app = FastAPI(title="Screening operations", dependencies=[Depends(get_user)], docs_url=None,
                  redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def operations_page(month: str | None = Query(None, pattern=r"^\d{4}-\d{2}$")) -> HTMLResponse:
        """This month's processing (or ?month=YYYY-MM)."""
        from kenshin.reporting import operations_page as operations

        try:
            first = operations.month_of(month)
        except ValueError:
            raise HTTPException(status_code=422, detail="month must be YYYY-MM") from None
        view = operations.overview(first, url=_warehouse_url())
        try:
            links, runs = dag_runs(first, view.run_ids)
        except Exception as exc:  # the page still shows the files without the links
            log.warning("DAG runs not read: %s", type(exc).__name__)
            links, runs = {}, []
        return HTMLResponse(operations.render_html(view, links, runs))

    return app


app = create_app()
