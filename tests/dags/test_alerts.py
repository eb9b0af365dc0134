"""Alerts: a failed gate in a DAG run produces ONE message naming the file and the
failed expectation, delivered to a chat webhook (a local HTTP server here) and the log."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pendulum
import pytest

from alert_sinks import smtp_server, webhook_server
from builders import clinic_file, jumin_file, kenshin_row, people

pytestmark = pytest.mark.dag


@pytest.fixture
def webhook(monkeypatch):
    """A chat webhook on loopback collecting what it is sent (KENSHIN_ALERT_WEBHOOK_URL)."""
    with webhook_server() as (url, received):
        monkeypatch.setenv("KENSHIN_ALERT_WEBHOOK_URL", url)
        yield received


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
    text = webhook[0]["text"]
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
    assert [r.getMessage() for r in logged.records] == [webhook[0]["text"]]
    assert webhook == [{"text": "[kenshin] marts_build.publish_stats failed\n"
                                'error: RuntimeError: duplicate key value violates unique constraint "person_pkey"\n'
                                "next: Read the task log (link below); after fixing the cause, clear the task in "
                                "the Airflow UI. Loads are idempotent: a rerun loads each file exactly once.\n"
                                "run: marts_build manual__1, task marts_build.publish_stats\nlog: http://x/log"}]


def test_an_unreachable_webhook_is_logged_and_never_raises(monkeypatch):
    from kenshin.platform import alerts

    monkeypatch.setenv("KENSHIN_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nowhere")
    with Collect("kenshin.alerts") as logged:
        assert alerts.send("[kenshin] x failed", "error: y") == ["log"]
    assert any("alert webhook failed" in r.getMessage() for r in logged.records)


def test_email_goes_to_the_configured_recipients(monkeypatch):
    """A minimal SMTP server on loopback (just enough of RFC 5321 for smtplib)."""
    from kenshin.platform import alerts

    with smtp_server() as (port, mails):
        monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "data-eng@example.invalid, oncall@example.invalid")
        monkeypatch.setenv("KENSHIN_ALERT_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("KENSHIN_ALERT_SMTP_PORT", str(port))
        assert alerts.send("[kenshin] registry_sync.ingest[0] failed", "file jumin_x.csv rejected") == [
            "log", "email"]
    assert len(mails) == 1
    assert "Subject: [kenshin] registry_sync.ingest[0] failed" in mails[0]
    assert "To: data-eng@example.invalid, oncall@example.invalid" in mails[0]
    assert "file jumin_x.csv rejected" in mails[0]


def test_without_alerts_yaml_the_message_still_reaches_the_log(monkeypatch):
    from kenshin.platform import alerts, config

    monkeypatch.setattr(config, "load", lambda name: (_ for _ in ()).throw(FileNotFoundError(name)))
    with Collect("kenshin.alerts") as logged:
        assert alerts.send("[kenshin] x failed", "error: y\nnext: " + alerts.next_step("task")) == ["log"]
    assert logged.records[0].getMessage().startswith("[kenshin] x failed\nerror: y\nnext: see the task log")
