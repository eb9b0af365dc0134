"""The Splink baseline of `kenshin bench clinic` links noisy copies back to their people.

Synthetic people only: names drawn from short lists, invented towns and dates.
Splink is in the `bench` dependency group, which `make test` does not install,
so this module is skipped there.
"""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

pytest.importorskip(
    "splink", reason="Splink is in the 'bench' dependency group: uv sync --group bench"
)

from kenshin.lab.splink_baseline import SplinkResult, link_with_splink  # noqa: E402

SURNAMES = [
    ("ヤマダ", "山田"), ("サトウ", "佐藤"), ("スズキ", "鈴木"), ("タカハシ", "高橋"),
    ("タナカ", "田中"), ("ワタナベ", "渡辺"), ("イトウ", "伊藤"), ("ナカムラ", "中村"),
    ("コバヤシ", "小林"), ("カトウ", "加藤"), ("ヨシダ", "吉田"), ("ヤマモト", "山本"),
    ("マツモト", "松本"), ("イノウエ", "井上"), ("キムラ", "木村"), ("ハヤシ", "林"),
    ("シミズ", "清水"), ("ヤマザキ", "山崎"), ("モリ", "森"), ("アベ", "阿部"),
]
GIVEN = {
    1: [("タロウ", "太郎"), ("ヒロシ", "博"), ("タケシ", "武"), ("マコト", "誠"),
        ("ケンジ", "健二"), ("ススム", "進"), ("イサム", "勇"), ("シゲル", "茂"),
        ("ユウキ", "勇気"), ("ショウタ", "翔太"), ("ダイスケ", "大輔"), ("カズオ", "和夫")],
    2: [("ハナコ", "花子"), ("ヨウコ", "洋子"), ("ケイコ", "恵子"), ("ユミ", "由美"),
        ("マサコ", "正子"), ("サチコ", "幸子"), ("ミホ", "美穂"), ("アヤ", "彩"),
        ("ユイ", "結衣"), ("カズコ", "和子"), ("ナオミ", "直美"), ("トモコ", "智子")],
}
TOWNS = [(f"{100 + i:03d}-{1000 + 37 * i:04d}", town) for i, town in enumerate([
    "緑町", "桜台", "東山", "西原", "南丘", "北浜", "本町", "栄町", "若葉", "旭町",
    "青葉台", "松ヶ丘", "梅園", "竹ノ内", "川端", "宮前", "新田", "中央", "昭和町", "港町",
])]
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"


def _person(rng: random.Random) -> dict:
    sex = rng.choice((1, 2))
    kana_s, kanji_s = rng.choice(SURNAMES)
    kana_g, kanji_g = rng.choice(GIVEN[sex])
    postal, town = rng.choice(TOWNS)
    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(60 * 365))
    return {
        "name_kana": kana_s + kana_g,
        "name_kanji": kanji_s + kanji_g,
        "birth_date": born,
        "sex": sex,
        "postal_code": postal,
        "address": f"{town}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
    }


def _kana_typo(rng: random.Random, kana: str) -> str:
    i = rng.randrange(len(kana))
    return kana[:i] + rng.choice([c for c in KATAKANA if c != kana[i]]) + kana[i + 1:]


def _date_digit(rng: random.Random, born: dt.date) -> dt.date:
    text = born.strftime("%Y%m%d")
    while True:
        i = rng.randrange(2, 8)   # leave the century alone
        digit = rng.choice([d for d in "0123456789" if d != text[i]])
        try:
            return dt.datetime.strptime(text[:i] + digit + text[i + 1:], "%Y%m%d").date()
        except ValueError:
            continue


def _data(seed: int = 7):
    rng = random.Random(seed)
    people = [_person(rng) for _ in range(2000)]
    ids = rng.sample(range(10**9, 10**10), len(people))
    persons = [{"addressee_id": f"{i:010d}", **p} for i, p in zip(ids, people, strict=True)]

    records, truth = [], {}
    for record_id, person in enumerate(rng.sample(persons, 300), start=1):
        rec = {k: v for k, v in person.items() if k != "addressee_id"}
        if rng.random() < 0.2:
            rec["name_kana"] = _kana_typo(rng, rec["name_kana"])
        if rng.random() < 0.15:
            rec["birth_date"] = _date_digit(rng, rec["birth_date"])
        if rng.random() < 0.3:
            rec["name_kanji"] = None
        records.append({"record_id": record_id, **rec})
        truth[record_id] = person["addressee_id"]

    known = {(p["name_kana"], p["birth_date"]) for p in persons}
    strangers = set()
    while len(strangers) < 30:
        p = _person(rng)
        if (p["name_kana"], p["birth_date"]) in known:
            continue
        record_id = 1000 + len(strangers)
        records.append({"record_id": record_id, **p})
        strangers.add(record_id)
    return _table(records, "record_id", pa.int64()), _table(persons, "addressee_id",
                                                             pa.string()), truth, strangers


def _table(rows: list[dict], id_column: str, id_type: pa.DataType) -> pa.Table:
    schema = pa.schema([
        (id_column, id_type), ("name_kana", pa.string()), ("name_kanji", pa.string()),
        ("birth_date", pa.date32()), ("sex", pa.int8()), ("postal_code", pa.string()),
        ("address", pa.string()),
    ])
    return pa.Table.from_pylist(rows, schema=schema)


def test_splink_baseline_links_noisy_copies():
    records, persons, truth, strangers = _data()
    result = link_with_splink(records, persons)

    assert isinstance(result, SplinkResult)
    assert result.version.startswith("5.")
    assert result.pairs_scored > 0
    assert result.seconds_train > 0 and result.seconds_predict > 0

    linked = result.links
    correct = sum(1 for r, a in linked.items() if truth.get(r) == a)
    precision = correct / len(linked)
    recall = correct / len(truth)
    print(f"splink baseline: precision {precision:.3f}, recall {recall:.3f}, "
          f"{result.pairs_scored} pairs, train {result.seconds_train:.1f}s, "
          f"predict {result.seconds_predict:.1f}s")
    assert not strangers & linked.keys()
    assert precision >= 0.95
    assert recall >= 0.8


def test_splink_baseline_rejects_missing_columns():
    records, persons, _, _ = _data()
    with pytest.raises(ValueError, match="address"):
        link_with_splink(records.drop_columns(["address"]), persons)
