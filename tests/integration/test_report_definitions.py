"""The ministry's definitions on a hand-made cohort, counted by hand from
DOMAIN.md: national margins ('50-69', '20-69', '40-69'), the family rows
(gastric, cervical: each person once), the biennial columns of the report
(前年度受診者数, 2年連続受診者数), and a suppressed table that no linear
programme can work back, the national and family rows included."""

from __future__ import annotations

import datetime as dt
import random

import psycopg
import pytest

from builders import fixture_load, insert_person, insert_screening
from kenshin.reporting.marts import build

pytestmark = pytest.mark.integration

D = dt.date
# person: sex, birth date, [(exam type, exam date, result)]; ages are 年度年齢 of FY2025
COHORT = {
    "G1": (1, D(1965, 6, 1), [("01", D(2025, 6, 1), "1"), ("02", D(2025, 11, 1), "3")]),   # 60: X-ray, then 要精検 endoscopy
    "G2": (1, D(1950, 6, 1), [("01", D(2025, 7, 1), "3"), ("03", D(2025, 7, 2), "1")]),    # 75
    "G3": (2, D(1980, 6, 1), [("01", D(2025, 7, 1), "1"), ("03", D(2025, 7, 2), "1")]),    # 45
    "G5": (1, D(1968, 6, 1), [("01", D(2024, 6, 1), "1"), ("02", D(2025, 6, 1), "1")]),    # 57: X-ray last FY
    "G6": (2, D(1966, 6, 1), [("02", D(2024, 9, 1), "1")]),                                # 59: endoscopy last FY
    "C1": (2, D(1990, 6, 1), [("06", D(2025, 6, 1), "3")]),                                # 35
    "C2": (2, D(2003, 6, 1), [("05", D(2025, 6, 1), "9")]),                                # 22: 判定不能 = 要精検
    "C3": (2, D(1955, 6, 1), [("05", D(2025, 6, 1), "1")]),                                # 70
    "C4": (2, D(1985, 6, 1), [("06", D(2025, 5, 1), "1"), ("05", D(2025, 9, 1), "1")]),    # 40: both methods
}


def _load(url: str, cohort: dict) -> None:
    with psycopg.connect(url) as conn:
        fixture_load(conn)
        for i, (sex, birth, screenings) in enumerate(cohort.values(), start=1):
            aid = f"{i:010d}"
            insert_person(conn, aid, sex, birth, line_no=i)
            for j, (exam_type, day, result) in enumerate(screenings):
                insert_screening(conn, aid, exam_type, day, i * 10 + j, result)


def _rows(url: str, sql: str) -> dict:
    with psycopg.connect(url) as conn:
        return {tuple(r[:-1]) if len(r) > 2 else r[0]: r[-1] for r in conn.execute(sql).fetchall()}


