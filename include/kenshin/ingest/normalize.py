"""Normalization of Japanese text, dates and identifiers (正規化).

Everything here is pure and fast: it runs once per field of every inbound row.
Values are never logged from here; callers report problems by file, line and
field name only.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from pathlib import Path

import yaml

# Era codes of the 7-digit GYYMMDD form (LAYOUTS.md): code -> (name, first day).
ERAS: dict[str, tuple[str, dt.date]] = {
    "1": ("明治", dt.date(1868, 1, 25)),
    "2": ("大正", dt.date(1912, 7, 30)),
    "3": ("昭和", dt.date(1926, 12, 25)),
    "4": ("平成", dt.date(1989, 1, 8)),
    "5": ("令和", dt.date(2019, 5, 1)),
}
_ERA_ORDER = sorted(ERAS.items(), key=lambda kv: kv[1][1])


class BadValue(ValueError):
    """A field value that cannot be accepted; the message never holds the value."""


def nfkc(text: str) -> str:
    """NFKC for a field: half-width kana to full-width, full-width digits to ASCII."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９\u3000", "0123456789 ")


def digits(text: str) -> str:
    """A numeric field with full-width digits folded to ASCII, spaces trimmed.

    Deliberately narrower than NFKC (which would make ① a 1): the database's
    `landing.ascii_digits` promotes accepted codes with exactly this fold, so a
    value the row rules accept is the value core receives."""
    return text.translate(_FULL_WIDTH_DIGITS).strip()


def is_digits(text: str) -> bool:
    """ASCII digits only (数字), at least one. `str.isdigit` also admits ① and
    other scripts' digits, which `int` then refuses with a message quoting the
    value, and which `landing.ascii_digits` does not fold: a field the row
    rules accept must be digits the database reads as such."""
    return text.isascii() and text.isdigit()


@functools.lru_cache(maxsize=200_000)
def parse_date(text: str) -> dt.date:
    """Parse YYYYMMDD (Gregorian) or GYYMMDD (Japanese era) into a date.

    Raises BadValue for a malformed or nonexistent date, including an era date
    outside its era (平成31年5月1日 is 令和元年5月1日, so `4310501` is bad).
    """
    s = digits(text)
    if len(s) == 8 and is_digits(s):
        try:
            return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
        except ValueError:
            raise BadValue("not an existing date") from None
    if len(s) == 7 and is_digits(s):
        era = ERAS.get(s[0])
        if era is None:
            raise BadValue("unknown era code")
        year_in_era = int(s[1:3])
        if year_in_era < 1:
            raise BadValue("era year must be at least 1 (元年)")
        start = era[1]
        try:
            value = dt.date(start.year + year_in_era - 1, int(s[3:5]), int(s[5:]))
        except ValueError:
            raise BadValue("not an existing date") from None
        if value < start:
            raise BadValue("date before the start of its era")
        nxt = [e[1] for _, e in _ERA_ORDER if e[1] > start]
        if nxt and value >= nxt[0]:
            raise BadValue("date after the end of its era")
        return value
    raise BadValue("expected YYYYMMDD or GYYMMDD")


