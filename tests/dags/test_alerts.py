"""Alerts: a failed gate in a DAG run produces ONE message naming the file and the
failed expectation, delivered to the log and, through Airflow's notifiers
configured by connections (kenshin_airflow.notify), to chat (Apprise posting
to a JSON webhook: a local HTTP server here) and e-mail (the SMTP provider,
to a mail server on loopback that demands STARTTLS and a login)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pendulum
import pytest

from alert_sinks import (
    chat_connection,
    closed_port,
    mail_parts,
    self_signed_certificate,
    smtp_connection,
    smtp_server,
    webhook_server,
)
from builders import clinic_file, jumin_file, kenshin_row, people

pytestmark = pytest.mark.dag


@pytest.fixture
def webhook(monkeypatch):
    """A JSON webhook on loopback collecting what Apprise posts to it, as the
    chat connection (AIRFLOW_CONN_KENSHIN_ALERT_CHAT)."""
    with webhook_server() as (url, received):
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_CHAT", chat_connection(url))
        yield received


def chat_text(posted: dict) -> str:
    """What a chat shows: Apprise's JSON has the subject as `title`, the text as `message`."""
    assert posted["type"] == "warning" and posted["attachments"] == [], posted
    return f"{posted['title']}\n{posted['message']}"


def test_a_failed_gate_alerts_once_with_the_file_and_the_expectation(db_url, airflow_db, inbox, monkeypatch,
                                                                      webhook, airflow_connections):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.ingest.loading import ingest_file
    from kenshin.ingest.sources.clinic import KenshinSource
    from kenshin.platform.db import PROJECT_ROOT

    ps = people(10)
    assert ingest_file(jumin_file(inbox.parent, "20261001", "full", [p.jumin_row() for p in ps]),
                       url=db_url).status == "loaded"
    # The row rule for repeated line numbers switched off: the repeat reaches the GX gate.
    monkeypatch.setattr(KenshinSource, "stage_rejects", lambda self, conn, load_id: None)
    clinic_file(inbox, "kenshin", "202610", [kenshin_row(ps[0], "20261014", line_no=1),
                                             kenshin_row(ps[1], "20261015", line_no=1)])
    airflow_connections(db_url)

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "clinic_ingest.py")).get_dag("clinic_ingest")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 10, 2, tz="Asia/Tokyo"))
    assert run.state == "success"  # clinic files are independent: the run publishes, the file's task failed
    assert sorted(ti.state for ti in run.get_task_instances() if ti.task_id == "ingest") == ["failed"]

    assert len(webhook) == 1, webhook
    text = chat_text(webhook[0])
    assert text.startswith("[kenshin] clinic_ingest.ingest[0] failed\n")
    assert "file kenshin_1413050001_202610.csv rejected by the data-quality gate" in text
    assert "expect_column_values_to_be_unique on clinic_line_no (2 rows) [suite landing_kenshin]" in text
    assert "next: Nothing from this file reached core." in text
    assert "run: clinic_ingest " in text and "/dags/clinic_ingest/runs/" in text
    # no personal data: neither names nor birth dates of the file's records
    for p in ps[:2]:
        assert p.name_kanji not in text and p.name_kana not in text and p.birth.strftime("%Y%m%d") not in text

    # The operations page links the file to the DAG run that loaded it (Airflow's metadata).
    from kenshin.reporting import operations_page as operations
    from kenshin_airflow.operations_view import dag_runs

    view = operations.overview(url=db_url)
    assert view.run_ids == [run.run_id]
    links, runs = dag_runs(view.month, view.run_ids)
    assert links == {run.run_id: f"/dags/clinic_ingest/runs/{quote(run.run_id, safe='')}"}
    assert f'href="/dags/clinic_ingest/runs/{quote(run.run_id, safe="")}"' in operations.render_html(view, links, runs)


class Collect(logging.Handler):
    """Records of one logger (Airflow's logging set-up can keep them from caplog)."""

    def __init__(self, name: str):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.logger = logging.getLogger(name)

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self)


def test_any_failed_task_alerts_without_database_details(webhook):
    from kenshin_airflow.failure import notify_failure

    class FakeTi:
        dag_id, task_id, map_index, log_url = "marts_build", "publish_stats", -1, "http://x/log"

    error = RuntimeError('duplicate key value violates unique constraint "person_pkey"\nDETAIL: Key (x)=(y)')
    with Collect("kenshin.alerts") as logged:
        notify_failure({"task_instance": FakeTi(), "run_id": "manual__1", "exception": error})
    # the same one message in the log
    assert [r.getMessage() for r in logged.records] == [chat_text(webhook[0])]
    assert [(posted["title"], posted["message"]) for posted in webhook] == [(
        "[kenshin] marts_build.publish_stats failed",
        'error: RuntimeError: duplicate key value violates unique constraint "person_pkey"\n'
        "next: Read the task log (link below); after fixing the cause, clear the task in "
        "the Airflow UI. Loads are idempotent: a rerun loads each file exactly once.\n"
        "run: marts_build manual__1, task marts_build.publish_stats\nlog: http://x/log")]


