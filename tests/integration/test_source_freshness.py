"""Freshness that acts (鮮度): `dbt source freshness` judges every source of the
marts by the rule in its YAML, and marts_build's `check_freshness` sends one
warning through the alert channels when one is late, without stopping the
build. Ages are made by hand: the newest row of each source is set to a known
number of days ago."""

from __future__ import annotations

import datetime as dt

import pendulum
import psycopg
import pytest

from alert_sinks import (
    chat_connection,
    mail_parts,
    self_signed_certificate,
    smtp_connection,
    smtp_server,
    webhook_server,
)
from builders import fixture_load, insert_person, insert_screening
from kenshin.reporting.marts import late_sources_alert, source_freshness

pytestmark = pytest.mark.integration

SOURCES = ["core.detailed_exam", "core.external_screening", "core.nhi_period", "core.person",
           "core.person_version", "core.screening", "core.welfare_period", "ops.load_manifest"]


def _a_city_as_of_today(url: str) -> None:
    """One of every source's rows, all written today."""
    today = dt.date.today()
    with psycopg.connect(url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, dt.date(1970, 5, 5), valid_from=today)
        sid = insert_screening(conn, "0000000001", "04", today, 1, result="3")
        conn.execute("insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome, "
                     "clinic_code, link_method, load_id, line_no) values (%s, '0000000001', %s, '1', "
                     "'1413050001', 'fixture', 1, 1)", (sid, today))
        conn.execute("insert into core.external_screening (addressee_id, source_municipality_code, exam_type, "
                     "exam_date, result_code) values ('0000000001', '131016', '04', '2025-06-01', '1')")
        conn.execute("insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, last_listed, "
                     "load_id) values ('0000000001', '\\x00', '2010-04-01', %s, 1)", (today,))
        conn.execute("insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date, "
                     "last_listed, load_id) values ('0000000001', '00000001', 1, '2015-04-01', %s, 1)", (today,))


def _age(url: str, sql: str, days: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("set session_replication_role = replica")   # no audit trigger for a fixture's ageing
        conn.execute(sql, {"days": days})


def test_a_city_loaded_today_is_fresh_everywhere(db_url):
    _a_city_as_of_today(db_url)
    results = source_freshness(url=db_url)
    assert [(r["source"], r["status"]) for r in results] == [(s, "pass") for s in SOURCES]
    assert late_sources_alert(results) is None


def test_a_month_without_clinic_files_and_a_stopped_registry_are_told_by_their_rules(db_url):
    _a_city_as_of_today(db_url)
    # no clinic file for 50 days (warn after 45, error after 75)
    _age(db_url, "update core.screening set updated_at = now() - make_interval(days => %(days)s)", 50)
    # no registry change for 8 days (warn after 3, error after 7)
    _age(db_url, "update core.person_version set valid_from = current_date - %(days)s", 8)
    # detailed exams: exactly at their warning's edge (45 days) is still late
    _age(db_url, "update core.detailed_exam set updated_at = now() - make_interval(days => %(days)s)", 46)
    results = {r["source"]: r for r in source_freshness(url=db_url)}
    assert {s: r["status"] for s, r in results.items()} == {
        "core.detailed_exam": "warn", "core.external_screening": "pass", "core.nhi_period": "pass",
        "core.person": "pass", "core.person_version": "error", "core.screening": "warn",
        "core.welfare_period": "pass", "ops.load_manifest": "pass"}
    assert results["core.screening"]["age_days"] == pytest.approx(50, abs=0.1)
    subject, text = late_sources_alert(list(results.values()))
    assert subject == ("[kenshin] marts_build: sources late (error): core.detailed_exam, core.person_version, "
                       "core.screening")
    assert "3 of 8 sources are late against their freshness (鮮度):" in text
    assert "- core.screening: warn (newest row" in text and "50.0 days old; warn after 45 day, error after 75 day)" in text
    assert "- core.person_version: error (newest row" in text and "warn after 3 day, error after 7 day)" in text
    assert "next: The marts were built from what core holds" in text
    # nothing of the person: no addressee id, name or address in the alert
    for value in ("0000000001", "試験", "本町"):
        assert value not in text and value not in subject


def test_marts_build_warns_through_the_alert_channels_and_goes_on(db_url, airflow_db, airflow_connections,
                                                                  monkeypatch, tmp_path):
    """The DAG's own check_freshness task, run with dag.test(): one warning for
    an empty NHI list through both channels' connections (chat: Apprise to a
    JSON webhook; e-mail: the SMTP provider to a mail server on loopback that
    demands STARTTLS and a login), and the task succeeds."""
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    _a_city_as_of_today(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("delete from core.nhi_period")
    airflow_connections(db_url)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "marts_build.py")).get_dag("marts_build")
    only = dag.partial_subset(task_ids=["check_freshness"], include_upstream=False, include_downstream=False)
    certificate = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))   # the client trusts the test server's certificate
    with webhook_server() as (url, received), \
            smtp_server(certificate=certificate, login=("kenshin-alerts", "s3cret")) as (port, mails):
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_CHAT", chat_connection(url))
        monkeypatch.setenv("AIRFLOW_CONN_KENSHIN_ALERT_SMTP", smtp_connection(port, ("kenshin-alerts", "s3cret")))
        monkeypatch.setenv("KENSHIN_ALERT_EMAIL_TO", "data-eng@example.invalid")
        run = only.test(logical_date=pendulum.datetime(2026, 11, 10, 3, tz="Asia/Tokyo"))
    assert run.state == "success"
    assert [ti.task_id for ti in run.get_task_instances()] == ["check_freshness"]
    assert len(received) == 1 and len(mails) == 1
    assert (mails[0].tls, mails[0].user) == (True, "kenshin-alerts")
    message, mailed = mail_parts(mails[0])
    posted = f"{received[0]['title']}\n{received[0]['message']}"   # Apprise's JSON: title and message
    assert f"{message['Subject']}\n{mailed}" == posted   # the same warning in both
    assert "1 of 8 sources are late" in posted
    assert "core.nhi_period" in posted and "no rows at all" in posted
