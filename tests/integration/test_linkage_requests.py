"""Linkage queries for new arrivals, the request side: nobody before the lag
window, everyone due once per move-in, request files per LAYOUTS.md §6."""

from __future__ import annotations

import csv
import datetime as dt

import psycopg
import pytest

from builders import fixture_load, insert_event, insert_person
from kenshin.exchange import queries as linkage

pytestmark = pytest.mark.integration

D = dt.date


move = insert_event


@pytest.fixture
def arrivals(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        # 1: moved in on April 1 at 45, still here
        insert_person(conn, "0000000001", 1, D(1981, 5, 5), valid_from=D(2026, 4, 1))
        move(conn, "0000000001", "02", D(2026, 4, 1), 1)
        # ... tested for hepatitis once (reported by their previous municipality): no longer a target of it
        conn.execute("""insert into core.external_screening (addressee_id, source_municipality_code, exam_type,
                               exam_date, result_code) values ('0000000001', '131016', '12', '2019-06-01', '1')""")
        # 2: moved in on April 1, left again on May 1
        insert_person(conn, "0000000002", 1, D(1981, 5, 5), valid_from=D(2026, 4, 1), valid_to=D(2026, 5, 1))
        insert_person(conn, "0000000002", 1, D(1981, 5, 5), valid_from=D(2026, 5, 1), status=2, new=False)
        move(conn, "0000000002", "02", D(2026, 4, 1), 2)
        move(conn, "0000000002", "03", D(2026, 5, 1), 3)
        # 3: a child of 10, target of no programme
        insert_person(conn, "0000000003", 2, D(2016, 5, 5), valid_from=D(2026, 4, 1))
        move(conn, "0000000003", "02", D(2026, 4, 1), 4)
        # 4: lived here in 2025, left, came back on April 10: asked about the new move-in only
        insert_person(conn, "0000000004", 2, D(1970, 5, 5), valid_from=D(2025, 1, 1), valid_to=D(2025, 6, 1))
        insert_person(conn, "0000000004", 2, D(1970, 5, 5), valid_from=D(2025, 6, 1), valid_to=D(2026, 4, 10),
                      status=2, new=False)
        insert_person(conn, "0000000004", 2, D(1970, 5, 5), valid_from=D(2026, 4, 10), new=False)
        move(conn, "0000000004", "02", D(2025, 1, 1), 5, previous="271004")
        move(conn, "0000000004", "03", D(2025, 6, 1), 6)
        move(conn, "0000000004", "02", D(2026, 4, 10), 7, previous="011002")
        # 5: moved in three years ago: older than the platform asks about
        insert_person(conn, "0000000005", 1, D(1970, 5, 5), valid_from=D(2023, 4, 1))
        move(conn, "0000000005", "02", D(2023, 4, 1), 8)
    return db_url


def requests(url) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("""select addressee_id, previous_municipality_code, fiscal_year_from, fiscal_year_to,
                                      state, file_name from ops.linkage_request order by addressee_id""").fetchall()


def test_each_move_in_is_asked_about_once_after_the_lag_window(arrivals, tmp_path):
    # lag 90 days: April 1 + 90 = June 30
    assert linkage.request(D(2026, 6, 29), url=arrivals)["queued"] == 0
    day_n = linkage.request(D(2026, 6, 30), url=arrivals)
    assert day_n["queued"] == 1 and len(day_n["files"]) == 1
    assert requests(arrivals) == [
        # targets of cancer screenings only (kept 5 years): FY2021 to the move-in's FY2026
        ("0000000001", "131016", 2021, 2026, "sent", "shokai_req_20260630_001.csv")]
    assert linkage.request(D(2026, 6, 30), url=arrivals)["queued"] == 0     # the same day again
    july = linkage.request(D(2026, 7, 9), url=arrivals)                     # April 10 + 90
    assert july["queued"] == 1
    assert [r[0] for r in requests(arrivals)] == ["0000000001", "0000000004"]
    # a woman of 56: cancer screenings only (kept 5 years). Hepatitis (kept for life)
    # is not run by the city: nobody is asked back to the network's first year for it
    assert requests(arrivals)[1][1:4] == ("011002", 2021, 2026)
    for day in (D(2026, 7, 10), D(2026, 12, 1)):
        assert linkage.request(day, url=arrivals)["queued"] == 0

    lines = (tmp_path / "outbox" / "linkage" / "shokai_req_20260630_001.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(lines.splitlines()))
    assert rows[0][:2] == ["H", "SHOKAI_REQ"] and rows[0][3] == "141305"
    assert rows[1][0] == "D" and rows[1][2:] == ["0000000001", "131016", "2021", "2026"]
    assert rows[2] == ["T", "1"]


def test_request_files_hold_at_most_the_configured_number(arrivals, monkeypatch, tmp_path):
    monkeypatch.setattr(linkage, "policy", lambda: {**linkage.config.load("linkage"), "max_requests_per_file": 1})
    result = linkage.request(D(2026, 7, 9), url=arrivals)
    assert result["queued"] == 2
    assert sorted(p.rsplit("/", 1)[1] for p in result["files"]) == [
        "shokai_req_20260709_001.csv", "shokai_req_20260709_002.csv"]
    assert not list((tmp_path / "outbox" / "linkage").glob(".*"))      # no temporary file left
