"""reminders runs with dag.test(): the yearly kinds on their send day only, the
follow-ups daily, a rerun of the same day adds nothing."""

from __future__ import annotations

import datetime as dt

import pendulum
import psycopg
import pytest

from builders import fixture_load, insert_person

pytestmark = pytest.mark.dag


def test_reminders_sends_each_kind_on_its_day(db_url, airflow_db, monkeypatch, tmp_path, airflow_connections):
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 1, dt.date(1960, 1, 1), name_kanji="精検　一郎")
        insert_person(conn, "0000000002", 2, dt.date(1986, 4, 2), name_kanji="四十　春子")  # 40 in FY2026
        conn.execute("""insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                               fee_exempt, link_method, load_id, line_no)
                        values ('0000000001', '04', '2026-05-01', '1413050001', '3', false, 'fixture', 1, 1)""")
    airflow_connections(db_url)
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "reminders.py")).get_dag("reminders")

    def run_on(day: str) -> dict[str, str]:
        run = dag.test(logical_date=pendulum.parse(f"{day}T08:00:00", tz="Asia/Tokyo"))
        assert run.state == "success"
        return {ti.rendered_map_index: ti.state for ti in run.get_task_instances()}

    assert run_on("2026-04-01") == {"VOUCHER": "success", "INVITE": "skipped",
                                    "FOLLOWUP": "success", "FOLLOWUP2": "success"}
    assert run_on("2026-07-30") == {"VOUCHER": "skipped", "INVITE": "skipped",
                                    "FOLLOWUP": "success", "FOLLOWUP2": "success"}
    run_on("2026-07-30")  # the same day again
    with psycopg.connect(db_url) as conn:
        sent = conn.execute("select kind, addressee_id from core.notice order by notice_id").fetchall()
    assert sent == [("VOUCHER", "0000000002"), ("FOLLOWUP", "0000000001")]
    # files only for batches with letters; no protection-flagged person here, so no manual list
    assert sorted(p.name for p in (tmp_path / "notices").iterdir()) == [
        "20260401_VOUCHER.csv", "20260401_VOUCHER.pdf", "20260730_FOLLOWUP.csv", "20260730_FOLLOWUP.pdf"]
