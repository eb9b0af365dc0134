"""Eligibility (対象者判定) of every programme of include/config/programmes.yaml,
table-driven: boundary ages, April 1 / April 2 birthdays, milestone ages,
intervals across fiscal years, sex rules, NHI and welfare conditions, once per
life. The day assessed is 2026-06-01 (FY2026; ages reached on 2027-03-31)."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshin.programmes import eligibility
from kenshin.programmes import rules as programmes
from kenshin.programmes.eligibility import Person, Screened

DAY = dt.date(2026, 6, 1)
MAN, WOMAN = 1, 2


def person(sex: int, birth: str, *, status: int = 1, nhi: bool = False, welfare: bool = False,
           screened: tuple[tuple[str, str], ...] = ()) -> Person:
    """`screened`: (exam type, exam date) of the person's history, result 1."""
    history = tuple(Screened(code, dt.date.fromisoformat(day), "1") for code, day in screened)
    return Person("0000000001", sex, dt.date.fromisoformat(birth), status, nhi, welfare, history)


CASES = [
    # (exam type, person, None = a target / words of the reason not, what the case shows)
    ("04", person(MAN, "1987-04-01"), None, "born April 1: turns 40 on March 31, so 40 in FY2026"),
    ("04", person(MAN, "1987-04-02"), "under 40", "born April 2: 39 in FY2026"),
    ("04", person(WOMAN, "1930-01-01"), None, "no upper age"),
    ("03", person(MAN, "1987-04-01"), None, "lung from 40"),
    ("03", person(MAN, "1987-04-02"), "under 40", "lung: 39"),
    ("01", person(MAN, "1987-04-01"), None, "gastric X-ray from 40"),
    ("01", person(MAN, "1987-04-02"), "under 40", "gastric X-ray: 39"),
    ("02", person(MAN, "1977-04-01"), None, "gastric endoscopy from 50 (April 1: 50)"),
    ("02", person(MAN, "1977-04-02"), "under 50", "gastric endoscopy: 49"),
    ("05", person(WOMAN, "2007-04-01"), None, "cervical cytology from 20 (April 1: 20)"),
    ("05", person(WOMAN, "2007-04-02"), "under 20", "cervical cytology: 19"),
    ("05", person(MAN, "1980-01-01"), "women only", "cervical: women only"),
    ("06", person(WOMAN, "1996-04-02"), None, "HPV-only from 30"),
    ("06", person(WOMAN, "1997-04-02"), "under 30", "HPV-only: 29"),
    ("06", person(WOMAN, "1990-04-02"), None, "HPV-only at 36: every age of 30-60, no milestones"),
    ("06", person(WOMAN, "1966-04-02"), None, "HPV-only at 60 (April 2)"),
    ("06", person(WOMAN, "1966-04-01"), "over 60", "HPV-only: born April 1, 61 in FY2026"),
    ("06", person(WOMAN, "1965-04-02"), "over 60", "HPV-only: 61"),
    ("05", person(WOMAN, "1997-04-02"), None, "cytology at 29"),
    ("05", person(WOMAN, "1996-04-02"), "outside the ages", "cytology: 30 goes to HPV-only"),
    ("05", person(WOMAN, "1966-04-02"), "outside the ages", "cytology: 60 goes to HPV-only"),
    ("05", person(WOMAN, "1966-04-01"), None, "cytology: born April 1, 61 in FY2026"),
    ("05", person(WOMAN, "1965-04-02"), None, "cytology again from 61"),
    ("07", person(WOMAN, "1987-04-01"), None, "breast from 40"),
    ("07", person(WOMAN, "1987-04-02"), "under 40", "breast: 39"),
    ("07", person(MAN, "1960-01-01"), "women only", "breast: women only"),
    ("08", person(MAN, "1977-04-01", nhi=True), None, "PSA: NHI men from 50"),
    ("08", person(MAN, "1977-04-01"), "not an NHI member", "PSA: NHI members only"),
    ("08", person(WOMAN, "1960-01-01", nhi=True), "men only", "PSA: men only"),
    ("08", person(MAN, "1977-04-02", nhi=True), "under 50", "PSA: 49"),
    ("09", person(MAN, "2007-04-01"), None, "periodontal at milestone 20 (April 1)"),
    ("09", person(MAN, "1996-04-02"), None, "periodontal at milestone 30"),
    ("09", person(MAN, "1995-04-02"), "milestone", "periodontal: 31"),
    ("09", person(WOMAN, "1956-04-02"), None, "periodontal at milestone 70"),
    ("09", person(WOMAN, "1946-04-02"), "over 70", "periodontal: 80"),
    ("10", person(WOMAN, "1981-04-02"), None, "osteoporosis at milestone 45"),
    ("10", person(WOMAN, "1980-04-02"), "milestone", "osteoporosis: 46"),
    ("10", person(MAN, "1981-04-02"), "women only", "osteoporosis: women only"),
    ("11", person(MAN, "1970-01-01", welfare=True), None, "welfare check: recipients of 40+"),
    ("11", person(MAN, "1970-01-01"), "not receiving public assistance", "welfare check: recipients only"),
    ("11", person(MAN, "1970-01-01", welfare=True, nhi=True), "covered by the insurer",
     "welfare check: not for those an insurer's check covers"),
    ("11", person(MAN, "1987-04-02", welfare=True), "under 40", "welfare check: 39"),
    ("12", person(MAN, "1987-04-01"), "not run by the city", "hepatitis: Kawasaki does not run it"),
    # intervals across fiscal years
    ("07", person(WOMAN, "1970-01-01", screened=(("07", "2026-03-31"),)), "blocked by exam type 07",
     "breast: screened last FY (its last day)"),
    ("07", person(WOMAN, "1970-01-01", screened=(("07", "2025-03-31"),)), None, "breast: screened two FYs ago"),
    ("04", person(MAN, "1970-01-01", screened=(("04", "2026-03-31"),)), None, "colorectal (yearly): last FY"),
    ("04", person(MAN, "1970-01-01", screened=(("04", "2026-04-01"),)), "重複受診", "colorectal: already this FY"),
    ("06", person(WOMAN, "1986-04-02", screened=(("06", "2022-04-01"),)), "blocked by exam type 06",
     "HPV-only at 40: screened four FYs ago"),
    ("06", person(WOMAN, "1986-04-02", screened=(("06", "2022-03-31"),)), None, "HPV-only: five FYs ago"),
    ("09", person(MAN, "1996-04-02", screened=(("09", "2026-04-20"),)), "重複受診", "periodontal: done at 30"),
    ("09", person(MAN, "1996-04-02", screened=(("09", "2016-06-01"),)), None, "periodontal: last at 20"),
    # not resident on the day
    ("04", person(MAN, "1970-01-01", status=2), "moved out", "moved out"),
    ("04", person(MAN, "1970-01-01", status=3), "deceased", "deceased"),
]