def test_channels_that_fail_are_logged_and_never_fail_the_callback(monkeypatch, tmp_path):
    """Nothing listens on the connections' ports, then the mail server's
    certificate is not trusted: each channel's failure is one warning naming
    the channel and the exception type (never the message), and the failure
    callback returns normally with the message in the log."""
    from kenshin_airflow import notify
    from kenshin_airflow.failure import notify_failure

    monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "data-eng@example.invalid")
    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(closed_port()))
    monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_CHAT", chat_connection(f"http://127.0.0.1:{closed_port()}/hook"))

    class FakeTi:
        dag_id, task_id, map_index, log_url = "registry_sync", "ingest", 0, "http://x/log"

    with Collect("kenshin.alerts") as logged:
        notify_failure({"task_instance": FakeTi(), "run_id": "manual__1", "exception": RuntimeError("secret-ish")})
    messages = [r.getMessage() for r in logged.records]
    assert messages[0].startswith("[kenshin] registry_sync.ingest[0] failed\nerror: RuntimeError: secret-ish")
    assert messages[1:] == ["alert email failed: ConnectionRefusedError", "alert chat failed: ChannelRefused"]

    # a server whose certificate is not trusted (no SSL_CERT_FILE): the hook checks it, nothing is sent
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate, login=("kenshin", "pw")) as (port, mails), \
            Collect("kenshin.alerts") as logged:
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(port, ("kenshin", "pw")))
        assert notify.send("[kenshin] x failed", "error: y") == ["log"]
    assert mails == []
    assert [r.getMessage() for r in logged.records][1:] == ["alert email failed: SSLCertVerificationError",
                                                             "alert chat failed: ChannelRefused"]


def test_email_goes_to_the_configured_recipients_over_tls_with_a_login(monkeypatch, tmp_path):
    """The SMTP provider's notifier, through the connection: STARTTLS with the
    server's certificate checked (trusted here through SSL_CERT_FILE) and a
    login; the server takes a message only after both."""
    from kenshin_airflow import notify

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with smtp_server(certificate=certificate, login=("kenshin-alerts", "s3cret")) as (port, mails):
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(port, ("kenshin-alerts", "s3cret")))
        monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "data-eng@example.invalid, oncall@example.invalid")
        assert notify.send("[kenshin] registry_sync.ingest[0] failed",
                           "file jumin_x.csv rejected <line 3> & {{ not a template }}") == ["log", "email"]
    assert [(mail.tls, mail.user) for mail in mails] == [(True, "kenshin-alerts")]
    message, text = mail_parts(mails[0])
    assert message["Subject"] == "[kenshin] registry_sync.ingest[0] failed"
    assert message["To"] == "data-eng@example.invalid, oncall@example.invalid"
    assert message["From"] == "kenshin-alerts@localhost"   # alerts.yaml email.sender
    assert text == "file jumin_x.csv rejected <line 3> & {{ not a template }}"   # as composed, not rendered


def test_a_wrong_login_is_refused_and_logged(monkeypatch, tmp_path):
    from kenshin_airflow import notify

    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    with smtp_server(certificate=certificate, login=("kenshin-alerts", "s3cret")) as (port, mails), \
            Collect("kenshin.alerts") as logged:
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(port, ("kenshin-alerts", "wrong")))
        monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "data-eng@example.invalid")
        assert notify.send("[kenshin] x failed", "error: y") == ["log"]
    assert mails == []
    assert [r.getMessage() for r in logged.records][1:] == ["alert email failed: SMTPAuthenticationError"]


def test_without_alerts_yaml_the_message_still_reaches_the_log(monkeypatch):
    from kenshin.platform import alerts, config
    from kenshin_airflow import notify

    monkeypatch.setattr(config, "load", lambda name: (_ for _ in ()).throw(FileNotFoundError(name)))
    with Collect("kenshin.alerts") as logged:
        assert notify.send("[kenshin] x failed", "error: y\nnext: " + alerts.next_step("task")) == ["log"]
    assert logged.records[0].getMessage().startswith("[kenshin] x failed\nerror: y\nnext: see the task log")