def test_national_margins_family_rows_and_biennial_columns_by_hand(db_url):
    _load(db_url, COHORT)
    assert build(vars={"suppress_below": 1}, url=db_url)
    pi = _rows(db_url, """select exam_type, age_band, array[screened, needing_detailed_exam]
                            from stats.process_indicators where fiscal_year = 2025 and sex = 'all'""")
    # gastric: X-ray G1 G2 G3 (G2 要精検), endoscopy G1 G5 (G1 要精検); the family is
    # G1 G2 G3 G5 once each, G1 by the endoscopy that needs a detailed exam
    assert pi[("01", "all")] == [3, 1] and pi[("02", "all")] == [2, 1] and pi[("gastric", "all")] == [4, 2]
    # the national figures of gastric are 50-69: G1 (60) and G5 (57); G2 (75) and G3 (45) are outside
    assert pi[("01", "50-69")] == [1, 0] and pi[("02", "50-69")] == [2, 1] and pi[("gastric", "50-69")] == [2, 1]
    # cervical: cytology C2 (9 = 要精検) C3 C4, HPV-only C1 (要精検) C4; the family C1-C4 once each
    assert pi[("05", "all")] == [3, 1] and pi[("06", "all")] == [2, 1] and pi[("cervical", "all")] == [4, 2]
    # cervical 20-69 leaves C3 (70) out
    assert pi[("05", "20-69")] == [2, 1] and pi[("06", "20-69")] == [2, 1] and pi[("cervical", "20-69")] == [3, 2]
    # lung 40-69: G3 (45), not G2 (75)
    assert pi[("03", "all")] == [2, 0] and pi[("03", "40-69")] == [1, 0]
    assert not [k for k in pi if k[1] in ("40-69", "50-69", "20-69") and k[0] in ("01", "02", "gastric")
                and k[1] != "50-69"]

    part = _rows(db_url, """select exam_type, age_band, array[target_population, screened]
                              from stats.participation where fiscal_year = 2025 and sex = 'all' and ward_code = 'all'""")
    # targets on 2025-04-01: 40+ for X-ray (G1 G2 G3 G5 G6 C3 C4), 50+ endoscopy (G1 G2 G5 G6 C3);
    # the family is whoever either admits (the 7), 50-69: G1 G5 G6
    assert part[("01", "all")] == [7, 3] and part[("02", "all")][0] == 5 and part[("gastric", "all")][0] == 7
    # biennial 受診率: endoscopy last FY or this (G1 G5 this, G6 last) = 3; the family: G1 G2 G3 G5 G6
    assert part[("02", "all")][1] == 3 and part[("gastric", "all")][1] == 5
    assert part[("gastric", "50-69")] == [3, 3] and part[("02", "50-69")] == [3, 3] and part[("01", "50-69")] == [3, 1]
    # cervical: cytology admits women 20-29 and 61+ (C2 C3), HPV-only 30-60 (G3 G6 C1 C4); the family all 6
    assert part[("05", "all")][0] == 2 and part[("06", "all")][0] == 4 and part[("cervical", "all")][0] == 6
    assert part[("cervical", "20-69")][0] == 5                      # C3 (70) outside

    with psycopg.connect(db_url) as conn:
        report = {(e, s, b): (p, n) for e, s, b, p, n in conn.execute("""
            select exam_type, sex, age_band, prev_year_screened, screened_both_years
              from report.ministry_report_exact where fiscal_year = 2025 and first_time = 'all'""")}
        repeat = {e: n for e, n in conn.execute("""
            select exam_type, screened from report.ministry_report_exact
             where fiscal_year = 2025 and sex = 'all' and age_band = 'all' and first_time = 'repeat'""")}
    # 前年度受診者数 / 2年連続受診者数: endoscopy FY2024 G6, nobody both years; the family FY2024
    # G5 G6, both years G5 (X-ray, then endoscopy), in FY2025's band 55-59
    assert report[("02", "all", "all")] == (1, 0) and report[("gastric", "all", "all")] == (2, 1)
    assert report[("gastric", "1", "55-59")] == (1, 1) and report[("gastric", "2", "55-59")] == (1, 0)
    assert report[("01", "all", "all")] == (None, None)           # annual: no biennial columns
    assert report[("07", "all", "all")] == (0, 0)                 # biennial, nobody
    # 初回 is per family and looks at previous fiscal years: G5's endoscopy follows last FY's X-ray
    # (非初回); G1's follows an X-ray of the same FY (初回)
    assert repeat["02"] == 1 and repeat["gastric"] == 1 and repeat["01"] == 0


def _city(n: int, seed: int) -> dict:
    """A random small city: enough people for published cells, few enough for small ones."""
    rng = random.Random(seed)
    city = {}
    for i in range(n):
        sex = rng.choice((1, 2))
        birth = D(rng.randint(1938, 2004), rng.randint(1, 12), rng.randint(1, 28))
        screenings = []
        for fy in (2024, 2025):
            for exam_type in ("01", "02", "03", "04", "05", "06", "07"):
                if exam_type in ("05", "06", "07") and sex == 1:
                    continue
                if rng.random() < 0.3:
                    screenings.append((exam_type, D(fy, rng.randint(4, 12), rng.randint(1, 28)),
                                       rng.choice("11112339")))
        city[f"P{i}"] = (sex, birth, screenings)
    return city


