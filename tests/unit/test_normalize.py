"""Normalization: era dates, individual-number check digits, kana/kanji/address keys."""

import datetime as dt
import re

import pytest

from kenshin.ingest import normalize as nz


@pytest.mark.parametrize("text,expected", [
    ("3450312", dt.date(1970, 3, 12)),      # 昭和45年3月12日
    ("5010501", dt.date(2019, 5, 1)),       # 令和元年5月1日
    ("4310430", dt.date(2019, 4, 30)),      # 平成31年4月30日, the era's last day
    ("1450729", dt.date(1912, 7, 29)),      # 明治45年7月29日
    ("20240229", dt.date(2024, 2, 29)),
    ("２０２４０２２９", dt.date(2024, 2, 29)),  # full-width digits
])
def test_valid_dates(text, expected):
    assert nz.parse_date(text) == expected


@pytest.mark.parametrize("text,reason", [
    ("4310501", "date after the end of its era"),   # 平成31年5月1日 is 令和元年
    ("5060230", "not an existing date"),             # 令和6年2月30日
    ("5000501", "era year must be at least 1 (元年)"),
    ("5010430", "date before the start of its era"),
    ("20230229", "not an existing date"),
    ("9010101", "unknown era code"),
    ("2024-01-01", "expected YYYYMMDD or GYYMMDD"),
    ("", "expected YYYYMMDD or GYYMMDD"),
])
def test_bad_dates_are_bad_values_not_crashes(text, reason):
    with pytest.raises(nz.BadValue, match=re.escape(reason)):
        nz.parse_date(text)


def test_era_round_trip():
    for d in (dt.date(1926, 12, 25), dt.date(1989, 1, 7), dt.date(1989, 1, 8), dt.date(2019, 5, 1)):
        assert nz.parse_date(nz.to_era(d)) == d


def test_my_number_check_digit_follows_the_formula():
    # P1..P11 from the right, Q = n+1 (n ≤ 6) or n−5; r = Σ P·Q mod 11; check = 0 if r ≤ 1 else 11 − r
    first11 = "12345678901"
    p = [int(c) for c in reversed(first11)]
    q = [n + 1 if n <= 6 else n - 5 for n in range(1, 12)]
    r = sum(a * b for a, b in zip(p, q, strict=True)) % 11
    assert nz.my_number_check_digit(first11) == str(0 if r <= 1 else 11 - r)
    assert nz.valid_my_number(first11 + nz.my_number_check_digit(first11))
    assert not nz.valid_my_number(first11 + str((int(nz.my_number_check_digit(first11)) + 1) % 10))
    assert not nz.valid_my_number("12345")


def test_kana_key_folds_width_hiragana_small_kana_and_spaces():
    assert nz.kana_key("ﾔﾏﾀﾞ ﾀﾛｳ") == nz.kana_key("やまだ　たろう") == nz.kana_key("ヤマダタロウ")
    assert nz.kana_key("キョウコ") == nz.kana_key("キヨウコ")


def test_kanji_key_folds_variants_but_keeps_readings_apart():
    assert nz.kanji_key("髙橋　﨑子") == nz.kanji_key("高橋 崎子")
    assert nz.kanji_key("渡邉") == nz.kanji_key("渡辺") == nz.kanji_key("渡邊")
    assert nz.kanji_key("豊田") != nz.kanji_key("富田")


def test_address_key_folds_chome_banchi_and_ke():
    a = nz.address_key("川崎市中原区小杉町３丁目１番地２号")
    assert a == nz.address_key("川崎市中原区小杉町3-1-2") == nz.address_key("川崎市中原区小杉町3ー1ー2")
    assert nz.address_key("霞ヶ丘1-1") == nz.address_key("霞ケ丘1-1") == nz.address_key("霞が丘1-1")


def test_address_key_drops_the_prefecture_and_room_units():
    registry = nz.address_key("神奈川県川崎市中原区小杉町3丁目1番2号\u3000ハイツ小杉203号室")
    assert registry == "川崎市中原区小杉町3-1-2ハイツ小杉203"
    assert nz.address_key("川崎市中原区小杉町3-1-2-\u3000ハイツ小杉203-室") != registry  # 室 is kept
    assert nz.address_key("川崎市中原区小杉町３－１－２　ハイツ小杉２０３") == registry
    assert nz.address_key("東京都大田区蒲田5丁目13番地の1") == "大田区蒲田5-13-1"


def test_postal_code():
    assert nz.postal_code("２１１－００６３") == "211-0063"
    assert nz.postal_code("2110063") == "211-0063"
    with pytest.raises(nz.BadValue):
        nz.postal_code("21-10063")


def test_month_bounds_handles_december_and_leap_february():
    import datetime as dt

    assert nz.month_bounds(dt.date(2026, 12, 15)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert nz.month_bounds(dt.date(2028, 2, 3)) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
