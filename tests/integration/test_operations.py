"""The operations overview from ops only: files per source and period, gate results,
review queue, network queries and the last purge; no personal data on the page."""

from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from builders import operations_month, people
from kenshin.reporting import operations_page as operations

pytestmark = pytest.mark.integration

EXPECTED = {
    "jumin_20261001_full.csv": "loaded",
    "jumin_20261001_full_resent.csv": "duplicate",
    "kenshin_1413050001_202610.csv": "loaded",
    "kenshin_1413050002_202610.csv": "rejected",
    "kenshin_1413050003_202610.csv": "rejected",
}


@pytest.fixture
def month(db_url, tmp_path, monkeypatch):
    from kenshin.ingest.sources.clinic import KenshinSource

    monkeypatch.setattr(KenshinSource, "stage_rejects", lambda self, conn, load_id: None)
    assert operations_month(db_url, tmp_path) == EXPECTED
    return db_url


def test_the_overview_counts_this_months_files_per_source_and_period(month):
    with psycopg.connect(month) as conn:  # a network query in each of two states
        aid = conn.execute("select addressee_id from core.person order by 1 limit 1").fetchone()[0]
        for line_no, state in ((900, "sent"), (901, "answered")):
            event = conn.execute("""insert into core.person_event (addressee_id, event_code, event_date,
                                        previous_municipality_code, load_id, line_no)
                                    values (%s, '02', '2026-07-01', '131016', 1, %s) returning event_id""",
                                 (aid, line_no)).fetchone()[0]
            conn.execute("""insert into ops.linkage_request (request_id, move_in_event_id, addressee_id,
                                previous_municipality_code, fiscal_year_from, fiscal_year_to, state, queued_on)
                            values (%s, %s, %s, '131016', 2024, 2026, %s, '2026-10-01')""",
                         (uuid.uuid4(), event, aid, state))
    view = operations.overview(operations.month_of(None), url=month)
    by_source = {(s["source"], s["period"]): s for s in view.sources}
    assert by_source[("jumin", "202610")]["files"] == 2
    assert (by_source[("jumin", "202610")]["loaded_files"], by_source[("jumin", "202610")]["duplicate_files"],
            by_source[("jumin", "202610")]["rows_loaded"]) == (1, 1, 60)
    clinic = by_source[("kenshin", "202610")]
    assert (clinic["files"], clinic["loaded_files"], clinic["rejected_files"]) == (2, 1, 1)
    # the truncated file is rejected before its header is read: its period is unknown
    assert by_source[("kenshin", None)]["rejected_files"] == 1
    assert (clinic["rows_in_files"], clinic["rows_loaded"], clinic["rows_quarantined"], clinic["rows_review"]) == (
        4, 1, 1, 2)
    files = {f["file_name"]: f for f in view.files}
    assert {n: f["status"] for n, f in files.items()} == EXPECTED
    gated = files["kenshin_1413050003_202610.csv"]
    assert gated["failed_expectations"] == [
        "expect_column_values_to_be_unique on clinic_line_no (2 rows) [suite landing_kenshin]"]
    assert files["kenshin_1413050001_202610.csv"]["failed_expectations"] == []
    assert files["kenshin_1413050001_202610.csv"]["open_review"] == 2
    assert [(r["file_name"], r["open_items"]) for r in view.review] == [("kenshin_1413050001_202610.csv", 2)]
    assert [(q["state"], q["requests"]) for q in view.linkage] == [("answered", 1), ("sent", 1)]
    assert view.purge is None   # no purge yet

    page = operations.render_html(view, {"r1": "/dags/x/runs/r1"})
    for name in EXPECTED:
        assert name in page
    assert "expect_column_values_to_be_unique on clinic_line_no (2 rows)" in page
    assert "no purge yet" in page and "answered" in page
    for p in people(60):  # no personal data: names, ids, birth dates
        assert p.name_kanji not in page and p.name_kana not in page and p.addressee_id not in page
    # another month: nothing received
    empty = operations.overview(dt.date(2020, 1, 1), url=month)
    assert empty.files == [] and "No file received this month." in operations.render_html(empty)


def test_the_last_purge_is_shown_from_the_purge_log(db_url):
    """The page shows the newest run of ops.purge_run (retention purges)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("""insert into ops.purge_run (as_of, policy_version, state, requested_by, approved_by,
                            planned_rows, deleted_rows, created_at, finished_at)
                        values ('2026-04-01', 'v1', 'verified', 'eng1', 'chief1', 10, 10, now() - interval '1 day',
                                now()),
                               ('2026-10-01', 'v2', 'executed', 'eng1', 'chief2', 5, 5, now(), now())""")
    view = operations.overview(url=db_url)
    assert (view.purge["run_id"], view.purge["state"], view.purge["deleted_rows"]) == (2, "executed", 5)
    page = operations.render_html(view)
    assert "executed" in page and "chief2" in page and "no purge yet" not in page
