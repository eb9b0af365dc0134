"""使用方法1 at intake: each linked clinic record's person must have been a target
of its exam type on the exam date (DOMAIN.md "Checking what clinics send").
Hand-computed from the rules of DOMAIN.md: an out-of-interval screening and a
second one of the same method in a fiscal year (重複受診) wait in review with that
reason, staff decide (recorded), the HPV follow-up test is accepted at any age,
an inactive programme's record goes back to the clinic, and rows in = loaded +
quarantined + review holds through it all."""

from __future__ import annotations

import csv
import datetime as dt

import psycopg
import pytest

from builders import Person, clinic_file, fixture_load, insert_screening, jumin_file, kenshin_row
from kenshin.ingest.loading import ingest_file
from kenshin.letters import notices
from kenshin.matching import return_lists
from kenshin.matching import review_queue as review

pytestmark = pytest.mark.integration

D = dt.date


def _person(n: int, sex: str, birth: dt.date, kanji: str, kana: str) -> Person:
    return Person(f"{9100 + n:010d}", name_kanji=kanji, name_kana=kana, sex=sex, birth=birth,
                  household_id=f"{2000009100 + n:010d}", address=f"神奈川県川崎市中原区木月{n}丁目1番1号")


BREAST = _person(1, "2", D(1970, 6, 1), "乳井\u3000明美", "ニュウイ\u3000アケミ")        # 56 in FY2026
COLON = _person(2, "1", D(1966, 7, 7), "大腸\u3000健一", "ダイチョウ\u3000ケンイチ")     # 60
GASTRO = _person(3, "1", D(1960, 8, 8), "胃野\u3000守", "イノ\u3000マモル")              # 66
GASTRO2 = _person(4, "1", D(1961, 9, 9), "胃沢\u3000茂", "イザワ\u3000シゲル")            # 65
HPV_62 = _person(5, "2", D(1964, 5, 1), "追跡\u3000直子", "ツイセキ\u3000ナオコ")        # 62
HPV_NO = _person(6, "2", D(1964, 6, 1), "年上\u3000和子", "トシウエ\u3000カズコ")        # 62, no follow-up due
LIVER = _person(7, "1", D(1980, 1, 1), "肝田\u3000誠", "キモダ\u3000マコト")             # 46
EVERYONE = [BREAST, COLON, GASTRO, GASTRO2, HPV_62, HPV_NO, LIVER]


@pytest.fixture
def month(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path / "data"))
    assert ingest_file(jumin_file(tmp_path, "20260401", "full", [p.jumin_row() for p in EVERYONE]),
                       url=db_url).status == "loaded"
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_screening(conn, BREAST.addressee_id, "07", D(2025, 11, 20), 1)       # breast last FY
        insert_screening(conn, COLON.addressee_id, "04", D(2026, 6, 3), 2)          # colorectal this FY
        insert_screening(conn, GASTRO.addressee_id, "02", D(2025, 9, 1), 3)         # endoscopy last FY
        insert_screening(conn, GASTRO2.addressee_id, "01", D(2025, 9, 1), 4)        # X-ray last FY
        insert_screening(conn, HPV_62.addressee_id, "06", D(2025, 10, 1), 5, "2")   # HPV+, triage-negative at 61
    rows = [
        kenshin_row(BREAST, "20261015", line_no=1, exam_type="07"),     # within the 2-year interval
        kenshin_row(COLON, "20261015", line_no=2, exam_type="04"),      # a second colorectal in FY2026
        kenshin_row(GASTRO, "20261015", line_no=3, exam_type="01"),     # X-ray the FY after an endoscopy
        kenshin_row(GASTRO2, "20261015", line_no=4, exam_type="02"),    # endoscopy the FY after an X-ray: fine
        kenshin_row(HPV_62, "20261015", line_no=5, exam_type="06", result_code="3"),   # follow-up positive
        kenshin_row(HPV_NO, "20261015", line_no=6, exam_type="06"),     # HPV-only at 62, nothing due
        kenshin_row(LIVER, "20261015", line_no=7, exam_type="12"),      # hepatitis: not run
        kenshin_row(GASTRO2, "20261005", line_no=8, exam_type="03"),    # lung, fine ...
        kenshin_row(GASTRO2, "20261026", line_no=9, exam_type="03"),    # ... and again in the same file
    ]
    result = ingest_file(clinic_file(tmp_path, "kenshin", "202610", rows), url=db_url)
    return db_url, result


def _items(url, load_id) -> dict[int, tuple[str, str, int]]:
    with psycopg.connect(url) as conn:
        return {line - 1: (kind, reason, rid) for line, kind, reason, rid in conn.execute(
            "select line_no, kind, reason, review_id from ops.review_item where load_id = %s and status = 'open'",
            (load_id,))}


