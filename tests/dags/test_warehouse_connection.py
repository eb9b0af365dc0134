"""The warehouse URL tasks use comes from the `kenshin` Airflow connection."""

import pytest

pytestmark = pytest.mark.dag


def test_connection_with_tls_options_and_a_password_needing_quotes(monkeypatch):
    from kenshin_airflow.connection import warehouse_url

    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN", "postgres://loader:p%40ss%2Fw@db.internal:5433/kenshin"
                                               "?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
    assert warehouse_url() == ("postgresql://loader:p%40ss%2Fw@db.internal:5433/kenshin"
                               "?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")


def test_safe_error_text_drops_database_details():
    from kenshin_airflow.failure import safe_error_text

    class Diag:
        message_primary = 'duplicate key value violates unique constraint "person_pkey"'

    class FakeDbError(Exception):
        diag = Diag()

    err = FakeDbError('duplicate key value violates unique constraint "person_pkey"\n'
                      "DETAIL:  Key (addressee_id)=(0000000001) already exists.")
    assert safe_error_text(err) == ('FakeDbError: duplicate key value violates unique constraint "person_pkey"')
