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
    ("06", 2, 36, None),              # HPV-only: every age of 30-60
    ("06", 2, 61, "birth_date"),
    ("05", 2, 29, None),              # cytology where HPV-only is adopted: 20-29 and 61+
    ("05", 2, 30, "birth_date"),
    ("05", 2, 61, None),
    ("04", 1, 40, None),
])
def test_exam_type_rules(code, sex, age, refused):
    result = programmes.exam_types()[code].refusal(sex, age)
    assert (result[0] if result else None) == refused


def test_every_layout_exam_type_has_a_rule():
    assert sorted(programmes.exam_types()) == [f"{i:02d}" for i in range(1, 13)]


def _document(**exam_types) -> dict:
    return {"version": 2, "fiscal_year_start_month": 4, "age_reference": "03-31", "families": {"gastric": "胃"},
            "exam_types": exam_types, "result_codes": {"1": "異常なし", "2": "要指導"},
            "detailed_exam_outcomes": {"1": "がん"}}


X_RAY = {"programme": "gastric", "family": "gastric", "name": "X", "min_age": 40, "blocked_by": {"01": 0}}


@pytest.mark.parametrize(("exam_types", "named"), [
    ({"01": {**X_RAY, "blocked_by": {"13": 1}}}, "exam_types.01.blocked_by: 13 is not an exam type"),
    ({"01": {**X_RAY, "intervall_years": 2}}, "exam_types.01.intervall_years"),
    ({"01": {**X_RAY, "sex": 3}}, "exam_types.01.sex"),
    ({"01": {**X_RAY, "age_ranges": [[30, 20]]}}, "exam_types.01"),
    ({"01": {**X_RAY, "interval_years": 2}}, "blocked_by or interval_years"),
    ({"1": X_RAY}, "exam_types.1"),
    ({"01": {**X_RAY, "family": "lung"}}, "exam_types.01.family: lung is not one of families"),
    ({"01": {**X_RAY, "followup_test": {"result_codes": ["7"], "fiscal_years_after": 1}}},
     "exam_types.01.followup_test: 7 is not a result code"),
])
def test_a_wrong_programmes_file_is_refused_naming_the_key(exam_types, named):
    with pytest.raises(programmes.PolicyError) as refused:
        programmes.validated(_document(**exam_types))
    assert named in str(refused.value) and str(refused.value).startswith("programmes.yaml: ")


def test_a_first_layout_file_keeps_its_meaning():
    """version 1: interval_years per exam type = blocked by every exam type of the
    same programme for interval - 1 fiscal years back; none = once a fiscal year."""
    old = {"version": 1, "fiscal_year_start_month": 4, "age_reference": "03-31",
           "exam_types": {"01": {"programme": "gastric", "name": "X", "min_age": 40, "interval_years": 2},
                          "02": {"programme": "gastric", "name": "E", "min_age": 50, "interval_years": 2},
                          "09": {"programme": "periodontal", "name": "P", "min_age": 20, "max_age": 70,
                                 "milestone_ages": [20, 30], "interval_years": None}},
           "result_codes": {"1": "異常なし"}, "detailed_exam_outcomes": {"1": "がん"}}
    rules = programmes.build(programmes.validated(old), {"gastric": 5, "periodontal": 10})
    assert rules["01"].blocked_by == rules["02"].blocked_by == (("01", 1), ("02", 1))
    assert rules["09"].blocked_by == (("09", 0),)
    assert (rules["01"].interval_years, rules["09"].interval_years) == (2, None)
    assert rules["01"].family == "gastric" and rules["01"].active


def test_the_shipped_file_is_kawasakis_policy():
    rules = programmes.exam_types()
    assert rules["01"].family == rules["02"].family == "gastric"
    assert rules["05"].family == rules["06"].family == "cervical"
    assert not rules["12"].active and all(r.active for c, r in rules.items() if c != "12")


@pytest.mark.parametrize(("options", "named"), [
    ({"13": {}}, "kinds.INVITE.exam_types.13: not an exam type of programmes.yaml"),
    ({"05": {"age": [20]}}, "kinds.INVITE.exam_types.05: unknown key age"),
    ({"05": {"ages": [20], "age_basis": "april_first"}}, "kinds.INVITE.exam_types.05.age_basis: one of"),
    ({"06": {"only": "target"}}, "kinds.INVITE.exam_types.06.only: followup_test or absent"),
    ({"05": {"ages": ["20"]}}, "kinds.INVITE.exam_types.05.ages: a list of ages"),
])
def test_a_wrong_letter_rule_in_notices_yaml_is_refused_naming_the_key(monkeypatch, options, named):
    from kenshin.letters import notices

    monkeypatch.setattr(notices, "policy", lambda: {"kinds": {"INVITE": {"exam_types": options}}})
    with pytest.raises(programmes.PolicyError) as refused:
        notices.letter_rules("INVITE")
    assert str(refused.value).startswith(f"notices.yaml: {named}")


def test_the_letter_rules_of_the_shipped_notices_yaml_are_valid():
    from kenshin.letters import notices

    assert notices.letter_rules("VOUCHER")["05"] == {"ages": [20], "age_basis": "fiscal_year_start"}
    assert notices.letter_rules("INVITE")["06"]["age_basis"] == "fiscal_year_age"
