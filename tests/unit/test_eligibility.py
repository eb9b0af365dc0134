"""Eligibility (対象者判定) of every programme of include/config/programmes.yaml,
table-driven: boundary ages, April 1 / April 2 birthdays, milestone ages,
intervals across fiscal years, sex rules, NHI and welfare conditions, once per
life. The day assessed is 2026-06-01 (FY2026; ages reached on 2027-03-31)."""

from __future__ import annotations

import datetime as dt

import pytest

from kenshin.programmes import eligibility
from kenshin.programmes.eligibility import Person

DAY = dt.date(2026, 6, 1)
MAN, WOMAN = 1, 2


def person(sex: int, birth: str, *, status: int = 1, nhi: bool = False, welfare: bool = False,
           screened: tuple[tuple[str, int], ...] = ()) -> Person:
    return Person("0000000001", sex, dt.date.fromisoformat(birth), status, nhi, welfare, frozenset(screened))


CASES = [
    # (exam type, person, None = a target / words of the reason not, what the case shows)
    ("04", person(MAN, "1987-04-01"), None, "born April 1: turns 40 on March 31, so 40 in FY2026"),
    ("04", person(MAN, "1987-04-02"), "under 40", "born April 2: 39 in FY2026"),
    ("04", person(WOMAN, "1930-01-01"), None, "no upper age"),
    ("03", person(MAN, "1987-04-01"), None, "lung from 40"),
    ("03", person(MAN, "1987-04-02"), "under 40", "lung: 39"),
    ("01", person(MAN, "1987-04-01"), None, "gastric X-ray from 40"),
    ("02", person(MAN, "1977-04-01"), None, "gastric endoscopy from 50 (April 1: 50)"),
    ("02", person(MAN, "1977-04-02"), "under 50", "gastric endoscopy: 49"),
    ("05", person(WOMAN, "2007-04-01"), None, "cervical cytology from 20 (April 1: 20)"),
    ("05", person(WOMAN, "2007-04-02"), "under 20", "cervical cytology: 19"),
    ("05", person(MAN, "1980-01-01"), "women only", "cervical: women only"),
    ("06", person(WOMAN, "1991-04-02"), None, "HPV-only at milestone 35"),
    ("06", person(WOMAN, "1990-04-02"), "milestone", "HPV-only: 36 is not a milestone"),
    ("06", person(WOMAN, "1965-04-02"), "over 60", "HPV-only: 61"),
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
    ("12", person(MAN, "1987-04-01"), None, "hepatitis at 40"),
    ("12", person(MAN, "1960-01-01"), None, "hepatitis at 41+ when never tested"),
    ("12", person(MAN, "1960-01-01", screened=(("hepatitis", 2012),)), "once per life", "hepatitis: tested in 2012"),
    # intervals across fiscal years
    ("07", person(WOMAN, "1970-01-01", screened=(("breast", 2025),)), "within the 2-year interval",
     "breast: screened last FY"),
    ("07", person(WOMAN, "1970-01-01", screened=(("breast", 2024),)), None, "breast: screened two FYs ago"),
    ("04", person(MAN, "1970-01-01", screened=(("colorectal", 2025),)), None, "colorectal (yearly): last FY"),
    ("04", person(MAN, "1970-01-01", screened=(("colorectal", 2026),)), "within the 1-year interval",
     "colorectal: already this FY"),
    ("01", person(MAN, "1970-01-01", screened=(("gastric", 2025),)), "within the 2-year interval",
     "gastric X-ray after last FY's endoscopy: the interval is the programme's"),
    ("06", person(WOMAN, "1986-04-02", screened=(("cervical_hpv", 2022),)), "within the 5-year interval",
     "HPV-only at 40: screened four FYs ago"),
    ("06", person(WOMAN, "1986-04-02", screened=(("cervical_hpv", 2021),)), None, "HPV-only: five FYs ago"),
    ("09", person(MAN, "1996-04-02", screened=(("periodontal", 2026),)), "already", "periodontal: done at 30"),
    ("09", person(MAN, "1996-04-02", screened=(("periodontal", 2016),)), None, "periodontal: last at 20"),
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
    assert covered == refused == set(programmes.exam_types())


def test_the_fiscal_year_boundary_moves_the_age():
    """A person born April 1, 1987 counts as 39 on March 31, 2026 (FY2025) and as
    40 the next day (FY2026): the colorectal programme takes them from April 1."""
    who = person(MAN, "1987-04-01")
    assert "under 40" in eligibility.assess(who, dt.date(2026, 3, 31))["04"]
    assert eligibility.assess(who, dt.date(2026, 4, 1))["04"] is None