def _reconciled(url, load_id) -> tuple[int, int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select rows_in_file, rows_loaded, rows_quarantined, rows_review,
                      (select count(*) from ops.record_match where load_id = m.load_id and outcome = 'linked'),
                      (select count(*) from ops.quarantine where load_id = m.load_id),
                      (select count(*) from ops.review_item where load_id = m.load_id and status = 'open')
                 from ops.load_manifest m where load_id = %s""", (load_id,)).fetchone()


def test_who_was_not_a_target_on_the_exam_date_waits_in_review_with_the_reason(month):
    url, result = month
    assert result.status == "loaded"
    items = _items(url, result.load_id)
    assert {line: kind for line, (kind, _, _) in items.items()} == {
        1: "not_a_target", 2: "repeat_in_fiscal_year", 3: "not_a_target", 6: "not_a_target",
        9: "repeat_in_fiscal_year"}
    assert items[1][1] == ("対象外受診: not a target of exam type 07 on the exam date (screened by exam type 07 "
                           "in FY2025, which blocks exam type 07 in FY2026)")
    assert items[2][1] == "重複受診: a second screening by exam type 04 in FY2026"
    assert items[3][1].startswith("対象外受診: not a target of exam type 01") and "exam type 02 in FY2025" in items[3][1]
    assert "outside the programme's ages" in items[6][1]
    assert items[9][1] == "重複受診: a second screening by exam type 03 in FY2026"
    with psycopg.connect(url) as conn:
        loaded = conn.execute("select addressee_id, exam_type, exam_date from core.screening where load_id = %s "
                              "order by exam_type", (result.load_id,)).fetchall()
        returned = conn.execute("select line_no - 1, field, reason from ops.quarantine where load_id = %s",
                                (result.load_id,)).fetchall()
    assert loaded == [(GASTRO2.addressee_id, "02", D(2026, 10, 15)), (GASTRO2.addressee_id, "03", D(2026, 10, 5)),
                      (HPV_62.addressee_id, "06", D(2026, 10, 15))]
    assert [(line, field) for line, field, _ in returned] == [(7, "exam_type")]
    assert "is not run by the city" in returned[0][2]
    assert (result.rows, result.loaded, result.quarantined, result.review) == (9, 3, 1, 5)
    rows, loaded_n, quarantined, in_review, linked, q_rows, open_items = _reconciled(url, result.load_id)
    assert rows == loaded_n + quarantined + in_review == linked + q_rows + open_items == 9


def test_the_return_list_tells_the_clinic_the_programme_is_not_run(month):
    url, result = month
    path = return_lists.returns_dir() / f"kenshin_{result.file.split('_')[1]}_202610_henrei.csv"
    with path.open(encoding="cp932", newline="") as fh:
        lines = list(csv.reader(fh))
    assert any("本市では実施していない検診です" in ",".join(line) for line in lines)


def test_staff_decide_an_eligibility_item_and_the_decision_is_recorded(month):
    url, result = month
    items = _items(url, result.load_id)
    accepted = review.decide(items[1][2], by="kenko.tanaka", link=BREAST.addressee_id,
                             reason="医師の判断による受診（市が費用を負担）", url=url)
    refused = review.decide(items[2][2], by="kenko.tanaka", reject_reason="同一年度の重複受診", url=url)
    assert (accepted["decision"], refused["decision"]) == ("linked", "rejected")
    with psycopg.connect(url) as conn:
        decided = conn.execute("select line_no - 1, status, decided_by, decision_reason from ops.review_item "
                               "where load_id = %s and status <> 'open' order by line_no",
                               (result.load_id,)).fetchall()
        breast = conn.execute("select link_method from core.screening where addressee_id = %s and exam_date = "
                              "'2026-10-15'", (BREAST.addressee_id,)).fetchall()
        colon = conn.execute("select reason from ops.quarantine where load_id = %s and line_no = 3",
                             (result.load_id,)).fetchone()[0]
    assert decided == [(1, "linked", "kenko.tanaka", "医師の判断による受診（市が費用を負担）"),
                       (2, "rejected", "kenko.tanaka", "同一年度の重複受診")]
    assert breast == [("review",)]                   # loaded as decided, not checked again
    assert colon == "rejected at review (重複受診): 同一年度の重複受診"
    rows, loaded_n, quarantined, in_review, linked, q_rows, open_items = _reconciled(url, result.load_id)
    assert (rows, loaded_n, quarantined, in_review) == (9, 4, 2, 3)
    assert linked + q_rows + open_items == 9
    path = next(return_lists.returns_dir().glob("*_henrei.csv"))
    assert "同一年度に同じ方法で受診済みのため返戻します（重複受診）" in path.read_text(encoding="cp932")


def test_a_positive_follow_up_test_at_62_is_loaded_and_followed_up(month):
    """HPV-only: triage-negative at 61 (FY2025) -> the follow-up HPV test in FY2026 at
    62, over the method's ages -> positive (要精検) -> the FOLLOWUP letter 90 days on."""
    url, _ = month
    batch = notices.run("FOLLOWUP", D(2027, 1, 13), url=url)        # 2026-10-15 + 90 days
    with psycopg.connect(url) as conn:
        letters = conn.execute("select addressee_id, exam_types from core.notice where kind = 'FOLLOWUP'").fetchall()
    assert batch["letters"] == 1 and letters == [(HPV_62.addressee_id, ["06"])]
