"""The synthetic city generator (kenshin.lab.synth): formats, validity, realism, reproducibility."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import statistics
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kenshin.ingest.normalize import parse_date, valid_my_number
from kenshin.lab.synth import generate
from kenshin.lab.synth.city import municipality_code

WARDS = {"141313", "141321", "141330", "141348", "141356", "141364", "141372"}
FIELDS = {"jumin": 20, "seiho": 6, "kokuho": 5}
START = dt.date(2026, 9, 28)  # crosses into October: a monthly full and new lists on 10/01


def read(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(raw.decode("cp932"), newline="")))


def records(path: Path) -> list[list[str]]:
    return [r for r in read(path) if r[0] == "D"]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(2000, 11, out, START, 5)


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("month")
    return out, generate(20_000, 5, out, dt.date(2026, 10, 1), 31)


def test_same_seed_same_bytes(small, tmp_path):
    out, _ = small
    generate(2000, 11, tmp_path, START, 5)
    for sub in ("inbox", "truth"):
        first = {p.name: p.read_bytes() for p in sorted((out / sub).iterdir())}
        again = {p.name: p.read_bytes() for p in sorted((tmp_path / sub).iterdir())}
        assert first == again


def test_other_seed_other_city(small, tmp_path):
    out, _ = small
    generate(2000, 12, tmp_path, START, 0)
    name = f"jumin_{START:%Y%m%d}_full.csv"
    assert (out / "inbox" / name).read_bytes() != (tmp_path / "inbox" / name).read_bytes()


def test_start_files_do_not_depend_on_days(small, tmp_path):
    out, _ = small
    generate(2000, 11, tmp_path, START, 0)
    for name in (f"jumin_{START:%Y%m%d}_full.csv", "seiho_202609.csv", "kokuho_202609.csv"):
        assert (out / "inbox" / name).read_bytes() == (tmp_path / "inbox" / name).read_bytes()


def test_file_set(small):
    out, summary = small
    names = sorted(p.name for p in (out / "inbox").iterdir())
    diffs = [f"jumin_{START + dt.timedelta(days=d):%Y%m%d}_diff.csv" for d in range(1, 6)]
    assert names == sorted([
        "jumin_20260928_full.csv", "jumin_20261001_full.csv", *diffs,
        "seiho_202609.csv", "seiho_202610.csv", "kokuho_202609.csv", "kokuho_202610.csv",
    ])
    assert summary["files"] == {"jumin_full": 2, "jumin_diff": 5, "seiho": 2, "kokuho": 2}
    assert json.loads((out / "truth" / "summary.json").read_text(encoding="utf-8")) == summary


def test_envelopes(small):
    out, summary = small
    total = dict.fromkeys(summary["records"], 0)
    for path in (out / "inbox").iterdir():
        rows = read(path)
        kind = path.name.split("_")[0]
        assert rows[0][0] == "H" and rows[-1][0] == "T"
        assert all(r[0] == "D" for r in rows[1:-1])
        assert int(rows[-1][1]) == len(rows) - 2
        assert all(len(r) == FIELDS[kind] for r in rows[1:-1])
        total[f"jumin_{path.name[15:19]}" if kind == "jumin" else kind] += len(rows) - 2
        header = rows[0]
        if kind == "jumin":
            assert header[1:3] == ["JUMIN", path.name[15:19]] and header[3] == path.name[6:14]
            assert header[4] == "141305"
        else:
            assert header[1] == kind.upper() and header[2] == path.name[-10:-4]
            assert header[3] == header[2] + "01"
    assert total == summary["records"]


def test_registry_values(small):
    out, _ = small
    for path in sorted((out / "inbox").glob("jumin_*.csv")):
        diff = path.name.endswith("_diff.csv")
        extract = parse_date(path.name[6:14])
        for r in records(path):
            assert len(r[1]) == 10 and r[1].isdigit()
            assert r[2] == "" or valid_my_number(r[2])
            assert len(r[3]) == 10 and r[3].isdigit()
            family, given = r[4].split("\u3000")
            assert family and given
            assert r[6] in ("1", "2")
            assert len(r[7]) == 7 and parse_date(r[7]) <= extract
            assert r[8] in ("世帯主", "妻", "夫", "子", "父", "母", "孫", "同居人", "子の妻")
            assert r[10][3] == "-" and r[10].startswith("21")
            assert r[11] in WARDS
            assert r[12].startswith("神奈川県川崎市")
            assert parse_date(r[13]) <= extract
            assert (r[14] == "") == (r[15] == "")
            assert r[15] == "" or (len(r[15]) == 6 and r[15] == municipality_code(r[15][:5]))
            assert r[16] in ("1", "2", "3", "4")
            if diff:
                assert r[17] in {f"{i:02d}" for i in range(1, 9)} and r[18] == path.name[6:14]
            else:
                assert r[17] == "00" and r[18] == ""
            assert r[19] in ("0", "1")


def test_snapshot_ids_unique_and_sorted(small):
    out, _ = small
    rows = records(out / "inbox" / f"jumin_{START:%Y%m%d}_full.csv")
    ids = [r[1] for r in rows]
    assert ids == sorted(set(ids))
    numbers = [r[2] for r in rows if r[2]]
    assert len(numbers) == len(set(numbers))
    assert 0.005 < 1 - len(numbers) / len(rows) < 0.04  # ~2 % without a My Number
    statuses = {r[16] for r in rows}
    assert statuses >= {"1", "2", "3"}
    residents = [r for r in rows if r[16] == "1"]
    assert len(residents) == 2000


def test_municipality_codes():
    assert municipality_code("14130") == "141305"
    assert municipality_code("13101") == "131016"
    assert municipality_code("14205") == "142051"  # remainder 0
    assert municipality_code("13208") == "132080"  # remainder 1


def test_truth(small):
    out, summary = small
    persons = pq.read_table(out / "truth" / "persons.parquet").to_pylist()
    assert len(persons) == summary["persons"]
    assert len({p["addressee_id"] for p in persons}) == len(persons)
    assert sum(p["status"] == 1 for p in persons) == summary["residents"]["end"]
    events = pq.read_table(out / "truth" / "events.parquet").to_pylist()
    assert len(events) == summary["records"]["jumin_diff"] == sum(summary["events"].values())
    for e in events:
        row = read(out / "inbox" / e["file"])[e["line"] - 1]
        assert row[1] == e["addressee_id"] and row[17] == e["event_code"]
        assert e["event_date"].replace("-", "") == row[18]


def test_month_has_every_event_kind(month):
    out, summary = month
    seen = {r[17] for p in (out / "inbox").glob("jumin_*_diff.csv") for r in records(p)}
    assert seen >= {f"{i:02d}" for i in range(1, 8)}
    assert all(summary["events"][f"{i:02d}"] > 0 for i in range(1, 8))
    # rates in the right order of magnitude for 20,000 people in a month
    assert 40 < summary["events"]["02"] < 200 and 40 < summary["events"]["03"] < 200
    assert 19_500 < summary["residents"]["end"] < 20_500


def test_weekend_diffs_are_empty(month):
    out, _ = month
    for path in (out / "inbox").glob("jumin_*_diff.csv"):
        if parse_date(path.name[6:14]).weekday() >= 5:
            assert records(path) == []


def test_month_start_files(month):
    out, _ = month
    names = {p.name for p in (out / "inbox").iterdir()}
    assert {"jumin_20261001_full.csv", "jumin_20261101_full.csv", "seiho_202610.csv",
            "seiho_202611.csv", "kokuho_202610.csv", "kokuho_202611.csv"} <= names
    assert "jumin_20261001_diff.csv" not in names and "jumin_20261101_diff.csv" in names


def test_events_carry_full_state(month):
    out, _ = month
    for path in (out / "inbox").glob("jumin_*_diff.csv"):
        for r in records(path):
            status = {"01": "1", "02": "1", "03": "2", "04": "3", "05": "1", "06": "1", "07": "1",
                      "08": "1"}[r[17]]
            assert r[16] == status
            if r[17] == "01":
                assert parse_date(r[13]) == parse_date(r[7]) and r[8] in ("子", "孫")
            if r[17] == "02":
                assert r[13] == r[18] and r[14] and r[15]


def test_programme_shares(month):
    out, _ = month
    residents = {r[1] for r in records(out / "inbox" / "jumin_20261001_full.csv") if r[16] == "1"}
    protected = [r for r in records(out / "inbox" / "jumin_20261001_full.csv") if r[19] == "1"]
    welfare = {r[1] for r in records(out / "inbox" / "seiho_202610.csv")}
    nhi = {r[1] for r in records(out / "inbox" / "kokuho_202610.csv")}
    assert welfare <= residents and nhi <= residents and not welfare & nhi
    assert 0.02 <= len(welfare) / len(residents) <= 0.03
    assert 0.20 <= len(nhi) / len(residents) <= 0.25
    assert 0.005 <= len(protected) / len(residents) <= 0.015
    for r in records(out / "inbox" / "seiho_202611.csv"):
        assert len(r[2]) == 8 and r[3] in ("1", "2") and parse_date(r[4])
        assert r[5] == "" or "20261001" < r[5] <= "20261101"
    for r in records(out / "inbox" / "kokuho_202611.csv"):
        assert 0 < len(r[2]) <= 16 and parse_date(r[3])
        assert r[4] == "" or "20261001" < r[4] <= "20261101"


def test_population_looks_like_kawasaki(month):
    out, _ = month
    rows = [r for r in records(out / "inbox" / "jumin_20261001_full.csv") if r[16] == "1"]
    start = dt.date(2026, 10, 1)
    ages = [(start - parse_date(r[7])).days / 365.25 for r in rows]
    assert 39 <= statistics.median(ages) <= 46 and max(ages) < 110
    households = {r[3] for r in rows}
    assert 1.9 <= len(rows) / len(households) <= 2.3
    wards = [r[11] for r in rows]
    assert set(wards) == WARDS
    assert 0.15 <= wards.count("141330") / len(rows) <= 0.19  # 中原区, the largest ward
    family = [r[4].split("\u3000")[0] for r in rows]
    assert family.count("佐藤") > family.count("中川") > 0
    half = sum(r[5].isascii() is False and "\u3000" not in r[5] for r in rows) / len(rows)
    assert 0.05 <= half <= 0.15
    variant = sum(any(c in r[4] for c in "髙﨑邉齋齊澤濵嶋廣櫻") for r in rows) / len(rows)
    assert 0.003 <= variant <= 0.02
    heads = {r[3]: r[4] for r in rows if r[8] == "世帯主"}
    assert all(r[9] == heads[r[3]] for r in rows if r[3] in heads)
