"""Letters on a real database: who gets which kind, never twice, follow-up
timing, protection-flagged persons only on the manual list, and the files
(CP932 CSV, a PDF that pdftotext reads back)."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess

import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening
from kenshin.letters import notices
from kenshin.letters import print_files as letters

pytestmark = pytest.mark.integration

D = dt.date
DV_NAME = "秘匿　一子"


@pytest.fixture
def city(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 2, D(2006, 4, 2), name_kanji="二十　花子")     # 20 in FY2026
        insert_person(conn, "0000000002", 2, D(1986, 4, 2), name_kanji="四十　春子")     # 40
        insert_person(conn, "0000000003", 2, D(1986, 4, 2), name_kanji=DV_NAME, protection_flag=True)
        insert_person(conn, "0000000004", 1, D(1981, 4, 2), name_kanji="四五　次郎")     # 45
        insert_person(conn, "0000000005", 2, D(1986, 4, 2), valid_to=D(2026, 3, 1))    # moved out in March
        insert_person(conn, "0000000005", 2, D(1986, 4, 2), valid_from=D(2026, 3, 1), status=2, new=False)
        insert_person(conn, "0000000006", 1, D(1976, 4, 2), name_kanji="福祉　三郎")     # 50, on welfare
        conn.execute("""insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date,
                               last_listed, load_id) values ('0000000006', '00000001', 1, '2025-01-01',
                               '2026-03-01', 1)""")
        insert_person(conn, "0000000007", 1, D(1960, 1, 1), name_kanji="精検　七郎")
        insert_person(conn, "0000000008", 1, D(1960, 1, 1), name_kanji="精検　八郎")
        insert_person(conn, "0000000009", 2, D(1985, 4, 2), name_kanji="HPV　九子")     # 41
        insert_person(conn, "0000000010", 2, D(1985, 4, 2), name_kanji="HPV　十子")
    return db_url


def read_csv(path) -> list[dict]:
    with path.open(encoding="cp932", newline="") as f:
        return list(csv.DictReader(f))


def test_vouchers_go_once_to_exactly_the_targets_and_never_in_bulk_to_a_protected_person(city):
    dry = notices.run("VOUCHER", D(2026, 4, 1), dry_run=True, url=city)
    assert (dry["letters"], dry["bulk"], dry["manual"]) == (6, 5, 1)
    assert "files" not in dry
    with psycopg.connect(city) as conn:
        assert conn.execute("select count(*) from core.notice").fetchone()[0] == 0

    first = notices.run("VOUCHER", D(2026, 4, 1), url=city)
    assert (first["letters"], first["bulk"], first["manual"], first["causes"]) == (6, 5, 1, 7)
    vendor = read_csv(letters.notices_dir() / "20260401_VOUCHER.csv")
    assert [(r["addressee_id"], r["exam_types"], r["deadline"]) for r in vendor] == [
        ("0000000001", "09", "20270331"),      # periodontal at 20 (年度年齢); 19 on April 1: no coupon
        ("0000000002", "09", "20270331"),      # periodontal at 40; 39 on April 1: no breast coupon
        ("0000000006", "09 11", "20270331"),   # periodontal at 50, welfare health check
        ("0000000009", "07", "20270331"),      # 40 on April 1 2026: the breast coupon
        ("0000000010", "07", "20270331"),
    ]
    manual = read_csv(letters.notices_dir() / "20260401_VOUCHER_manual.csv")
    assert [(r["addressee_id"], r["exam_types"]) for r in manual] == [("0000000003", "09")]

    pdf_text = subprocess.run(["pdftotext", "-layout", first["files"]["pdf"], "-"],
                              capture_output=True, text=True, check=True).stdout
    assert "二十" in pdf_text and "花子 様" in pdf_text and "2027年3月31日" in pdf_text
    assert pdf_text.count("通知番号") == 5
    for path in (first["files"]["csv"], first["files"]["pdf"]):
        text = (subprocess.run(["pdftotext", path, "-"], capture_output=True, text=True, check=True).stdout
                if path.endswith(".pdf") else open(path, encoding="cp932").read())
        assert "0000000003" not in text and "秘匿" not in text

    again = notices.run("VOUCHER", D(2026, 4, 1), url=city)
    later = notices.run("VOUCHER", D(2026, 6, 1), url=city)
    assert again["letters"] == later["letters"] == 0
    with psycopg.connect(city) as conn:
        assert conn.execute("select count(*) from core.notice").fetchone()[0] == 6


@pytest.fixture
def coupon_cohorts(db_url, tmp_path, monkeypatch):
    """The national coupon rule, "20 (cervical) / 40 (breast) on April 1 of the
    fiscal year": for FY2026 the women born 2005-04-02 ... 2006-04-01 and
    1985-04-02 ... 1986-04-01, and one day outside each end (DOMAIN.md)."""
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        for i, birth in enumerate((D(2005, 4, 1), D(2005, 4, 2), D(2006, 4, 1), D(2006, 4, 2),
                                   D(1985, 4, 1), D(1985, 4, 2), D(1986, 4, 1), D(1986, 4, 2)), start=1):
            insert_person(conn, f"{i:010d}", 2, birth)
    return db_url


def test_coupons_go_to_the_cohorts_of_20_and_40_on_april_1(coupon_cohorts):
    notices.run("VOUCHER", D(2026, 4, 1), url=coupon_cohorts)
    vendor = {r["addressee_id"]: r["exam_types"] for r in read_csv(letters.notices_dir() / "20260401_VOUCHER.csv")}
    assert vendor == {
        # born 2005-04-01: 21 on April 1, 22 in 年度年齢: neither coupon nor a periodontal milestone
        "0000000002": "05",   # born 2005-04-02: 20 on April 1 (21 in 年度年齢)
        "0000000003": "05",   # born 2006-04-01: turned 20 at the end of March 31
        "0000000004": "09",   # born 2006-04-02: 19 on April 1, no coupon; periodontal at 20 (年度年齢)
        # born 1985-04-01: 41 on April 1
        "0000000006": "07",   # born 1985-04-02: 40 on April 1
        "0000000007": "07",   # born 1986-04-01: 40 on April 1
        "0000000008": "09",   # born 1986-04-02: 39 on April 1, no coupon; periodontal at 40
    }


def test_invitations_skip_who_was_screened_and_go_once(city):
    with psycopg.connect(city) as conn:
        insert_screening(conn, "0000000004", "04", D(2026, 6, 1), 1, "1")
        # HPV-only last fiscal year: 9 HPV-positive with a negative triage (result 2), 10 negative
        insert_screening(conn, "0000000009", "06", D(2025, 10, 1), 2, "2")
        insert_screening(conn, "0000000010", "06", D(2025, 10, 1), 3, "1")
    first = notices.run("INVITE", D(2026, 10, 1), url=city)
    vendor = {r["addressee_id"]: r["exam_types"] for r in read_csv(letters.notices_dir()
                                                                    / "20261001_INVITE.csv")}
    assert vendor["0000000004"] == "01 03"            # colorectal done in June
    assert vendor["0000000001"] == "05"               # 20: cytology only (HPV-only from 30)
    assert vendor["0000000002"] == "01 03 04 06 07"   # 40: HPV-only, not cytology
    assert vendor["0000000006"] == "01 03 04"         # 50: the endoscopy (02) is not on the invitation
    assert vendor["0000000009"] == "01 03 04 06 07"   # the follow-up HPV test a year on
    assert vendor["0000000010"] == "01 03 04 07"      # HPV-negative last FY: five years
    assert "0000000005" not in vendor and "0000000003" not in vendor
    assert first["manual"] == 1
    assert notices.run("INVITE", D(2026, 10, 1), url=city)["letters"] == 0


def test_followups_on_day_n_then_m_days_later_and_never_a_third(city):
    with psycopg.connect(city) as conn:
        insert_screening(conn, "0000000007", "04", D(2026, 5, 1), 1, "3")
        eight = insert_screening(conn, "0000000008", "04", D(2026, 5, 1), 2, "3")
        insert_screening(conn, "0000000004", "04", D(2026, 5, 1), 3, "1")   # not 要精検

    def letters(kind, day):
        return notices.run(kind, day, url=city)["letters"]

    assert letters("FOLLOWUP", D(2026, 7, 29)) == 0        # day N-1 (N = 90)
    assert letters("FOLLOWUP", D(2026, 7, 30)) == 2        # day N
    assert letters("FOLLOWUP", D(2026, 7, 30)) == 0        # the same day again
    with psycopg.connect(city) as conn:                    # the outcome of 8 arrives
        conn.execute("""insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome,
                               clinic_code, link_method, load_id, line_no)
                        values (%s, '0000000008', '2026-08-15', '4', '1413050001', 'fixture', 1, 9)""", (eight,))
    assert letters("FOLLOWUP2", D(2026, 10, 27)) == 0      # M - 1 days after the first letter (M = 90)
    assert letters("FOLLOWUP2", D(2026, 10, 28)) == 1      # only 7: 8's outcome stopped the second letter
    for day in (D(2026, 10, 28), D(2027, 1, 26), D(2027, 4, 30)):
        assert letters("FOLLOWUP", day) == letters("FOLLOWUP2", day) == 0   # never a third
    with psycopg.connect(city) as conn:
        sent = conn.execute("select kind, addressee_id from core.notice order by notice_id").fetchall()
    assert sent == [("FOLLOWUP", "0000000007"), ("FOLLOWUP", "0000000008"), ("FOLLOWUP2", "0000000007")]
