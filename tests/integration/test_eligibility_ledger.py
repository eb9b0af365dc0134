"""Eligibility read from the ledger: versions on the day, NHI and welfare
periods, the city's own screenings and those a previous municipality reported;
`kenshin eligible` prints one JSON line per person."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening
from kenshin.programmes import eligibility

pytestmark = pytest.mark.integration

DAY = dt.date(2026, 6, 1)
D = dt.date


@pytest.fixture
def ledger(db_url):
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        # 1: a resident woman screened for breast cancer last fiscal year
        insert_person(conn, "0000000001", 2, D(1970, 1, 1))
        insert_screening(conn, "0000000001", "07", D(2025, 10, 1), 1)
        # 2: moved in this April; her previous municipality reported a breast screening last FY
        insert_person(conn, "0000000002", 2, D(1970, 1, 1), valid_from=D(2026, 4, 1))
        conn.execute("""insert into core.external_screening (addressee_id, source_municipality_code, exam_type,
                               exam_date, result_code) values ('0000000002', '131016', '07', '2025-09-01', '1')""")
        # 3: a man of 61 in the NHI; 4: a man of 61 on public assistance (not NHI)
        insert_person(conn, "0000000003", 1, D(1965, 5, 5))
        conn.execute("""insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, last_listed,
                               load_id) values ('0000000003', '\\x00', '2020-01-01', '2026-05-01', 1)""")
        insert_person(conn, "0000000004", 1, D(1965, 5, 5))
        conn.execute("""insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date,
                               last_listed, load_id) values ('0000000004', '00000001', 1, '2025-01-01',
                               '2026-05-01', 1)""")
        # 5: moved out on May 1; 6: moves in only in July; 7: left the NHI at the end of March
        insert_person(conn, "0000000005", 1, D(1965, 5, 5), valid_to=D(2026, 5, 1))
        insert_person(conn, "0000000005", 1, D(1965, 5, 5), valid_from=D(2026, 5, 1), status=2, new=False)
        insert_person(conn, "0000000006", 1, D(1965, 5, 5), valid_from=D(2026, 7, 1))
        insert_person(conn, "0000000007", 1, D(1965, 5, 5))
        conn.execute("""insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, qualified_to,
                               last_listed, load_id) values ('0000000007', '\\x00', '2020-01-01', '2026-03-31',
                               '2026-03-01', 1)""")
    return db_url


def test_the_ledger_on_the_day_decides(ledger):
    with psycopg.connect(ledger) as conn:
        verdicts = {p.addressee_id: eligibility.assess(p, DAY) for p in eligibility.people(conn, DAY)}
        selected = dict(eligibility.targets(conn, DAY, ["07", "08", "11"]))
    assert sorted(verdicts) == [f"{i:010d}" for i in (1, 2, 3, 4, 5, 7)]  # 6 is not on the ledger yet
    assert "blocked by exam type 07 on 2025-10-01 (FY2025, in this city)" in verdicts["0000000001"]["07"]
    # the previous municipality's record blocks like the city's own
    assert "blocked by exam type 07 on 2025-09-01 (FY2025, reported by the previous" in verdicts["0000000002"]["07"]
    assert verdicts["0000000001"]["04"] is None
    assert verdicts["0000000003"]["08"] is None
    assert "not receiving public assistance" in verdicts["0000000003"]["11"]
    assert verdicts["0000000004"]["11"] is None
    assert "not an NHI member" in verdicts["0000000004"]["08"]
    assert "moved out" in verdicts["0000000005"]["04"]
    assert "not an NHI member" in verdicts["0000000007"]["08"]
    assert selected == {"0000000003": ["08"], "0000000004": ["11"]}


def test_kenshin_eligible_prints_one_line_per_person(ledger):
    env = {**os.environ, "KENSHIN_DATABASE_URL": ledger}
    cli = [sys.executable, "-m", "kenshin.cli", "eligible", "--as-of", "2026-06-01"]
    one = subprocess.run([*cli, "--addressee-id", "0000000003"], capture_output=True, text=True, env=env)
    assert one.returncode == 0, one.stderr
    [line] = [json.loads(x) for x in one.stdout.splitlines()]
    assert line["fiscal_year"] == 2026
    assert line["targets"] == ["01", "02", "03", "04", "08"]
    assert set(line["not_targets"]) == {"05", "06", "07", "09", "10", "11", "12"}
    assert "not run by the city" in line["not_targets"]["12"]
    everyone = subprocess.run(cli, capture_output=True, text=True, env=env)
    assert len(everyone.stdout.splitlines()) == 6
    absent = subprocess.run([*cli, "--addressee-id", "0000000006"], capture_output=True, text=True, env=env)
    assert absent.returncode == 1 and "not on the ledger" in absent.stderr


def test_kenshin_eligible_explain_answers_the_telephone_question(ledger):
    """Staff on the telephone: each exam type, the rule that decided, in Japanese
    and English; a block names the screening that blocked."""
    env = {**os.environ, "KENSHIN_DATABASE_URL": ledger}
    cli = [sys.executable, "-m", "kenshin.cli", "eligible", "--as-of", "2026-06-01", "--explain"]
    out = subprocess.run([*cli, "--addressee-id", "0000000002"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    block = text[text.index("  07 "):text.index("  08 ")]
    assert "対象外 not a target" in block and "[rule: blocked_by]" in block
    assert "2025-09-01（2025年度、前住所地の記録）" in block and "2025-09-01 (FY2025, reported by the previous" in block
    block = text[text.index("  04 "):text.index("  05 ")]
    # born 1970-01-01: 57 on 2027-03-31, the fiscal year's reference day
    assert "対象 target" in block and "年度年齢57歳（2027-03-31時点）" in block and "age 57 reached by 2027-03-31" in block
    assert "[rule: inactive]" in text[text.index("  12 "):]
    whole_city = subprocess.run(cli, capture_output=True, text=True, env=env)
    assert whole_city.returncode == 2 and "--addressee-id" in whole_city.stderr