@pytest.mark.parametrize(("code", "who", "expected", "why"), CASES, ids=[c[3] for c in CASES])
def test_eligibility(code, who, expected, why):
    reason = eligibility.assess(who, DAY)[code]
    if expected is None:
        assert reason is None, reason
    else:
        assert reason is not None and expected in reason, reason


def test_every_programme_has_a_target_and_a_refusal_case():
    from kenshin.programmes import rules as programmes

    covered = {code for code, _, expected, _ in CASES if expected is None}
    refused = {code for code, _, expected, _ in CASES if expected is not None}
    active = {code for code, rule in programmes.exam_types().items() if rule.active}
    assert covered == active and refused == set(programmes.exam_types())


def test_the_fiscal_year_boundary_moves_the_age():
    """A person born April 1, 1987 counts as 39 on March 31, 2026 (FY2025) and as
    40 the next day (FY2026): the colorectal programme takes them from April 1."""
    who = person(MAN, "1987-04-01")
    assert "under 40" in eligibility.assess(who, dt.date(2026, 3, 31))["04"]
    assert eligibility.assess(who, dt.date(2026, 4, 1))["04"] is None


def _history(*screenings: tuple[str, str, str]) -> tuple[Screened, ...]:
    return tuple(Screened(code, dt.date.fromisoformat(day), result) for code, day, result in screenings)


def _targets(who: Person, day: str, codes: tuple[str, ...]) -> dict[str, bool]:
    verdict = eligibility.decide(who, dt.date.fromisoformat(day))
    return {code: verdict[code].target for code in codes}


def _gastric_man(*screenings) -> Person:
    # born 1971-01-01: 55 in FY2026, old enough for both methods in every year below
    return Person("0000000001", MAN, dt.date(1971, 1, 1), 1, False, False, _history(*screenings))


GASTRIC = ("01", "02")


