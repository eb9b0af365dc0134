"""A file in UTF-8 without the BOM LAYOUTS.md asks for is refused, not loaded
as mojibake (issue 21, build item 8): the bytes are checked once, as they are
copied and hashed; CP932 files (also those whose few non-ASCII bytes happen to
be valid UTF-8) and UTF-8 files with a BOM load as before."""

from __future__ import annotations

import logging

import psycopg
import pytest

import builders
from builders import CLINIC, jumin_file, kenshin_row, people
from kenshin.ingest.loading import ingest_file
from kenshin.platform.envelope import write_records

pytestmark = pytest.mark.integration

EXAM = "20261015"


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_a_registry_snapshot_in_utf8_without_bom_is_refused_naming_the_file(db_url, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ps = people(10)
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps], encoding="utf-8")
    result = ingest_file(path, url=db_url)
    assert result.status == "rejected"
    assert result.reason == ("jumin_20261001_full.csv: encoding: UTF-8 without a byte order mark, expected CP932 "
                             "(LAYOUTS.md: UTF-8 only after a BOM)")
    assert count(db_url, "select count(*) from core.person") == 0
    assert count(db_url, "select count(*) from landing.jumin") == 0  # refused before anything is staged
    builders.assert_nothing_said(db_url, caplog.records, ps)


def test_a_clinic_file_in_utf8_without_bom_promotes_no_mojibake(new_database, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ps = people(60)
    adults = [p for p in ps if 1945 <= p.birth.year <= 1980][:3]
    url = new_database()
    assert ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]),
                       url=url).status == "loaded"
    path = tmp_path / f"kenshin_{CLINIC}_202610.csv"
    write_records(path, ["H", "KENSHIN", CLINIC, "202610", "20261105", "代表\u3000太郎", "川崎市中原区", "044-000-0000"],
                  [kenshin_row(p, EXAM, line_no=i + 1) for i, p in enumerate(adults)], encoding="utf-8")
    result = ingest_file(path, url=url)
    assert (result.status, result.reason) == ("rejected", f"{path.name}: encoding: UTF-8 without a byte order "
                                                          "mark, expected CP932 (LAYOUTS.md: UTF-8 only after a BOM)")
    assert count(url, "select count(*) from core.screening") == 0
    assert count(url, "select count(*) from ops.review_item") == 0
    builders.assert_nothing_said(url, caplog.records, ps)


def test_utf8_with_bom_and_cp932_that_looks_like_utf8_still_load(new_database, tmp_path):
    ps = people(10)
    cp932_url, bom_url = new_database(), new_database()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rows = [p.jumin_row() for p in ps]
    assert ingest_file(jumin_file(tmp_path / "a", "20261001", "full", rows), url=cp932_url).status == "loaded"
    with_bom = jumin_file(tmp_path / "b", "20261001", "full", rows, encoding="utf-8", bom=True)
    assert ingest_file(with_bom, url=bom_url).status == "loaded"
    assert builders.core_state(bom_url) == builders.core_state(cp932_url)

    # Half-width ﾃｽ is C3 BD in CP932, which is also valid UTF-8 ("ý"): not
    # Japanese read as UTF-8, so the file is CP932 as its layout says.
    odd = [p.but(name_kanji="ﾃｽ", name_kana="ﾃｽ ﾃｽ", address="ﾃｽ 1-1").jumin_row("06", "20261002", relationship="ﾃｽ")
           for p in ps[:2]]
    path = jumin_file(tmp_path / "a", "20261002", "diff", odd)
    assert path.read_bytes().decode("utf-8")  # the premise: the whole file is valid UTF-8
    result = ingest_file(path, url=cp932_url)
    assert (result.status, result.loaded) == ("loaded", 2)
    with psycopg.connect(cp932_url) as conn:
        assert conn.execute("select name_kana from core.person_current where addressee_id = %s",
                            (ps[0].addressee_id,)).fetchone()[0] == "テス\u3000テス"