def _table(url: str, name: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute(f"select * from stats.{name}")
        names = [c.name for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


FAMILIES = {"gastric": ("01", "02"), "cervical": ("05", "06")}
NATIONAL = {"40-69": (40, 69), "50-69": (50, 69), "20-69": (20, 69)}


def _band_within(band: str, label: str) -> bool:
    low, high = NATIONAL[label]
    a, b = (band[:-1], "200") if band.endswith("+") else band.split("-")
    return low <= int(a) and int(b) <= high


def attack(table: list[dict], dims: tuple[str, ...], margin_dims: tuple[str, ...], measures: tuple[str, ...],
           identities: dict[str, tuple[str, ...]], families: bool = True) -> list[tuple]:
    """Every suppressed count an attacker can pin down from what is published,
    by linear programming over everything the table says (DOMAIN.md's sums,
    written here from the definitions, not from the models): each 'all' is the
    sum of its cells over each margin dim; a national row ('40-69' ...) the sum of
    the bands within it; a family row at most the sum of its methods' rows (a
    person screened by both is once in it), its 受診者 at least each method's;
    each identity a sum within a row; every count ≥ 0. Without `families` the
    family rows are bound by nothing but their own margins (受診率's two-year
    window counts a person by their latest screening's band and ward, and last
    year's annual X-ray in the biennial family: neither bound holds cell by cell).
    Returns the cells whose
    feasible range holds a single integer."""
    import numpy as np
    from scipy.optimize import linprog

    key = {tuple(r[d] for d in dims): r for r in table}
    unknown: dict[tuple, int] = {}
    for k, r in key.items():
        for m in measures:
            if r[f"{m}_suppressed"]:
                unknown[(k, m)] = len(unknown)
    eq, ub = [], []           # (coefficients {var: c}, constant): sum c*x + constant = 0 / <= 0

    def term(k, m, sign, row, const):
        if (k, m) in unknown:
            row[unknown[(k, m)]] = row.get(unknown[(k, m)], 0) + sign
            return const
        value = key[k][m] if k in key else 0
        return const + sign * (value or 0)

    for m in measures:
        for d in margin_dims:
            i = dims.index(d)
            groups: dict[tuple, list[tuple]] = {}
            for k in key:
                if k[i] != "all" and not (d == "age_band" and k[i] in NATIONAL):
                    groups.setdefault(k[:i] + ("all",) + k[i + 1:], []).append(k)
            for total, cells in groups.items():
                row = {}
                const = term(total, m, -1, row, 0)
                for c in cells:
                    const = term(c, m, 1, row, const)
                eq.append((row, const, ("margin", d, total, m)))
        if "age_band" in dims:
            i = dims.index("age_band")
            for k in key:
                if k[i] in NATIONAL:
                    row = {}
                    const = term(k, m, -1, row, 0)
                    for c in key:
                        if c[:i] + c[i + 1:] == k[:i] + k[i + 1:] and c[i] not in NATIONAL and c[i] != "all" \
                                and _band_within(c[i], k[i]):
                            const = term(c, m, 1, row, const)
                    eq.append((row, const, ("national", k, m)))
        i = dims.index("exam_type")
        for k in key:
            if families and k[i] in FAMILIES:
                methods = [k[:i] + (e,) + k[i + 1:] for e in FAMILIES[k[i]]]
                row = {}
                const = term(k, m, 1, row, 0)
                for c in methods:
                    const = term(c, m, -1, row, const)
                ub.append((row, const, ("family<=methods", k, m)))
                if m == "screened":
                    for c in methods:
                        row = {}
                        const = term(c, m, 1, row, term(k, m, -1, row, 0))
                        ub.append((row, const, ("method<=family", c, m)))
    for total, parts in identities.items():
        for k in key:
            row = {}
            const = term(k, total, -1, row, 0)
            for p in parts:
                const = term(k, p, 1, row, const)
            eq.append((row, const, ("identity", k, total)))

    broken = [label for r, c, label in eq if not r and c != 0] + [label for r, c, label in ub if not r and c > 0]
    assert not broken, broken[:5]
    n = len(unknown)

    def matrix(rows):
        rows = [(r, c) for r, c, _ in rows if r]
        a = np.zeros((len(rows), n))
        for j, (r, _) in enumerate(rows):
            for v, c in r.items():
                a[j, v] = c
        return (a, np.array([-c for _, c in rows])) if rows else (None, None)

    if not unknown:
        return []
    a_eq, b_eq = matrix(eq)
    a_ub, b_ub = matrix(ub)
    cap = (0, 10**6)          # a count of more than a million is as good as unbounded here

    def solve(c):
        res = linprog(c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=cap, method="highs")
        assert res.status == 0, res.message
        return res.x

    # a cell with two feasible values an integer apart is not pinned: a few
    # solutions under random objectives clear most cells at once, and only the
    # rest are bounded one by one
    rng = np.random.default_rng(18)
    seen = np.stack([solve(sense * rng.random(n)) for sense in (1, -1) for _ in range(6)])
    open_cells = np.floor(seen.max(axis=0) + 1e-6) - np.ceil(seen.min(axis=0) - 1e-6) >= 1
    pinned = []
    for (k, m), v in unknown.items():
        if open_cells[v]:
            continue
        unit = np.zeros(n)
        unit[v] = 1
        low, high = solve(unit)[v], solve(-unit)[v]
        if np.floor(high + 1e-6) - np.ceil(low - 1e-6) < 1:
            pinned.append((k, m, low, high))
    return pinned


def test_no_suppressed_cell_of_stats_can_be_solved_for_from_the_published_margins(db_url):
    _load(db_url, _city(220, seed=18))
    assert build(url=db_url)
    indicators = _table(db_url, "process_indicators")
    participation = _table(db_url, "participation")
    report = _table(db_url, "ministry_report")
    # the attack has something to work on: small cells, national and family rows among them
    for table in (indicators, participation):
        assert any(r["screened_suppressed"] for r in table if r["age_band"] in NATIONAL)
        assert any(r["screened_suppressed"] for r in table if r["exam_type"] in FAMILIES)
        assert any(r["screened"] for r in table if r["age_band"] in NATIONAL and r["exam_type"] in FAMILIES)
    measures = ("screened", "needing_detailed_exam", "detailed_exam_attended", "detailed_exam_not_attended",
                "detailed_exam_unknown", "cancers_found")
    # the attack can win: one published cell hidden alone is pinned by its margins
    alone = next(r for r in indicators if r["screened"] and r["age_band"] != "all" and r["sex"] != "all")
    hidden = [{**r, "screened": None, "screened_suppressed": True} if r is alone else r for r in indicators]
    key = tuple(alone[d] for d in ("fiscal_year", "exam_type", "sex", "age_band"))
    assert [p[:2] for p in attack(hidden, ("fiscal_year", "exam_type", "sex", "age_band"), ("sex", "age_band"),
                                  ("screened",), {})] == [(key, "screened")]
    assert attack(indicators, ("fiscal_year", "exam_type", "sex", "age_band"), ("sex", "age_band"), measures,
                  {"needing_detailed_exam": measures[2:5]}) == []
    assert attack(participation, ("fiscal_year", "exam_type", "ward_code", "sex", "age_band"),
                  ("ward_code", "sex", "age_band"), ("target_population", "screened"), {}, families=False) == []
    outcomes = ("prev_cancer", "prev_suspected", "prev_other_disease", "prev_no_abnormality", "prev_not_attended",
                "prev_unknown")
    assert attack(report, ("fiscal_year", "exam_type", "sex", "age_band", "first_time"),
                  ("sex", "age_band", "first_time"),
                  ("screened", "needing_detailed_exam", "prev_needing_detailed_exam", *outcomes),
                  {"prev_needing_detailed_exam": outcomes}) == []
