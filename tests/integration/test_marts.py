"""dbt marts on a real database: a hand-built cohort with known answers, the
disclosure gates, and what kenshin_stats may read."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from builders import build_cohort
from builders import mart_contents as contents
from kenshin.reporting.marts import build, run_dbt

pytestmark = pytest.mark.integration

MEASURES = ("screened", "needing_detailed_exam", "detailed_exam_attended", "detailed_exam_not_attended",
            "detailed_exam_unknown", "cancers_found")

def rows(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def test_stats_match_the_cohort_computed_by_hand(db_url):
    build_cohort(db_url)
    assert build(vars={"suppress_below": 1}, url=db_url)
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

    # 受診率: all 12 are residents of 40+ on 2025-04-01 and were screened for colorectal;
    # the 4 women are the breast target, none screened for it
    participation = {(e, w, sx, b): (t, n, float(r)) for e, w, sx, b, t, n, r in rows(db_url, """
        select exam_type, ward_code, sex, age_band, target_population, screened, participation_rate
          from stats.participation where fiscal_year = 2025""")}
    assert participation[("04", "all", "all", "all")] == (12, 12, 100.0)
    assert participation[("04", "141313", "1", "40-44")] == (5, 5, 100.0)
    assert participation[("07", "all", "2", "all")] == (4, 0, 0.0)
    assert ("07", "all", "1", "all") not in participation  # breast has no male target

    # 健康増進編: FY2025 screened and 要精検; its outcomes are reported with FY2026
    report = {(y, sx, b, ft): values for y, sx, b, ft, *values in rows(db_url, """
        select fiscal_year, sex, age_band, first_time, screened, needing_detailed_exam,
               prev_needing_detailed_exam, prev_cancer, prev_suspected, prev_other_disease,
               prev_no_abnormality, prev_not_attended, prev_unknown
          from stats.ministry_report where exam_type = '04'""")}
    assert report[(2025, "all", "all", "all")] == [12, 3, 0, 0, 0, 0, 0, 0, 0]
    assert report[(2025, "1", "all", "first")] == [8, 2, 0, 0, 0, 0, 0, 0, 0]
    assert report[(2026, "all", "all", "all")] == [0, 0, 3, 1, 0, 0, 1, 0, 1]
    assert report[(2026, "2", "40-44", "first")] == [0, 0, 1, 0, 0, 0, 1, 0, 0]


def test_small_counts_are_suppressed_with_their_complements_and_stats_is_all_the_stats_role_sees(db_url):
    build_cohort(db_url)
    assert build(url=db_url)  # the disclosure tests are part of the build
    published = rows(db_url, f"""select sex, age_band, {", ".join(MEASURES)} from stats.process_indicators
                                  where fiscal_year = 2025 and exam_type = '04'""")
    for sex, band, *counts in published:
        assert all(c is None or c == 0 or c >= 10 for c in counts), (sex, band, counts)
    assert ("all", "all", 12) in [(s, b, c[0]) for s, b, *c in published]
    # kenshin_stats reads stats and nothing else
    with psycopg.connect(db_url) as conn:
        relations = [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'stats'")]
        conn.execute("set role kenshin_stats")
        assert conn.execute("select count(*) from stats.process_indicators").fetchone()[0] == len(published)
        assert sorted(relations) == ["ministry_report", "participation", "process_indicators"]
        for relation in relations:
            conn.execute(f"select * from stats.{relation} limit 1")
    for relation in ("marts.fct_screening", "marts.screening_history", "marts_staging.int_screening_enriched",
                     "stats_build.process_indicators",
                     "core.screening", "ops.load_manifest", "audit.record_correction"):
        with psycopg.connect(db_url) as conn:
            conn.execute("set role kenshin_stats")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select 1 from {relation} limit 1")


def test_the_gates_fail_on_a_duplicated_screening(db_url):
    """A screening counted twice in the facts (a second row under another id):
    reconciliation with core and of the statistics with the facts both fail (the
    marts_build DAG stops publication on them). The same id twice cannot even be
    stored: int_screening_enriched has a unique index on screening_id."""
    build_cohort(db_url)
    assert run_dbt(["build", "--quiet"], vars={"suppress_below": 1}, url=db_url).success
    with psycopg.connect(db_url) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            with conn.transaction():
                conn.execute("insert into marts_staging.int_screening_enriched "
                             "select * from marts_staging.int_screening_enriched limit 1")
        conn.execute("""insert into marts_staging.int_screening_enriched
                        select (select max(screening_id) + 1 from marts_staging.int_screening_enriched),
                               addressee_id, person_key, exam_type, programme, family, exam_date, fiscal_year, sex, ward_code,
                               age_in_fiscal_year, age_band, result_code, needs_detailed_exam, is_in_programme,
                               is_counted, is_counted_for_family, previous_fiscal_year, is_first_time, is_interval_kept, next_due_from,
                               detailed_exam_date, detailed_exam_outcome, detailed_exam_status, cancer_found,
                               row_hash, built_at, change_watermark
                          from marts_staging.int_screening_enriched
                         where age_band is not null and exam_type = '04' limit 1""")
    result = run_dbt(["test", "--select", "fct_screening", "reconcile_fct_screening_with_core"], url=db_url)
    assert not result.success
    failed = sorted(r.node.name for r in result.result if r.status == "fail")
    assert failed == ["reconcile_fct_screening_with_core", "reconcile_process_indicators_with_fct"]


def test_reconciliation_is_as_of_the_build_a_load_during_it_is_the_next_builds(db_url):
    """A screening committed after the build's change watermark (a clinic load
    the scheduler ran beside marts_build) is not yet a fact, and that is no
    failure; one of core changed before the watermark and missing from the
    facts is."""
    from builders import insert_screening

    build_cohort(db_url)
    assert run_dbt(["build", "--quiet"], vars={"suppress_below": 1}, url=db_url).success
    reconcile = ["test", "--select", "reconcile_fct_screening_with_core"]
    with psycopg.connect(db_url) as conn:
        aid = conn.execute("select addressee_id from core.screening limit 1").fetchone()[0]
        late = insert_screening(conn, aid, "03", dt.date(2025, 11, 1), 901)
    assert run_dbt(reconcile, url=db_url).success
    with psycopg.connect(db_url) as conn:  # the same screening, as if it had been there before the build
        conn.execute("update core.screening set updated_at = now() - interval '1 day' where screening_id = %s",
                     (late,))
    result = run_dbt(reconcile, url=db_url)
    assert not result.success and [r.failures for r in result.result] == [1]


# 20 more men of 47: the men's row then has one small cell (5 men of 40-44) next to
# published ones, the case complementary suppression exists for.
MORE_MEN = (("1", dt.date(1978, 9, 9), "1", None),) * 20


PROCESS_RATES = {"recall_rate": ("needing_detailed_exam", "screened"),
                 "followup_rate": ("detailed_exam_attended", "needing_detailed_exam"),
                 "not_attended_rate": ("detailed_exam_not_attended", "needing_detailed_exam"),
                 "unknown_rate": ("detailed_exam_unknown", "needing_detailed_exam"),
                 "detection_rate": ("cancers_found", "screened"),
                 "ppv": ("cancers_found", "needing_detailed_exam")}


def recover(table: list[dict], dims: tuple[str, ...], margin_dims: tuple[str, ...], measures: tuple[str, ...],
            identities: dict[str, tuple[str, ...]], rates: dict[str, tuple[str, str]]) -> list[tuple]:
    """What an attacker can work back from the published table: a suppressed
    count whose margin is published and whose group's other cells are all published
    (over each margin dim, and within a row for each identity). Returns the
    recovered (cell, measure) pairs; rates are published only from published counts,
    which this also checks."""
    recovered = []
    for m in measures:
        for dim in margin_dims:
            groups: dict[tuple, list[dict]] = {}
            for row in table:
                groups.setdefault(tuple(row[d] for d in dims if d != dim), []).append(row)
            for rows in groups.values():
                total = [r for r in rows if r[dim] == "all"]
                cells = [r for r in rows if r[dim] != "all"]
                hidden = [r for r in cells if r[f"{m}_suppressed"]]
                if total and not total[0][f"{m}_suppressed"] and len(hidden) == 1:
                    recovered.append((tuple(hidden[0][d] for d in dims), m))
    for total, parts in identities.items():
        for row in table:
            hidden = [x for x in (total, *parts) if row[f"{x}_suppressed"]]
            if len(hidden) == 1:
                recovered.append((tuple(row[d] for d in dims), hidden[0]))
    for row in table:
        for rate, (num, den) in rates.items():
            if row[rate] is not None and (row[f"{num}_suppressed"] or row[f"{den}_suppressed"]):
                recovered.append((tuple(row[d] for d in dims), rate))
    return recovered


def test_no_suppressed_cell_can_be_worked_back_and_the_gate_stops_a_leaky_table(db_url):
    build_cohort(db_url, MORE_MEN)
    # Without complementary suppression the men's 40-44 cell could be worked back:
    # the margin test fails the build and nothing is published.
    assert not build(vars={"suppression_passes": 0}, url=db_url)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select to_regclass('stats.process_indicators')").fetchone()[0] is None
    assert build(url=db_url)
    with psycopg.connect(db_url) as conn:
        cur = conn.execute("select * from stats.process_indicators")
        names = [c.name for c in cur.description]
        table = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    assert any(r["screened_suppressed"] for r in table)
    men = {r["age_band"]: r for r in table if r["sex"] == "1"}
    assert men["40-44"]["screened"] is None and men["45-49"]["screened"] is None  # the complement
    # the women's 4 (all ages) is small, so the men's 28 is hidden with it; the city total stays
    assert men["all"]["screened"] is None
    assert [r["screened"] for r in table if r["sex"] == "all" and r["age_band"] == "all"] == [32]
    assert recover(table, ("fiscal_year", "exam_type", "sex", "age_band"), ("sex", "age_band"), MEASURES,
                   {"needing_detailed_exam": ("detailed_exam_attended", "detailed_exam_not_attended",
                                              "detailed_exam_unknown")}, PROCESS_RATES) == []

    # the same attack on the other two published tables
    def published_table(name: str) -> list[dict]:
        with psycopg.connect(db_url) as conn:
            cur = conn.execute(f"select * from stats.{name}")
            names = [c.name for c in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    participation = published_table("participation")
    assert any(r["screened_suppressed"] or r["target_population_suppressed"] for r in participation)
    assert recover(participation, ("fiscal_year", "exam_type", "ward_code", "sex", "age_band"),
                   ("ward_code", "sex", "age_band"), ("target_population", "screened"), {},
                   {"participation_rate": ("screened", "target_population")}) == []
    outcomes = ("prev_cancer", "prev_suspected", "prev_other_disease", "prev_no_abnormality",
                "prev_not_attended", "prev_unknown")
    report = published_table("ministry_report")
    assert any(r["screened_suppressed"] for r in report)
    assert recover(report, ("fiscal_year", "exam_type", "sex", "age_band", "first_time"),
                   ("sex", "age_band", "first_time"),
                   ("screened", "needing_detailed_exam", "prev_needing_detailed_exam", *outcomes),
                   {"prev_needing_detailed_exam": outcomes}, {}) == []


def test_annual_report_writes_the_exact_counts_through_the_reporting_role_and_logs_the_read(
        db_url, tmp_path, monkeypatch):
    """The submission is exact (DOMAIN.md): the cohort's 3 要精検 of 12 are
    written as they are, never as '*', read as kenshin_reporter, whose read is in
    the access log without a person key; kenshin_stats cannot read the exact
    cells, the reporting role reads nothing of core. The files are LAYOUTS.md
    §8's: every table in order, its columns in order, and a rerun writes the
    same bytes."""
    import csv
    import io
    import time

    from openpyxl import load_workbook

    from kenshin.reporting.annual_report import write_annual_report

    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    build_cohort(db_url)
    assert build(url=db_url)
    paths = write_annual_report(2025, url=db_url)
    folder = tmp_path / "reports" / "FY2025"
    assert paths[0] == folder / "chiiki_hoken_2025.xlsx"
    tables = ["01", "02", "gastric", "03", "04", "05", "06", "cervical", "07", "08", "09", "10", "11"]
    assert paths[1:] == [folder / f"chiiki_hoken_2025_{t}.csv" for t in tables]
    colorectal = list(csv.reader(io.StringIO((folder / "chiiki_hoken_2025_04.csv").read_bytes().decode("cp932"))))
    header = ["性別", "年齢階級", "初回・非初回", "対象者数", "受診者数", "要精検者数", "精検受診者数", "がんであった者",
              "がんの疑い又は未確定", "がん以外の疾患", "異常認めず", "精検未受診者数", "精検未把握者数"]
    assert colorectal[0] == header
    body = colorectal[1:]
    # 12 residents of 40+ on 2025-04-01, all screened, 3 要精検; FY2025's follow-ups are reported with FY2026
    assert [r for r in body if r[:3] == ["計", "計", "計"]] == [["計", "計", "計", "12", "12", "3"] + ["0"] * 7]
    assert [r[3:6] for r in body if r[:3] == ["男", "40-44", "計"]] == [["5", "5", "2"]]   # small counts, exact
    # every band from 40-44 to 80+ is a row, 0 where nobody, in order; each 計 row is the sum of its rows
    bands = ["40-44", "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80+"]
    assert [tuple(r[:3]) for r in body] == [(s, b, f) for s in ("男", "女", "計") for b in bands + ["計"]
                                            for f in ("初回", "非初回", "計")]
    for sex in ("男", "女", "計"):
        for first in ("初回", "非初回", "計"):
            cells = {r[1]: r for r in body if r[0] == sex and r[2] == first}
            for col in range(3 if first == "計" else 4, len(header)):
                assert int(cells["計"][col]) == sum(int(cells[b][col]) for b in bands), (sex, first, col)
    assert {r[3] for r in body if r[2] != "計"} == {""}          # 対象者数: residents have no 初回 / 非初回
    breast = list(csv.reader(io.StringIO((folder / "chiiki_hoken_2025_07.csv").read_bytes().decode("cp932"))))
    assert breast[0] == header[:5] + ["前年度受診者数", "2年連続受診者数"] + header[5:]     # a biennial table
    assert {r[0] for r in breast[1:]} == {"女", "計"}
    book = load_workbook(paths[0])
    assert book.sheetnames == ["胃がん(エックス線)", "胃がん(内視鏡)", "胃がん(計)", "肺がん", "大腸がん",
                               "子宮頸がん(細胞診)", "子宮頸がん(HPV単独法)", "子宮頸がん(計)", "乳がん",
                               "前立腺がん(PSA)", "歯周疾患", "骨粗鬆症", "生活保護受給者等健康診査"]
    sheet = book["大腸がん"]
    assert [c.value for c in sheet[1]] == header and sheet.max_row == len(colorectal)
    assert [c.value for c in sheet[2]][:6] == ["男", "40-44", "初回", None, 5, 2]     # numbers, not text
    assert not any("*" in str(c.value) for ws in book for row in ws.iter_rows() for c in row)
    log = rows(db_url, "select db_role, purpose, object, person_key from audit.access_log")
    assert log == [("kenshin_reporter", "ministry_report", "report.ministry_report_exact", None)]
    # a year the marts hold nothing of (the ledger began later): a workbook that says so, no tables
    (empty,) = write_annual_report(2019, url=db_url)
    assert load_workbook(empty).sheetnames == ["報告対象なし"]
    # a rerun (the zip's clock ticks every 2 s) writes the same bytes
    written = {p: p.read_bytes() for p in paths}
    time.sleep(2.1)
    assert write_annual_report(2025, url=db_url) == paths
    assert {p: p.read_bytes() for p in paths} == written
    with psycopg.connect(db_url) as conn:
        conn.execute("select set_config('kenshin.purpose', 'ministry_report', false)")
        for role, relation in (("kenshin_stats", "report.ministry_report_exact"),
                               ("kenshin_reporter", "core.screening"), ("kenshin_reporter", "stats.ministry_report"),
                               ("kenshin_reporter", "marts_staging.int_screening_counts")):
            conn.execute(f"set role {role}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"select 1 from {relation} limit 1")
            conn.execute("reset role")
        # without a stated purpose the exact cells are refused
        conn.execute("select set_config('kenshin.purpose', '', false)")
        conn.execute("set role kenshin_reporter")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from report.ministry_report_exact")


def test_an_incremental_build_after_changes_equals_a_full_rebuild(db_url):
    """New screenings (a new fiscal year, a biennial window), a new and a corrected
    detailed-exam outcome, a corrected result, a deleted screening and a move:
    the incremental build rebuilds only what they touch, and ends where a
    full rebuild does."""
    build_cohort(db_url)
    with psycopg.connect(db_url) as conn:  # person 7's 2025 screening is a repeat of 2024's
        conn.execute("""insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                               fee_exempt, link_method, load_id, line_no)
                        values ('0000000007', '04', '2024-10-01', '1413050001', '1', false, 'fixture', 1, 100)""")
    policy = {"suppress_below": 1}
    assert build(vars=policy, url=db_url)
    with psycopg.connect(db_url) as conn:
        first_build = conn.execute("select max(built_at) from marts_staging.int_screening_enriched").fetchone()[0]
        conn.execute("""insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code,
                               fee_exempt, link_method, load_id, line_no)
                        values ('0000000001', '04', '2026-05-01', '1413050001', '3', false, 'fixture', 1, 101),
                               ('0000000009', '07', '2026-06-01', '1413050001', '1', false, 'fixture', 1, 102),
                               ('0000000006', '07', '2025-06-01', '1413050001', '1', false, 'fixture', 1, 103)""")
        unknown = conn.execute("""select s.screening_id, s.addressee_id from core.screening s
                                   where s.result_code = '3' and s.exam_date = '2025-10-01'
                                     and not exists (select 1 from core.detailed_exam d
                                                      where d.screening_id = s.screening_id)
                                   order by 1 limit 1""").fetchone()
        conn.execute("""insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome,
                               clinic_code, link_method, load_id, line_no)
                        values (%s, %s, '2026-01-10', '4', '1413050001', 'fixture', 1, 104)""", unknown)
        conn.execute("update core.detailed_exam set outcome = '2', updated_at = now() "
                     "where screening_id = (select min(screening_id) from core.detailed_exam where outcome = '1')")
        conn.execute("update core.screening set result_code = '3', updated_at = now() "
                     "where addressee_id = '0000000003' and exam_type = '04'")
        conn.execute("delete from core.screening where addressee_id = '0000000002'")
        # and the 2024 screening of person 7 was a mistake: the 2025 one becomes first-time
        conn.execute("delete from core.screening where addressee_id = '0000000007' and exam_date = '2024-10-01'")
        conn.execute("update core.person_version set valid_to = '2026-06-01' where addressee_id = '0000000011'")
        conn.execute("""insert into core.person_version (addressee_id, valid_from, household_id, name_kanji, name_kana,
                               name_kanji_key, name_kana_key, sex, birth_date, relationship, postal_code, ward_code,
                               address, address_key, status, protection_flag, attrs_hash, change_event, load_id,
                               line_no)
                        select addressee_id, '2026-06-01', household_id, name_kanji, name_kana, name_kanji_key,
                               name_kana_key, sex, birth_date, relationship, '215-0004', '141372', address,
                               address_key, status, protection_flag, 'y', '03', load_id, 105
                          from core.person_version where addressee_id = '0000000011'""")
        conn.execute("update core.person set updated_at = now() where addressee_id = '0000000011'")
        # person 8's previous municipality reports a colorectal screening of FY2024: 2025's is a repeat now
        conn.execute("""insert into core.external_screening (addressee_id, source_municipality_code, exam_type,
                               exam_date, result_code) values ('0000000008', '131016', '04', '2024-09-01', '1')""")

    assert build(vars=policy, url=db_url)
    incremental = contents(db_url)
    with psycopg.connect(db_url) as conn:
        untouched = conn.execute("select count(*) from marts_staging.int_screening_enriched where built_at = %s",
                                 (first_build,)).fetchone()[0]
        rebuilt_years = [r[0] for r in conn.execute(
            "select distinct fiscal_year from marts_staging.int_screening_counts where built_at > %s order by 1",
            (first_build,))]
    # rows keep their build time unless their content changed: persons 10 and 12
    # (untouched), the 2025 colorectal rows of 1, 6 and 9 (new screenings of theirs
    # came later or in another programme) and person 11 (moved after the exam)
    assert len(incremental["marts_staging.int_screening_enriched"]) == 14
    assert untouched == 6
    with psycopg.connect(db_url) as conn:
        # the reported screening is in the history, not in this city's facts or counts
        assert conn.execute("""select exam_date, source_municipality_code, is_first_time from marts.screening_history
                                where addressee_id = '0000000008' order by exam_date""").fetchall() == [
            (dt.date(2024, 9, 1), "131016", None), (dt.date(2025, 10, 1), None, False)]
        assert conn.execute("select count(*) from marts.fct_screening").fetchone()[0] == 14
    assert rebuilt_years == [2025, 2026]
    assert 2026 in {r[0] for r in incremental["stats.participation"]}

    assert build(vars=policy, full_refresh=True, url=db_url)
    assert contents(db_url) == incremental

    # a policy change (the 2023 threshold table) reaches every fiscal year, as a full refresh would
    policy_2023 = {**policy, "threshold_table": "2023"}
    assert build(vars=policy_2023, url=db_url)
    switched = contents(db_url)
    assert build(vars=policy_2023, full_refresh=True, url=db_url)
    assert contents(db_url) == switched
    assert switched["stats.process_indicators"] != incremental["stats.process_indicators"]


def test_every_column_of_every_model_is_documented(db_url):
    """The model YAML describes exactly the columns the built relations have."""
    import json

    from kenshin.reporting.marts import MANIFEST

    build_cohort(db_url)
    assert build(url=db_url)
    models = [n for n in json.loads(MANIFEST.read_text())["nodes"].values() if n["resource_type"] == "model"]
    with psycopg.connect(db_url) as conn:
        for node in models:
            built = [r[0] for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position", (node["schema"], node["alias"]))]
            documented = {name for name, c in node["columns"].items() if c.get("description")}
            assert built, node["name"]
            assert set(built) == documented, (node["name"], set(built) ^ documented)


def test_a_person_screened_twice_by_one_method_is_one_person_and_psa_has_a_table_of_its_own(db_url):
    """受診者数 counts people (DOMAIN.md): of two colorectal screenings in FY2025
    the first counts, with its own result. PSA is not a guideline cancer: no
    process indicators, a table of its own in the report."""
    from builders import fixture_load, insert_person, insert_screening

    with psycopg.connect(db_url) as conn:
        fixture_load(conn)
        for i in (1, 2, 3):
            insert_person(conn, f"{i:010d}", 1, dt.date(1975, 6, 1), line_no=i)
        insert_screening(conn, "0000000001", "04", dt.date(2025, 6, 1), 1, "3")   # counted: 要精検, no report
        insert_screening(conn, "0000000001", "04", dt.date(2025, 9, 1), 2, "1")   # 重複受診
        insert_screening(conn, "0000000002", "04", dt.date(2025, 6, 1), 3, "1")   # counted
        insert_screening(conn, "0000000002", "04", dt.date(2025, 10, 1), 4, "3")  # 重複受診: its 要精検 not counted
        insert_screening(conn, "0000000003", "08", dt.date(2025, 7, 1), 5, "1")
    assert build(vars={"suppress_below": 1}, url=db_url)
    indicators = {e: v for e, *v in rows(db_url, """
        select exam_type, screened, needing_detailed_exam, detailed_exam_unknown from stats.process_indicators
         where fiscal_year = 2025 and sex = 'all' and age_band = 'all'""")}
    assert indicators == {"04": [2, 1, 1]}
    report = {(e, t): v for e, t, v in rows(db_url, """
        select exam_type, report_table, screened from stats.ministry_report
         where fiscal_year = 2025 and sex = 'all' and age_band = 'all' and first_time = 'all'""")}
    assert {k: v for k, v in report.items() if v} == {("04", "guideline"): 2, ("08", "city"): 1}
    assert report[("07", "guideline")] == 0 and report[("09", "city")] == 0   # every table, 0 where nobody
