"""要精検 per exam type and 精検未受診 (outcome 5) from intake to letters and
indicators (DOMAIN.md "Quality indicators", LAYOUTS.md §5): cervical cytology
判定不能 (9) needs a detailed exam; a reported non-attendance is 未受診, no report
at all is 未把握, and the two are never folded into one. Counts hand-computed."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from builders import clinic_file, jumin_file, kenshin_row, people, seiken_row
from kenshin.ingest.loading import ingest_file
from kenshin.letters import notices
from kenshin.reporting.marts import build

pytestmark = pytest.mark.integration

EXAM = "20261003"


def q(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_cervical_9_and_outcome_5_from_intake_to_letters_and_indicators(db_url, tmp_path):
    city = people(120)
    women = [p for p in city if p.sex == "2" and p.birth <= dt.date(1960, 1, 1)]
    a, b, c, d, e = women[:5]          # 61+ in FY2026: cytology (05) and breast (07) targets
    assert ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in city]),
                       url=db_url).status == "loaded"
    screenings = clinic_file(tmp_path, "kenshin", "202610", [
        kenshin_row(a, EXAM, line_no=1, exam_type="05", result_code="9"),   # 判定不能: 要精検 for cytology
        kenshin_row(e, EXAM, line_no=2, exam_type="05", result_code="1"),
        kenshin_row(b, EXAM, line_no=3, exam_type="07", result_code="3"),
        kenshin_row(c, EXAM, line_no=4, exam_type="07", result_code="3"),
        kenshin_row(d, EXAM, line_no=5, exam_type="07", result_code="3"),
    ])
    assert ingest_file(screenings, url=db_url).loaded == 5
    outcomes = clinic_file(tmp_path, "seiken", "202612", [
        seiken_row(a, EXAM, "20261201", line_no=1, exam_type="05", outcome="5"),   # known not to have gone
        seiken_row(b, EXAM, "20261201", line_no=2, exam_type="07", outcome="5"),
        seiken_row(d, EXAM, "20261120", line_no=3, exam_type="07", outcome="1"),   # attended: cancer
    ])                                                                            # c: no report (未把握)
    result = ingest_file(outcomes, url=db_url)
    assert (result.loaded, result.review, result.quarantined) == (3, 0, 0)   # a's 9 is followed up, no orphan
    assert sorted(q(db_url, "select s.exam_type, s.result_code, d.outcome from core.detailed_exam d "
                            "join core.screening s using (screening_id)")) == [("05", "9", "5"), ("07", "3", "1"),
                                                                               ("07", "3", "5")]

    # 精検受診勧奨 90 days on: everyone 要精検 without an attended outcome (a, b, c), not d, not e
    day = dt.date(2026, 10, 3) + dt.timedelta(days=notices.policy()["kinds"]["FOLLOWUP"]["days_after_exam"])
    with psycopg.connect(db_url) as conn:
        letters = notices.select(conn, "FOLLOWUP", day).letters
    assert sorted((x.addressee_id, tuple(x.exam_types)) for x in letters) == sorted(
        [(a.addressee_id, ("05",)), (b.addressee_id, ("07",)), (c.addressee_id, ("07",))])

    assert build(vars={"suppress_below": 1}, url=db_url)
    got = {code: values for code, *values in q(db_url, """
        select exam_type, screened, needing_detailed_exam, detailed_exam_attended, detailed_exam_not_attended,
               detailed_exam_unknown, cancers_found, followup_rate, not_attended_rate, unknown_rate,
               not_attended_or_unknown_rate
          from stats.process_indicators where fiscal_year = 2026 and sex = 'all' and age_band = 'all'""")}
    # cytology: 2 screened, 1 要精検 (the 9), reported not attended
    assert got["05"][:6] == [2, 1, 0, 1, 0, 0]
    assert [float(x) for x in got["05"][6:]] == [0.0, 100.0, 0.0, 100.0]
    # breast: 3 要精検: d attended (cancer), b 未受診 (reported), c 未把握 (no report)
    assert got["07"][:6] == [3, 3, 1, 1, 1, 1]
    assert [float(x) for x in got["07"][6:]] == [33.33, 33.33, 33.33, 66.67]
