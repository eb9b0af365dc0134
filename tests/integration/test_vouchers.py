"""Vouchers with numbers (受診券, DOMAIN.md "Coupons and vouchers", LAYOUTS.md §4):
issued with the VOUCHER letter and printed on it and in the vendor's CSV, to
whoever becomes a target mid-year within the configured days, reissued with
the old number void, and checked at intake (check digit, issued, not void)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys

import psycopg
import pytest

from builders import Person, clinic_file, jumin_file, kenshin_row
from kenshin.ingest.loading import ingest_file
from kenshin.letters import notices
from kenshin.letters import print_files as letters
from kenshin.platform import config
from kenshin.programmes import voucher_numbers as vouchers

pytestmark = pytest.mark.integration

D = dt.date


def test_the_check_digit_is_luhn_over_the_first_eleven_digits():
    assert vouchers.luhn_digit("7992739871") == "3"          # the textbook example
    n = vouchers.number(2026, "09", 1)
    # FY 26, exam type 09, serial 0000001; Luhn by hand: 2·1 + 9 + 6 + 2·2 = 21 → 9
    assert n == "260900000019" and vouchers.check_digit_ok(n)
    wrong = n[:11] + str((int(n[11]) + 1) % 10)
    assert vouchers.refusal(wrong, "09", D(2026, 6, 1)).startswith("check digit")
    assert vouchers.refusal(n, "09", D(2027, 6, 1)) == "not a voucher of the exam date's fiscal year"
    assert vouchers.refusal(n, "11", D(2026, 6, 1)) == "not a voucher of this exam type"
    assert vouchers.refusal(n, "09", D(2027, 3, 31)) is None


def _p(n: int, sex: str, birth: dt.date, kanji: str, kana: str, since: str = "20000401") -> Person:
    return Person(f"{9200 + n:010d}", name_kanji=kanji, name_kana=kana, sex=sex, birth=birth,
                  household_id=f"{2000009200 + n:010d}", address=f"神奈川県川崎市幸区南加瀬{n}丁目2番3号",
                  resident_since=since)


FORTY = _p(1, "1", D(1986, 6, 1), "節目\u3000四郎", "フシメ\u3000シロウ")          # 40: periodontal
MOVER = _p(2, "2", D(1996, 5, 5), "転入\u3000三子", "テンニュウ\u3000ミツコ", "20260710")   # 30, moves in July 10
WELFARE = _p(3, "1", D(1970, 8, 8), "福祉\u3000健", "フクシ\u3000ケン")              # 56, assistance from Sept 3


@pytest.fixture
def city(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path / "data"))
    assert ingest_file(jumin_file(tmp_path, "20260331", "full", [FORTY.jumin_row(), WELFARE.jumin_row()]),
                       url=db_url).status == "loaded"
    return db_url


def _vouchers(url) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select addressee_id, voucher_number, exam_type, issued_on, valid_to, voided_on "
                            "from core.voucher order by issued_on, voucher_number").fetchall()
    out: dict[str, list[tuple]] = {}
    for aid, *rest in rows:
        out.setdefault(aid, []).append(tuple(rest))
    return out


def test_vouchers_are_numbered_printed_and_issued_mid_year_within_the_set_days(city, tmp_path):
    first = notices.run("VOUCHER", D(2026, 4, 1), url=city)
    assert (first["letters"], first["vouchers"]) == (1, 1)
    [(number, code, issued, valid_to, voided)] = _vouchers(city)[FORTY.addressee_id]
    assert (code, issued, valid_to, voided) == ("09", D(2026, 4, 1), D(2027, 3, 31), None)
    assert number == vouchers.number(2026, "09", 1) and vouchers.check_digit_ok(number)
    with open(first["files"]["csv"], encoding="cp932", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert (row["exam_types"], row["voucher_numbers"]) == ("09", number)
    pdf = subprocess.run(["pdftotext", "-layout", first["files"]["pdf"], "-"], capture_output=True, text=True,
                         check=True).stdout
    assert f"受診券番号 {number}" in pdf

    # the July move-in and the September welfare start, as the registry and the
    # welfare list bring them; the reminders DAG's VOUCHER task runs on the days it is due
    every = int(config.load("notices")["kinds"]["VOUCHER"]["mid_year_every_days"])
    assert ingest_file(jumin_file(tmp_path, "20260710", "diff", [MOVER.jumin_row("02", "20260710")]),
                       url=city).status == "loaded"
    with psycopg.connect(city) as conn:
        conn.execute("""insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date,
                               last_listed, load_id) values (%s, '00000077', 1, '2026-09-03', '2026-09-30',
                               (select min(load_id) from ops.load_manifest))""", (WELFARE.addressee_id,))
    sent_on = {}
    day = D(2026, 4, 2)
    while day <= D(2026, 10, 31):
        if notices.due("VOUCHER", day) is None:
            result = notices.run("VOUCHER", day, url=city)
            for aid in _vouchers(city):
                sent_on.setdefault(aid, day)
            assert result["letters"] in (0, 1)
        day += dt.timedelta(days=1)
    assert D(2026, 7, 10) <= sent_on[MOVER.addressee_id] < D(2026, 7, 10) + dt.timedelta(days=every)
    assert D(2026, 9, 3) <= sent_on[WELFARE.addressee_id] < D(2026, 9, 3) + dt.timedelta(days=every)
    got = _vouchers(city)
    assert [c for _, c, *_ in got[MOVER.addressee_id]] == ["09"]        # periodontal at 30
    assert [c for _, c, *_ in got[WELFARE.addressee_id]] == ["11"]      # the welfare health check
    assert len(got) == 3 and all(len(v) == 1 for v in got.values())   # never twice


def _cli(url, data, *args):
    env = {**os.environ, "KENSHIN_DATABASE_URL": url, "KENSHIN_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "kenshin.cli", *args], capture_output=True, text=True, env=env)


def test_a_reissued_vouchers_old_number_is_refused_at_intake(city, tmp_path):
    notices.run("VOUCHER", D(2026, 4, 1), url=city)
    [(old, *_)] = _vouchers(city)[FORTY.addressee_id]
    done = _cli(city, tmp_path / "data", "voucher", "reissue", FORTY.addressee_id, "--reason", "紛失",
                "--by", "kenko.sato", "--as-of", "2026-06-15")
    assert done.returncode == 0, done.stderr
    rows = _vouchers(city)[FORTY.addressee_id]
    new = next(n for n, *rest in rows if rest[-1] is None)
    with psycopg.connect(city) as conn:
        void = conn.execute("select voided_on, void_reason, voided_by, replaced_by from core.voucher "
                            "where voucher_number = %s", (old,)).fetchone()
    assert void == (D(2026, 6, 15), "紛失", "kenko.sato", new)
    assert new == vouchers.number(2026, "09", 2)
    reissue_csv = letters.notices_dir() / "20260615_VOUCHER_reissue.csv"
    assert new in reissue_csv.read_text(encoding="cp932") and old not in reissue_csv.read_text(encoding="cp932")

    wrong_digit = new[:11] + str((int(new[11]) + 3) % 10)
    never = vouchers.number(2026, "09", 999)
    rows = [kenshin_row(FORTY, "20261015", line_no=1, exam_type="09", voucher_number=old),
            kenshin_row(FORTY, "20261016", line_no=2, exam_type="09", voucher_number=wrong_digit),
            kenshin_row(FORTY, "20261017", line_no=3, exam_type="09", voucher_number=never),
            kenshin_row(FORTY, "20261018", line_no=4, exam_type="09", voucher_number=new, name_kanji="")]
    result = ingest_file(clinic_file(tmp_path, "kenshin", "202610", rows), url=city)
    with psycopg.connect(city) as conn:
        why = dict(conn.execute("select line_no - 1, field || ': ' || reason from ops.quarantine where load_id = %s",
                                (result.load_id,)).fetchall())
        linked = conn.execute("select line_no - 1, link_method from core.screening where load_id = %s",
                              (result.load_id,)).fetchall()
    assert why == {1: "voucher_number: voucher number is void (reissued)",
                   2: "voucher_number: check digit does not match (Luhn over the first 11 digits)",
                   3: "voucher_number: voucher number was never issued"}
    assert linked == [(4, "voucher")]
    assert (result.rows, result.loaded, result.quarantined, result.review) == (4, 1, 3, 0)


def test_a_reissue_needs_a_valid_voucher_a_reason_and_a_staff_id(city, tmp_path):
    data = tmp_path / "data"
    none = _cli(city, data, "voucher", "reissue", FORTY.addressee_id, "--reason", "紛失", "--by", "kenko.sato",
                "--as-of", "2026-06-15")
    assert none.returncode == 1 and "holds no valid voucher of FY2026" in none.stderr
    notices.run("VOUCHER", D(2026, 4, 1), url=city)
    blank = _cli(city, data, "voucher", "reissue", FORTY.addressee_id, "--reason", " ", "--by", "kenko.sato",
                 "--as-of", "2026-06-15")
    assert blank.returncode == 1 and "needs a reason" in blank.stderr
    assert len(_vouchers(city)[FORTY.addressee_id]) == 1
