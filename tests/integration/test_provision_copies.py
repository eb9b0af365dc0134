"""Provision copies (副本, LAYOUTS.md §7): the first export has everything, the
next only what changed; protection-flagged persons always carry auto_answer=0;
nothing past retention; a purged or deleted screening is an X row; a rerun of
the same month is byte-identical."""

from __future__ import annotations

import csv
import datetime as dt

import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening
from kenshin.exchange import provision_copies as provision
from kenshin.governance import retention

pytestmark = pytest.mark.integration

D = dt.date


def rows(path: str) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_monthly_exports(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        insert_person(conn, "0000000001", 1, D(1960, 1, 1))
        insert_person(conn, "0000000002", 2, D(1960, 1, 1), protection_flag=True)
        insert_screening(conn, "0000000001", "04", D(2025, 10, 1), 1)
        insert_screening(conn, "0000000002", "07", D(2025, 10, 1), 2)
        insert_screening(conn, "0000000001", "04", D(2020, 10, 1), 3)    # cancer, kept 5 years: FY2020 is past it
        insert_screening(conn, "0000000001", "09", D(2020, 10, 1), 4)    # periodontal, kept 10 years: still kept

    october = provision.run(D(2026, 10, 31), url=db_url)
    assert (october["records"], october["auto_answer_0"]) == (3, 1)
    first = rows(october["file"])
    assert first[0][:2] == ["H", "FUKUHON"] and first[0][3] == "141305"
    assert first[1:] == [
        ["D", "0000000001", "04", "20251001", "1", "", "1", "A"],
        ["D", "0000000001", "09", "20201001", "1", "", "1", "A"],
        ["D", "0000000002", "07", "20251001", "1", "", "0", "A"],    # protection flag: never answered automatically
        ["T", "3"]]
    before = open(october["file"], "rb").read()
    assert provision.run(D(2026, 10, 31), url=db_url)["records"] == 3
    assert open(october["file"], "rb").read() == before          # the same month again: the same bytes

    with psycopg.connect(db_url) as conn:
        insert_screening(conn, "0000000001", "03", D(2026, 11, 5), 5)
    november = provision.run(D(2026, 11, 30), url=db_url)
    assert rows(november["file"])[1:] == [["D", "0000000001", "03", "20261105", "1", "", "1", "A"], ["T", "1"]]

    # December: the retention purge removes the colorectal screening of FY2020 (kept
    # 5 years, to the end of FY2025), and a screening is deleted here (a correction):
    # both copies are erased on the intermediate server, X rows with the key only
    purge = retention.run(D(2026, 12, 1), "staff01", url=db_url)
    assert purge["state"] == "verified", purge
    with psycopg.connect(db_url) as conn:
        conn.execute("delete from core.screening where addressee_id = '0000000001' and exam_type = '03'")
    december = provision.run(D(2026, 12, 31), url=db_url)
    assert (december["records"], december["deletions"]) == (0, 2)
    assert rows(december["file"])[1:] == [
        ["D", "0000000001", "03", "20261105", "", "", "", "X"],
        ["D", "0000000001", "04", "20201001", "", "", "", "X"],
        ["T", "2"]]
    before = open(december["file"], "rb").read()
    assert provision.run(D(2026, 12, 31), url=db_url)["deletions"] == 2
    assert open(december["file"], "rb").read() == before          # a rerun: the same bytes
    assert provision.run(D(2027, 1, 31), url=db_url)["deletions"] == 0     # each deletion sent once
