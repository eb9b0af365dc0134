"""The warehouse connection (`kenshin`) as tasks see it: an Airflow connection
(AIRFLOW_CONN_KENSHIN or a secrets backend) turned into a libpq URL, or
kenshin's own default when none is defined."""

from __future__ import annotations

CONN_ID = "kenshin"


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
