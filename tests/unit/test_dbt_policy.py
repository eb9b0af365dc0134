"""Policy the dbt project shares with include/config: one source of truth, checked."""

from __future__ import annotations

import csv

import yaml

from kenshin.platform import config
from kenshin.programmes import rules as programmes
from kenshin.reporting.marts import DBT_PROJECT


def test_fiscal_year_and_age_reference_agree_with_programmes_yaml():
    dbt_vars = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    policy = config.load("programmes")
    assert dbt_vars["fiscal_year_start_month"] == policy["fiscal_year_start_month"]
    assert dbt_vars["age_reference"] == policy["age_reference"]


def test_exam_type_seed_agrees_with_programmes_yaml():
    with open(DBT_PROJECT / "seeds" / "exam_types.csv", encoding="utf-8") as fh:
        seed = {r["exam_type"]: r for r in csv.DictReader(fh)}
    rules = programmes.exam_types()
    assert sorted(seed) == sorted(rules)

    def number(text: str) -> int | None:
        return int(text) if text else None

    for code, rule in rules.items():
        row = seed[code]
        milestones = tuple(int(a) for a in row["milestone_ages"].split()) or None
        ranges = tuple((int(low), number(high)) for low, high in (r.split("-") for r in row["age_ranges"].split()))
        assert (row["programme"], row["family"], row["active"] == "true", row["population"], number(row["sex"]),
                number(row["min_age"]), number(row["max_age"]), ranges, milestones, number(row["interval_years"])) == (
            rule.programme, rule.family, rule.active, rule.population, rule.sex, rule.min_age, rule.max_age,
            rule.age_ranges, rule.milestone_ages, rule.interval_years), code
