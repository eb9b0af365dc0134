"""Airflow-facing glue for kenshin: default task policy, failure alerts, the
warehouse connection and the Assets DAGs publish. Domain logic stays in
`kenshin`; nothing here touches the database at import time."""

from __future__ import annotations

import datetime as dt
import logging

from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

log = logging.getLogger(__name__)

TIMEZONE = "Asia/Tokyo"
OWNER = "kenshin-data-engineering"
CONN_ID = "kenshin"

# Assets: core tables later DAGs are scheduled on (data-aware scheduling).
PERSON_LEDGER = Asset(name="core.person_ledger", uri="kenshin://core/person_ledger")
SCREENINGS = Asset(name="core.screenings", uri="kenshin://core/screenings")
STATS = Asset(name="stats.published", uri="kenshin://stats/published")
EXTERNAL_SCREENINGS = Asset(name="core.external_screenings", uri="kenshin://core/external_screenings")


def safe_error_text(exc: BaseException | None) -> str:
    """The type and first line of an error, without details a database error
    may carry (PostgreSQL's DETAIL lines can quote key values or whole rows).
    kenshin's own messages name files, lines and fields, never values."""
    if exc is None:
        return "unknown error"
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"


class AlertedFailure(AirflowFailException):
    """A final failure whose text is already a composed alert (kenshin.platform.alerts:
    file, expectations or line and field, what to do next; no personal data).
    `notify_failure` passes it whole instead of cutting it to a first line."""


def notify_failure(context) -> None:
    """Failure callback: ONE clear message naming the DAG, task, run, the error and
    what to do next, through kenshin.platform.alerts (the log; a chat webhook and e-mail
    when configured in include/config/alerts.yaml or the environment)."""
    from kenshin.platform import alerts

    ti = context.get("task_instance")
    dag_id, task_id = getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    where = f"{dag_id}.{task_id}" + (f"[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else "")
    exc = context.get("exception")
    if isinstance(exc, AlertedFailure):
        body = str(exc)
    else:
        body = f"error: {safe_error_text(exc)}\nnext: {alerts.next_step('task')}"
    lines = [body, f"run: {dag_id} {context.get('run_id')}, task {where}"]
    log_url = getattr(ti, "log_url", None)
    if log_url:
        lines.append(f"log: {log_url}")
    alerts.send(f"[kenshin] {where} failed", "\n".join(lines))


DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=5),
    "on_failure_callback": notify_failure,
}


# Tasks that run a data-quality gate: a failed gate is final, never retried
# (ARCHITECTURE.md). Their retries are 0; a rerun after a fix is a manual clear,
# which is safe because loads are idempotent.
GATE_RETRIES = 0


def warehouse_url() -> str:
    """The `kenshin` Airflow connection (AIRFLOW_CONN_KENSHIN or a secrets
    backend), or kenshin's own default when no connection is defined. For tasks."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(CONN_ID)
    except AirflowNotFoundException:
        conn = None
    return url_of_connection(conn)


def url_of_connection(conn) -> str:
    """A libpq URL of an Airflow connection (kenshin's default for None)."""
    from kenshin.platform import db

    if conn is None:
        return db.database_url()
    from urllib.parse import quote

    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    host = f"{auth}@{conn.host}" if auth else conn.host
    url = f"postgresql://{host}:{conn.port or 5432}/{conn.schema or db.DATABASE_NAME}"
    # libpq options given as connection extras (sslmode, sslrootcert ...) carry over:
    # production connects with TLS (README).
    from urllib.parse import urlencode

    extras = {k: v for k, v in (conn.extra_dejson or {}).items() if k.startswith("ssl") or k in
              ("connect_timeout", "application_name", "target_session_attrs")}
    return url + ("?" + urlencode(extras) if extras else "")
