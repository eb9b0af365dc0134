"""The retention policy (retention.yaml): cut-off days per programme and what
they count from, and the rules a policy must keep to be accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshin.governance import retention
from kenshin.platform import config
from kenshin.programmes import rules as programmes


def test_every_programme_has_a_period_and_the_programme_rules_read_it():
    rule = config.load("retention")
    assert {e.programme for e in programmes.exam_types().values()} == set(rule["programmes"])
    assert programmes.exam_types()["04"].retention_years == 5
    assert programmes.exam_types()["09"].retention_years == 10
    assert programmes.exam_types()["12"].retention_years is None


@pytest.mark.parametrize(("as_of", "colorectal_from", "periodontal_from"), [
    # FY2026 (from April 1, 2026): a FY2020 record kept 5 years went at the end of FY2025
    (dt.date(2026, 4, 1), dt.date(2021, 4, 1), dt.date(2016, 4, 1)),
    (dt.date(2026, 3, 31), dt.date(2020, 4, 1), dt.date(2015, 4, 1)),
])
def test_periods_count_from_the_end_of_the_exams_fiscal_year(as_of, colorectal_from, periodontal_from):
    kept = retention.screenings_retained_from(as_of)
    assert kept["04"] == colorectal_from and kept["09"] == periodontal_from
    assert "12" not in kept   # hepatitis: for life


def test_periods_may_count_from_the_exam_date(monkeypatch):
    policy = {**config.load("retention"), "counts_from": "exam_date"}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    assert retention.screenings_retained_from(dt.date(2026, 11, 27))["04"] == dt.date(2021, 11, 27)
    assert retention.screenings_retained_from(dt.date(2028, 2, 29))["04"] == dt.date(2023, 2, 28)


def test_an_unknown_starting_point_is_refused(monkeypatch):
    policy = {**config.load("retention"), "counts_from": "birthday"}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    with pytest.raises(ValueError, match="counts_from"):
        retention.screenings_retained_from(dt.date(2026, 4, 1))


@pytest.mark.parametrize(("change", "message"), [
    ({"audit_years": 10}, "audit_years"),
    ({"record_matches_days": 5 * 365}, "record_matches_days"),
    ({"linkage_requests_days": 300}, "linkage_requests_days"),
    ({"programmes": {"gastric": 5}}, "every programme"),
])
def test_a_policy_that_would_purge_what_another_rule_needs_is_refused(monkeypatch, change, message):
    policy = {**config.load("retention"), **change}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    with pytest.raises(ValueError, match=message):
        retention.check_policy()


def test_the_shipped_policy_is_accepted():
    retention.check_policy()
