"""marts_build runs end to end with dag.test(): dbt through Cosmos, tests as the gate,
statistics published only when everything passed."""

from __future__ import annotations

import psycopg
import pytest

from builders import build_cohort

pytestmark = pytest.mark.dag


def published(url: str):
    with psycopg.connect(url) as conn:
        return conn.execute("select fiscal_year, exam_type, sex, age_band, screened from stats.process_indicators "
                            "order by 1, 2, 3, 4").fetchall()


def test_marts_build_publishes_and_a_broken_mart_leaves_stats_unchanged(db_url, airflow_db, monkeypatch, tmp_path, airflow_connections):
    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    build_cohort(db_url)
    airflow_connections(db_url)
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "marts_build.py")).get_dag("marts_build")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 10, 3, tz="Asia/Tokyo"))
    assert run.state == "success"
    before = published(db_url)
    assert ("all", "all", 12) in [(s, b, n) for _, _, s, b, n in before]
    # the statistics pictures of the latest published fiscal year, drawn after publishing
    assert sorted(p.name for p in (tmp_path / "reports" / "charts" / "FY2025").iterdir()) == [
        "indicators_FY2025.png", "participation_FY2025.png", "statistics_FY2025.html", "trends_FY2025.png"]

    # The yearly report of the fiscal year that ended before the run (FY2025).
    report = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "annual_report.py")).get_dag("annual_report")
    run = report.test(logical_date=pendulum.datetime(2026, 7, 1, 7, tz="Asia/Tokyo"))
    assert run.state == "success"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["FY2025", "charts"]
    written = sorted(p.name for p in (tmp_path / "reports" / "FY2025").iterdir())
    assert "chiiki_hoken_2025.xlsx" in written and "chiiki_hoken_2025_04.csv" in written
    assert "chiiki_hoken_2025_gastric.csv" in written and "chiiki_hoken_2025_cervical.csv" in written
    # The same report from the Trigger button (no logical date): the fiscal year
    # that ended before the day it was asked for, the same files again.
    scheduled = {p.name: p.read_bytes() for p in (tmp_path / "reports" / "FY2025").iterdir()}
    run = report.test(logical_date=None, run_after=pendulum.datetime(2026, 8, 20, 10, tz="Asia/Tokyo"))
    assert run.state == "success" and run.data_interval_end is None
    assert {p.name: p.read_bytes() for p in (tmp_path / "reports" / "FY2025").iterdir()} == scheduled

    # A screening whose exam type no programme knows breaks the marts' contract:
    # the gate fails, nothing after it runs, the published statistics stay.
    with psycopg.connect(db_url) as conn:
        conn.execute("insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code, "
                     "fee_exempt, link_method, load_id, line_no) values ('0000000001', '99', '2025-11-01', "
                     "'1413050001', '1', false, 'fixture', 1, 99)")
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 11, 3, tz="Asia/Tokyo"))
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["publish_stats"] == states["render_charts"] == "upstream_failed"
    assert [t for t, s in states.items() if s == "failed"]
    assert published(db_url) == before
