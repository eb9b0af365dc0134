"""Programme rules (年度年齢, sex and age per exam type) from include/config/programmes.yaml."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshin.programmes import rules as programmes


@pytest.mark.parametrize(("birth", "day", "age"), [
    # Someone born on April 1 turns N on March 31: they reach 40 in FY2025 ...
    (dt.date(1986, 4, 1), dt.date(2025, 10, 1), 40),
    # ... while someone born on April 2 reaches 40 only in FY2026.
    (dt.date(1986, 4, 2), dt.date(2025, 10, 1), 39),
    (dt.date(1986, 4, 2), dt.date(2026, 4, 1), 40),
    # The fiscal year starts in April: January 2026 belongs to FY2025.
    (dt.date(1986, 3, 31), dt.date(2026, 1, 15), 40),
    (dt.date(1960, 2, 29), dt.date(2026, 2, 27), 66),
])
def test_fiscal_year_age_counts_the_age_reached_by_the_end_of_the_fiscal_year(birth, day, age):
    assert programmes.fiscal_year_age(birth, day) == age


def test_age_on_follows_the_law_on_counting_age():
    # one year older at the end of the day before the birthday
    assert programmes.age_on(dt.date(2000, 4, 1), dt.date(2020, 3, 31)) == 20
    assert programmes.age_on(dt.date(2000, 4, 1), dt.date(2020, 3, 30)) == 19


def test_fiscal_year():
    assert programmes.fiscal_year(dt.date(2026, 3, 31)) == 2025
    assert programmes.fiscal_year(dt.date(2026, 4, 1)) == 2026


@pytest.mark.parametrize(("code", "sex", "age", "refused"), [
    ("07", 1, 50, "exam_type"),       # breast: women only
    ("07", 2, 39, "birth_date"),      # under 40
    ("07", 2, 40, None),
    ("08", 2, 60, "exam_type"),       # prostate: men only
    ("09", 1, 40, None),              # periodontal at a milestone age
    ("09", 1, 41, "birth_date"),
    ("10", 2, 65, None),              # osteoporosis milestone
    ("10", 2, 75, "birth_date"),      # over the maximum
    ("06", 2, 35, None),              # HPV-only at a 5-year milestone
    ("06", 2, 36, "birth_date"),
    ("04", 1, 40, None),
])
def test_exam_type_rules(code, sex, age, refused):
    result = programmes.exam_types()[code].refusal(sex, age)
    assert (result[0] if result else None) == refused


def test_every_layout_exam_type_has_a_rule():
    assert sorted(programmes.exam_types()) == [f"{i:02d}" for i in range(1, 13)]
