"""Voucher numbers (受診券番号, LAYOUTS.md §4): fiscal year (2 digits, e.g. `26`),
exam type (2), serial (7, per fiscal year and exam type), check digit (1, Luhn
over the first 11). A clinic's record carrying one is checked by its digits
here (a wrong digit is a bad value) and against the issued vouchers at intake.

Hand-written Luhn: it is a few lines and the layout fixes it exactly; a library
for it would be a dependency for one loop.
"""

from __future__ import annotations

import datetime as dt
import re

from kenshin.programmes import rules as programmes

NUMBER = re.compile(r"[0-9]{12}")


class VoucherError(Exception):
    """A voucher operation that cannot be done (names the person by addressee id only)."""


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of `digits` (the digit appended makes the whole valid)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:        # doubled: the rightmost digit of the payload, then every other one
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def number(fiscal_year: int, exam_type: str, serial: int) -> str:
    """The 12-digit voucher number of a serial."""
    if not 0 < serial < 10_000_000:
        raise VoucherError(f"serial {serial} is outside the 7 digits of the layout")
    payload = f"{fiscal_year % 100:02d}{exam_type}{serial:07d}"
    return payload + luhn_digit(payload)


def check_digit_ok(value: str) -> bool:
    return bool(NUMBER.fullmatch(value)) and luhn_digit(value[:11]) == value[11]


def refusal(value: str, exam_type: str, exam_date: dt.date) -> str | None:
    """Why a voucher number on a clinic's record is a bad value by its digits
    alone (None when it may be valid): check digit, fiscal year, exam type."""
    if not check_digit_ok(value):
        return "check digit does not match (Luhn over the first 11 digits)"
    if int(value[:2]) != programmes.fiscal_year(exam_date) % 100:
        return "not a voucher of the exam date's fiscal year"
    if value[2:4] != exam_type:
        return "not a voucher of this exam type"
    return None