@pytest.mark.parametrize(("history", "expected", "case"), [
    # (screenings, {FY: (X-ray target, endoscopy target)} on June 1 of each FY, what Kawasaki's rule says)
    ((), {2025: (True, True), 2026: (True, True), 2027: (True, True)}, "never screened: both every year"),
    ((("01", "2025-05-10", "1"),), {2025: (False, False), 2026: (True, True), 2027: (True, True)},
     "X-ray in FY2025: X-ray again the next FY, and an endoscopy too (an X-ray does not block it)"),
    ((("02", "2025-05-10", "1"),), {2025: (False, False), 2026: (False, False), 2027: (True, True)},
     "endoscopy in FY2025: neither method in FY2026, both in FY2027"),
    ((("01", "2024-05-01", "1"), ("01", "2025-05-01", "1")), {2026: (True, True)},
     "X-ray two years running: both still open"),
    ((("02", "2024-05-01", "1"), ("01", "2026-05-01", "1")), {2025: (False, False), 2026: (False, False),
                                                            2027: (True, True)},
     "endoscopy FY2024, X-ray FY2026: FY2025 blocked by the endoscopy, FY2026 already screened"),
    ((("01", "2025-05-01", "1"), ("02", "2026-05-01", "1")), {2026: (False, False), 2027: (False, False),
                                                            2028: (True, True)},
     "X-ray FY2025, endoscopy FY2026: the endoscopy blocks FY2027"),
])
def test_gastric_x_ray_and_endoscopy_over_three_fiscal_years(history, expected, case):
    for fy, (x_ray, endoscopy) in expected.items():
        # only what was done before that day is known on it
        known = tuple(s for s in history if dt.date.fromisoformat(s[1]) <= dt.date(fy, 6, 1))
        got = _targets(_gastric_man(*known), f"{fy}-06-01", GASTRIC)
        assert got == {"01": x_ray, "02": endoscopy}, (case, fy)


def test_endoscopy_is_from_50_and_the_x_ray_from_40():
    who = Person("0000000001", MAN, dt.date(1981, 4, 2), 1, False, False)   # 45 in FY2026
    assert _targets(who, "2026-06-01", GASTRIC) == {"01": True, "02": False}


def test_gastric_explanation_names_the_blocking_endoscopy():
    who = _gastric_man(("02", "2025-11-04", "1"))
    v = eligibility.decide(who, dt.date(2026, 6, 1))["01"]
    assert (v.target, v.rule, v.blocking.exam_type, v.blocking.exam_date) == (
        False, "blocked_by", "02", dt.date(2025, 11, 4))
    assert "2025-11-04" in v.en and "2025-11-04" in v.ja and "FY2025" in v.en and "2025年度" in v.ja


def _woman(birth: str, *screenings) -> Person:
    return Person("0000000001", WOMAN, dt.date.fromisoformat(birth), 1, False, False, _history(*screenings))


CERVICAL = ("05", "06")


@pytest.mark.parametrize(("who", "day", "expected", "case"), [
    (_woman("1981-04-02", ("06", "2025-07-01", "1")), "2026-06-01", (False, False),
     "45, HPV-negative last FY: no HPV test for five FYs, no cytology at 45"),
    (_woman("1981-04-02", ("06", "2025-07-01", "1")), "2029-06-01", (False, False), "FY2029: still within five"),
    (_woman("1981-04-02", ("06", "2025-07-01", "1")), "2030-06-01", (False, True), "FY2030: HPV again"),
    (_woman("1965-04-02", ("06", "2025-07-01", "1")), "2026-06-01", (False, False),
     "61, HPV-negative at 60 last FY: not invited to cytology (the family's history is shared)"),
    (_woman("1965-04-02", ("06", "2025-07-01", "1")), "2030-06-01", (True, False),
     "65: cytology once the HPV test's five years are over"),
    (_woman("1995-04-02", ("05", "2025-07-01", "1")), "2026-06-01", (False, False),
     "31, cytology last FY: HPV not the next FY"),
    (_woman("1995-04-02", ("05", "2025-07-01", "1")), "2027-06-01", (False, True), "32: HPV-only now"),
    (_woman("1998-04-02", ("05", "2025-07-01", "1")), "2026-06-01", (False, False),
     "28, cytology last FY: every two FYs"),
    (_woman("1998-04-02", ("05", "2025-07-01", "1")), "2027-06-01", (True, False), "29: cytology again"),
    # 追跡検査: HPV-positive with a negative triage (result 2) at 60 in FY2025
    (_woman("1965-04-02", ("06", "2025-07-01", "2")), "2026-06-01", (False, True),
     "follow-up HPV test the next FY, at 61 and within the five years"),
    (_woman("1965-04-02", ("06", "2025-07-01", "2")), "2027-06-01", (False, False),
     "the follow-up is for the next FY only"),
    (_woman("1965-04-02", ("06", "2025-07-01", "2"), ("06", "2026-09-01", "1")), "2026-10-01", (False, False),
     "follow-up done (negative) in FY2026: nothing more that FY"),
    (_woman("1965-04-02", ("06", "2025-07-01", "2"), ("06", "2026-09-01", "1")), "2027-06-01", (False, False),
     "after a negative follow-up at 61: cytology only once its five years are over"),
    (_woman("1965-04-02", ("06", "2025-07-01", "2"), ("06", "2026-09-01", "2")), "2027-06-01", (False, True),
     "follow-up again HPV-positive, triage-negative: another follow-up the next FY"),
])
def test_cervical_cytology_and_hpv_only_share_one_history(who, day, expected, case):
    assert _targets(who, day, CERVICAL) == dict(zip(CERVICAL, expected, strict=True)), case


