"""dbt marts on a real database: a hand-built cohort with known answers, the
disclosure gates, and what kenshin_stats may read."""

from __future__ import annotations

import psycopg
import pytest

from builders import build_cohort
from kenshin.marts import build, run_dbt

pytestmark = pytest.mark.integration

MEASURES = ("screened", "needing_detailed_exam", "detailed_exam_attended", "detailed_exam_not_attended",
            "detailed_exam_unknown", "cancers_found")

def rows(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_process_indicators_match_the_cohort_computed_by_hand(db_url):
    build_cohort(db_url)
    assert build(db_url, vars={"suppress_below": 1})
    got = {(sex, band): values for sex, band, *values in rows(db_url, f"""
        select sex, age_band, {", ".join(MEASURES)}, recall_rate, followup_rate, unknown_rate, detection_rate, ppv,
               meets_acceptable
          from stats.process_indicators where fiscal_year = 2025 and exam_type = '04'""")}
    # men 40-44: 5 screened, 2 要精検 (1 attended: cancer; 1 unknown)
    assert got[("1", "40-44")][:6] == [5, 2, 1, 0, 1, 1]
    assert got[("2", "40-44")][:6] == [4, 1, 1, 0, 0, 0]
    assert got[("1", "45-49")][:6] == [3, 0, 0, 0, 0, 0]
    assert got[("all", "40-44")][:6] == [9, 3, 2, 0, 1, 1]
    assert got[("1", "all")][:6] == [8, 2, 1, 0, 1, 1]
    total = got[("all", "all")]
    assert total[:6] == [12, 3, 2, 0, 1, 1]
    # rates (%): 要精検率 3/12, 精検受診率 2/3, 未把握率 1/3, がん発見率 1/12, PPV 1/3
    assert [float(r) for r in total[6:11]] == [25.0, 66.67, 33.33, 8.333, 33.33]
    assert total[11] is False  # colorectal 要精検率 acceptable ≤ 7.0 % (2008 table)


def test_small_counts_are_suppressed_with_their_complements_and_stats_is_all_the_stats_role_sees(db_url):
    build_cohort(db_url)
    assert build(db_url)  # the disclosure tests are part of the build
    published = rows(db_url, f"""select sex, age_band, {", ".join(MEASURES)} from stats.process_indicators
                                  where fiscal_year = 2025 and exam_type = '04'""")
    for sex, band, *counts in published:
        assert all(c is None or c == 0 or c >= 10 for c in counts), (sex, band, counts)
    assert ("all", "all", 12) in [(s, b, c[0]) for s, b, *c in published]
    # kenshin_stats reads stats and nothing else
    with psycopg.connect(db_url) as conn:
        conn.execute("set role kenshin_stats")
        assert conn.execute("select count(*) from stats.process_indicators").fetchone()[0] == len(published)
    for relation in ("marts.fct_screening", "marts.screening_history", "marts_staging.int_screening_enriched",
                     "stats_build.process_indicators",
                     "core.screening", "ops.load_manifest", "audit.record_correction"):
        with psycopg.connect(db_url) as conn:
            conn.execute("set role kenshin_stats")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {relation} limit 1")


def test_the_gates_fail_on_a_duplicated_screening(db_url):
    """A screening counted twice in the facts: uniqueness and reconciliation with
    core both fail (the marts_build DAG stops publication on them)."""
    build_cohort(db_url)
    assert run_dbt(["build", "--quiet"], db_url, vars={"suppress_below": 1}).success
    with psycopg.connect(db_url) as conn:
        conn.execute("insert into marts.fct_screening select * from marts.fct_screening limit 1")
    result = run_dbt(["test", "--select", "fct_screening", "reconcile_fct_screening_with_core"], db_url)
    assert not result.success
    failed = sorted(r.node.name for r in result.result if r.status == "fail")
    assert failed == ["reconcile_fct_screening_with_core", "reconcile_process_indicators_with_fct",
                      "unique_fct_screening_screening_id"]