def to_era(value: dt.date) -> str:
    """The 7-digit GYYMMDD form of a date (the inverse of parse_date for era dates)."""
    for code, (_, start) in reversed(_ERA_ORDER):
        if value >= start:
            return f"{code}{value.year - start.year + 1:02d}{value.month:02d}{value.day:02d}"
    raise BadValue("date before 明治")


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the calendar month of `day`."""
    first = day.replace(day=1)
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


_MYNUMBER_WEIGHTS = [n + 1 if n <= 6 else n - 5 for n in range(1, 12)]


def my_number_check_digit(first11: str) -> str:
    """Check digit of an individual number (個人番号) from its first 11 digits."""
    p = [int(c) for c in reversed(first11)]  # P1 is the digit right before the check digit
    r = sum(pn * qn for pn, qn in zip(p, _MYNUMBER_WEIGHTS, strict=True)) % 11
    return "0" if r <= 1 else str(11 - r)


def valid_my_number(text: str) -> bool:
    return len(text) == 12 and is_digits(text) and my_number_check_digit(text[:11]) == text[11]


# One translate table per key: these run on every name and address of a
# 1.56M-row snapshot, so each key is one NFKC plus one str.translate where
# possible (regular expressions only where structure matters).
_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)}
# Line breaks too: RFC 4180 lets a quoted field hold one, and in a name or an
# address it separates words as a space would.
_SPACE_CHARS = " \t\r\n\u3000"
_KANA_KEY = str.maketrans(
    {**{chr(k): chr(v) for k, v in _HIRA_TO_KATA.items()},
     **dict(zip("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ", strict=True)),
     **{c: None for c in "ーｰ-‐―−～〜" + _SPACE_CHARS}}
)
_TO_KATAKANA = str.maketrans({chr(k): chr(v) for k, v in _HIRA_TO_KATA.items()})


def kana_key(text: str) -> str:
    """Matching form of a kana name: full-width katakana, small kana and long
    vowels folded, spaces removed. Readings stay ambiguous (DOMAIN.md), so this
    is one piece of evidence, never identity."""
    return nfkc(text).translate(_KANA_KEY)


def kana_display(text: str) -> str:
    """Kana as stored for display: full-width katakana, one U+3000 between names."""
    return "\u3000".join(nfkc(text).translate(_TO_KATAKANA).split())


@functools.cache
def variant_map() -> dict[str, str]:
    """Variant kanji (異体字) -> standard form, from include/config/variant_kanji.yaml."""
    path = Path(__file__).resolve().parents[2] / "config" / "variant_kanji.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {v: standard for standard, variants in data["variants"].items() for v in variants if v != standard}


@functools.cache
def _kanji_key_table() -> dict[int, str | None]:
    return str.maketrans({**variant_map(), **{c: None for c in _SPACE_CHARS}})


def kanji_key(text: str) -> str:
    """Matching form of a kanji name: NFKC, variant kanji (異体字) folded to the
    standard form from `include/config/variant_kanji.yaml`, spaces removed."""
    return nfkc(text).translate(_kanji_key_table())


def name_display(text: str) -> str:
    """Kanji name as stored: trimmed, runs of spaces made one U+3000."""
    return "\u3000".join(text.split())


@functools.cache
def _address_table() -> dict[int, str | None]:
    # CP932 decodes 0x8160 to U+FF5E (fullwidth tilde) where Shift_JIS gives
    # U+301C (wave dash): both, and the ASCII tilde NFKC makes of U+FF5E, are one.
    return str.maketrans({
        **variant_map(), "\u301c": "~", "\uff5e": "~", "ヶ": "ケ", "が": "ケ", "ガ": "ケ",
        **{c: "-" for c in "‐―−ー－"}, **{c: None for c in _SPACE_CHARS},
    })


# A leading prefecture (clinics often leave it out), and the units of a
# block number (3丁目1番2号, 3番地の2, 203号室) written as hyphens, then only
# hyphens between digits are kept: 3-1-2, 3-1-2-, 3丁目1-2 all become 3-1-2.
_PREFECTURE = re.compile(r"^(?:東京都|北海道|(?:京都|大阪)府|[^0-9都道府県]{2,3}県)")
_NUMBER_UNITS = re.compile(r"([0-9]+)(?:丁目|番地の?|番の?|号室|号|の)")
_LOOSE_DASHES = re.compile(r"-+(?![0-9])|(?<![0-9])-+")
_DASH_RUNS = re.compile(r"-{2,}")


def address_key(text: str) -> str:
    """Matching form of an address: NFKC, no prefecture, 丁目/番地/番/号 as
    hyphens, ケ/ヶ/が folded, variant kanji folded, spaces removed (DOMAIN.md,
    address variation)."""
    s = nfkc(text).translate(_address_table())
    if "県" in s[:4] or "都" in s[:3] or "府" in s[:3] or s.startswith("北海道"):
        s = _PREFECTURE.sub("", s, count=1)
    s = _NUMBER_UNITS.sub(r"\1-", s)
    if "-" in s:
        s = _DASH_RUNS.sub("-", s)
        s = _LOOSE_DASHES.sub("", s)
    return s


def postal_code(text: str) -> str:
    """Postal code as NNN-NNNN; raises BadValue otherwise."""
    s = digits(text).replace("ー", "-").replace("－", "-")
    if len(s) == 7 and is_digits(s):
        s = f"{s[:3]}-{s[3:]}"
    if len(s) != 8 or s[3] != "-" or not is_digits(s[:3] + s[4:]):
        raise BadValue("expected a postal code NNN-NNNN")
    return s
