"""transferee_linkage over a sequence of days with dag.test(): nobody asked
before the lag window, the request file on its day, the answer loaded the day
after it arrives, its rows deleted after the configured days."""

from __future__ import annotations

import datetime as dt

import pendulum
import psycopg
import pytest

from builders import fixture_load, insert_event, insert_person, shokai_res_file

pytestmark = pytest.mark.dag


def test_a_new_arrival_is_asked_about_answered_and_the_answer_deleted(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, dt.date(1980, 5, 5), valid_from=dt.date(2026, 4, 1))
        insert_event(conn, "0000000001", "02", dt.date(2026, 4, 1), 1)
    airflow_connections(db_url)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "transferee_linkage.py")).get_dag("transferee_linkage")

    def run_on(day: str) -> dict[str, str]:
        run = dag.test(logical_date=pendulum.parse(f"{day}T05:00:00", tz="Asia/Tokyo"))
        assert run.state == "success"
        return {ti.task_id: ti.state for ti in run.get_task_instances()}

    def request() -> tuple:
        with psycopg.connect(db_url) as conn:
            return conn.execute("select request_id::text, state, file_name from ops.linkage_request").fetchone()

    run_on("2026-06-29")           # the run of June 29 (lag 90 days: due June 30)
    assert request() is None
    states = run_on("2026-06-30")
    assert states["send_requests"] == states["delete_old_responses"] == "success"
    request_id, state, file_name = request()
    assert (state, file_name) == ("sent", "shokai_req_20260630_001.csv")
    assert (inbox.parent / "outbox" / "linkage" / file_name).exists()

    shokai_res_file(inbox, "20260701", 1, [[request_id, "00", "131016", "07", "20250901", "1", ""]])
    run_on("2026-07-02")           # the file of July 1 is due the next day
    assert request()[1] == "answered"
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from core.external_screening").fetchone()[0] == 1
        assert conn.execute("select count(*) from landing.shokai_res").fetchone()[0] == 1
        conn.execute("update ops.load_manifest set finished_at = '2026-07-02 05:01+09'")
    run_on("2026-08-01")           # 30 days after the answer was applied
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from landing.shokai_res").fetchone()[0] == 0
        assert conn.execute("select loads, rows_deleted from ops.linkage_deletion").fetchall() == [(1, 1)]


def test_provision_copies_exports_the_month_that_ended(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, dt.date(1980, 5, 5))
        conn.execute("""insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                               fee_exempt, link_method, load_id, line_no)
                        values ('0000000001', '07', '2026-10-05', '1413050001', '1', false, 'fixture', 1, 1)""")
    airflow_connections(db_url)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "provision_copies.py")).get_dag("provision_copies")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 1, 3, tz="Asia/Tokyo"))
    assert run.state == "success"
    exported = (inbox.parent / "outbox" / "fukuhon" / "fukuhon_20261031.csv").read_text(encoding="utf-8")
    assert "D,0000000001,07,20261005,1,,1,A" in exported.splitlines()


def test_a_sequence_of_days_with_the_network_simulator(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    """Arrivals of April 1 and 10; the simulator answers from the previous
    municipalities' history, with an outcome chosen per person; the DAG runs
    day by day: nobody before the lag window, everyone once per move-in, and
    every state: answered, no record, manual pending then answered, errors
    retried after 1, 3 and 7 days then failed, silence expired and asked once
    more, then expired for good."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.lab import network_simulator as exchange
    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        for i, day in ((1, dt.date(2026, 4, 1)), (2, dt.date(2026, 4, 1)), (3, dt.date(2026, 4, 10)),
                       (4, dt.date(2026, 4, 1)), (5, dt.date(2026, 4, 1)), (6, dt.date(2026, 4, 1))):
            insert_person(conn, f"{i:010d}", 2, dt.date(1975, 5, 5), valid_from=day)
            insert_event(conn, f"{i:010d}", "02", day, i)
    truth = inbox.parent / "truth"
    truth.mkdir()
    pq.write_table(pa.table({"addressee_id": ["0000000001", "0000000001", "0000000003"],
                             "exam_type": ["07", "04", "04"],
                             "exam_date": [dt.date(2024, 9, 1), dt.date(2025, 9, 1), dt.date(2016, 9, 1)],
                             "result_code": ["1", "3", "1"], "followup_outcome": ["", "4", ""]}),
                   truth / "previous_municipalities.parquet")
    airflow_connections(db_url)
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "transferee_linkage.py")).get_dag("transferee_linkage")

    def states() -> dict[str, str]:
        with psycopg.connect(db_url) as conn:
            return dict(conn.execute("select addressee_id, string_agg(state, ' ' order by generation) "
                                     "from ops.linkage_request group by addressee_id").fetchall())

    outcomes = {"0000000001": "answer", "0000000002": "answer", "0000000003": "answer",
                "0000000004": "09", "0000000005": "02", "0000000006": "silent"}
    seen = set()
    day = dt.date(2026, 6, 28)
    while day <= dt.date(2026, 8, 30):
        exchange.simulate(day, inbox.parent, fixed=outcomes)
        run = dag.test(logical_date=pendulum.datetime(day.year, day.month, day.day, 5, tz="Asia/Tokyo"))
        assert run.state == "success"
        if day < dt.date(2026, 6, 30):
            assert states() == {}
        if day == dt.date(2026, 6, 30):
            assert set(states().values()) == {"sent"} and "0000000003" not in states()
        seen |= set(states().items())
        day += dt.timedelta(days=1)
    # 1: two records of FY2024-2025 answered; 2: none; 3 (due July 9): its FY2016 record is older than asked for;
    # 5: after its manual pending, the final answer (no record)
    assert states() == {"0000000001": "answered", "0000000002": "no_record", "0000000003": "no_record",
                        "0000000004": "failed", "0000000005": "no_record", "0000000006": "expired expired"}
    assert {("0000000004", "retry"), ("0000000005", "manual_pending"), ("0000000006", "expired sent")} <= seen
    with psycopg.connect(db_url) as conn:
        attempts = conn.execute("select attempts, sent_on from ops.linkage_request "
                                "where addressee_id = '0000000004'").fetchone()
        assert attempts[0] == 4                      # the first request and three retries
        assert conn.execute("select count(*) from ops.linkage_request").fetchone()[0] == 7
        assert conn.execute("select addressee_id, exam_type, exam_date from core.external_screening "
                            "where addressee_id = '0000000001' order by exam_date").fetchall() == [
            ("0000000001", "07", dt.date(2024, 9, 1)), ("0000000001", "04", dt.date(2025, 9, 1))]