def test_the_follow_up_test_is_the_rule_that_decided():
    v = eligibility.decide(_woman("1960-04-02", ("06", "2025-07-01", "2")), dt.date(2026, 6, 1))["06"]
    assert (v.target, v.rule, v.age) == (True, "followup_test", 66)
    assert "追跡検査" in v.ja and "follow-up test" in v.en


def test_hepatitis_is_inactive_so_nobody_is_its_target():
    v = eligibility.decide(person(MAN, "1986-04-02"), DAY)["12"]
    assert (v.target, v.rule) == (False, "inactive")
    assert "実施していない" in v.ja


def test_a_screening_reported_by_the_previous_municipality_blocks_like_the_citys_own():
    who = Person("0000000001", MAN, dt.date(1971, 1, 1), 1, False, False,
                 (Screened("02", dt.date(2025, 8, 1), "1", external=True),))
    v = eligibility.decide(who, DAY)["02"]
    assert not v.target and v.blocking.external and "previous municipality" in v.en


def test_the_city_wide_pass_answers_exactly_as_one_person_at_a_time():
    """`decisions` decides once per group of people with no screening in reach:
    its answers must be those of `decide` for every person, words included."""
    import random

    rng = random.Random(17)
    codes = sorted(programmes.exam_types())
    crowd = []
    for i in range(3000):
        birth = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(0, 33000))
        history = () if rng.random() < 0.5 else tuple(
            Screened(rng.choice(codes), dt.date(2021, 4, 1) + dt.timedelta(days=rng.randrange(0, 1900)),
                     rng.choice("123")) for _ in range(rng.randrange(1, 4)))
        crowd.append(Person(f"{i:010d}", rng.choice((MAN, WOMAN)), birth, rng.choice((1, 1, 1, 2, 3)),
                            rng.random() < 0.2, rng.random() < 0.05, history))
    for day in (DAY, dt.date(2027, 4, 1), dt.date(2027, 3, 31)):
        for who, answer in eligibility.decisions(crowd, day):
            one = eligibility.decide(who, day)
            assert {c: v.as_dict() for c, v in answer.items()} == {c: v.as_dict() for c, v in one.items()}, who


@pytest.mark.parametrize("code", sorted(programmes.exam_types()))
def test_the_admitted_ages_table_reads_the_age_rules_as_written(code):
    """refused_by looks ages up in a table made from age_ranges and milestone
    ages: at every age, it must say what the rules say."""
    rule = programmes.exam_types()[code]
    for age in range(-3, 160):
        in_range = not rule.age_ranges or any(low <= age and (high is None or age <= high)
                                              for low, high in rule.age_ranges)
        milestone = not rule.milestone_ages or age in rule.milestone_ages
        sex = rule.sex or MAN
        assert rule.refused_by(sex, age) == (None if in_range and milestone else "age"), age


def test_the_bulk_pass_pauses_the_cycle_collector_and_restores_it():
    import gc

    from kenshin.platform import memory

    assert gc.isenabled()
    with memory.acyclic_bulk():
        assert not gc.isenabled()
        with memory.acyclic_bulk():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), memory.acyclic_bulk():
        raise RuntimeError("a failing pass")
    assert gc.isenabled()
