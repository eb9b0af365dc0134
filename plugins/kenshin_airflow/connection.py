"""The warehouse connections as tasks see them: Airflow connections
(AIRFLOW_CONN_* or a secrets backend) turned into libpq URLs, or kenshin's own
default when none is defined.

Two logins, two connections (docker/postgres-init.sql):

- `kenshin`: loads, letters, purges, the operations page. Its login is a
  member of the working roles (kenshin_loader, kenshin_stats, ...) and never
  owns a table.
- `kenshin_dbt`: dbt and the publication of the statistics. Its login works as
  kenshin_owner, the owner of the schemas dbt builds in (CONNECT and TEMP on
  the database); nothing else connects with it.
"""

from __future__ import annotations

CONN_ID = "kenshin"
DBT_CONN_ID = "kenshin_dbt"


def warehouse_url(conn_id: str = CONN_ID) -> str:
    """The Airflow connection `conn_id` (AIRFLOW_CONN_... or a secrets
    backend) as a libpq URL, or kenshin's own default when no connection is
    defined. For tasks."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        conn = None
    return url_of_connection(conn)


def development_connections(url: str) -> dict[str, str]:
    """AIRFLOW_CONN_* of both connections for a development server (the
    embedded cluster or a trust-auth server) at the superuser URL `url`: one
    login for both, as `make up`, the demo and the tests run. Cosmos's profile
    mapping wants a password, which trust authentication ignores."""
    conn = url.replace("postgresql://", "postgres://", 1)
    parts = conn.split("@", 1)
    if len(parts) == 2 and ":" not in parts[0].removeprefix("postgres://"):
        conn = f"{parts[0]}:trust-auth@{parts[1]}"
    return {f"AIRFLOW_CONN_{CONN_ID.upper()}": conn, f"AIRFLOW_CONN_{DBT_CONN_ID.upper()}": conn}


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


if __name__ == "__main__":
    # `make up`: the shell's export lines of both connections for a development server
    import shlex
    import sys

    print("".join(f"export {name}={shlex.quote(value)}; " for name, value in development_connections(sys.argv[1]).items()))
