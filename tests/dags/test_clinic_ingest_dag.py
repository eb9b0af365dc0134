"""clinic_ingest runs end to end with dag.test() against a real database."""

from __future__ import annotations

import pendulum
import psycopg
import pytest

from builders import clinic_file, jumin_file, kenshin_row, people, seiken_row

pytestmark = pytest.mark.dag


def test_clinic_ingest_runs_end_to_end(db_url, airflow_db, inbox, monkeypatch, airflow_connections):
    from kenshin.ingest.loading import ingest_file

    ps = people(40)  # all 80+: colorectal (04) admits them
    assert ingest_file(jumin_file(inbox.parent, "20261001", "full", [p.jumin_row() for p in people(40)]),
                       url=db_url).status == "loaded"
    clinic_file(inbox, "kenshin", "202610", [kenshin_row(p, "20261014", line_no=i + 1, result_code="3" if i == 0
                                                         else "1") for i, p in enumerate(ps[:5])])
    clinic_file(inbox, "kenshin", "202610", [kenshin_row(ps[6], "20261020")], clinic="1413050002", trailer=False)
    clinic_file(inbox, "seiken", "202610", [seiken_row(ps[0], "20261014", "20261028", outcome="3")])
    clinic_file(inbox, "kenshin", "202611", [kenshin_row(ps[7], "20261105")])  # November: not due yet
    airflow_connections(db_url)

    from airflow.dag_processing.dagbag import DagBag

    from kenshin.platform.db import PROJECT_ROOT

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "clinic_ingest.py")).get_dag("clinic_ingest")
    # The run of 11-10 02:00 closes the interval of October's files.
    run = dag.test(logical_date=pendulum.datetime(2026, 11, 10, 2, tz="Asia/Tokyo"))
    assert run.state == "success"
    states = sorted((ti.task_id, ti.state) for ti in run.get_task_instances())
    # the truncated file fails its own task (no retry); the others load and the Asset is published
    assert states == [("find_due_files", "success"), ("ingest", "failed"), ("ingest", "success"),
                      ("ingest", "success"), ("publish_screenings", "success")]
    with psycopg.connect(db_url) as conn:
        manifest = conn.execute("select file_name, status, rows_in_file, rows_loaded, rows_review, "
                                "rows_quarantined from ops.load_manifest where source <> 'jumin' "
                                "order by load_id").fetchall()
        assert manifest == [
            ("kenshin_1413050001_202610.csv", "loaded", 5, 5, 0, 0),
            ("kenshin_1413050002_202610.csv", "rejected", 1, None, 0, None),
            ("seiken_1413050001_202610.csv", "loaded", 1, 1, 0, 0),
        ]
        assert conn.execute("select count(*) from core.screening").fetchone()[0] == 5
        assert conn.execute("select outcome from core.detailed_exam").fetchall() == [("3",)]
    assert (inbox.parent / "outbox" / "returns" / "kenshin_1413050001_202610_henrei.csv").exists()
