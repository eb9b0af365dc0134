"""Retention purges on twelve fiscal years of synthetic history: what goes and
what stays is counted against the ground truth (the policy applied in plain
Python), the log against the plan; reruns, dry runs, a killed purge, four eyes,
and the marts after the next build."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import yaml

import history
from builders import mart_contents
from kenshin.governance import retention
from kenshin.platform import config
from kenshin.reporting.marts import build

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 11, 27)   # FY2026: cancer kept from FY2021, periodontal/osteoporosis from FY2016


@pytest.fixture
def city(db_url, inbox):
    """The database and data folder with twelve fiscal years of history, and its truth."""
    with psycopg.connect(db_url) as conn:
        truth = history.write(conn, inbox.parent)
    return db_url, truth


# --- the ground truth: the policy in plain Python ---------------------------

def _days_before(n: int) -> dt.date:
    return AS_OF - dt.timedelta(days=n)


def _years_before(n: int) -> dt.date:
    return AS_OF.replace(year=AS_OF.year - n)


def expected_survivors(truth: history.Truth) -> dict[str, set]:
    rule = config.load("retention")
    fy = history.fy_of(AS_OF)
    rows = truth.rows
    period = {code: p for code, (p, _, _) in history.EXAMS.items()}

    def screening_kept(r):
        return period[r["exam_type"]] is None or r["fy"] >= fy - period[r["exam_type"]]

    keep = {}
    keep["core.screening"] = {k for k, r in rows["core.screening"].items() if screening_kept(r)}
    keep["core.external_screening"] = {k for k, r in rows["core.external_screening"].items() if screening_kept(r)}
    keep["core.detailed_exam"] = {k for k, r in rows["core.detailed_exam"].items()
                                  if r["screening"] in keep["core.screening"]}
    notices_fy = fy - rule["notices_years"]
    keep["core.notice_cause"] = {k for k, r in rows["core.notice_cause"].items()
                                 if r["fy"] >= notices_fy
                                 and (r["screening"] is None or r["screening"] in keep["core.screening"])}
    keep["core.notice"] = {k for k in rows["core.notice"] if any(c[0] == k for c in keep["core.notice_cause"])}
    keep["core.voucher"] = {k for k, r in rows["core.voucher"].items() if r["fy"] >= fy - rule["vouchers_years"]}
    days = rule["landing_days"]
    for table in ("landing.jumin", "landing.seiho", "landing.kokuho", "landing.kenshin"):
        keep[table] = {k for k, r in rows[table].items()
                       if r["open_review"]
                       or r["day"] >= _days_before(days["quarantined" if r["rejected"] else "promoted"])}
    keep["landing.shokai_res"] = {k for k, r in rows["landing.shokai_res"].items()
                                  if r["day"] >= _days_before(days["network_responses"])}
    keep["ops.quarantine"] = {k for k, r in rows["ops.quarantine"].items()
                              if r["day"] >= _days_before(days["quarantined"])}
    keep["ops.record_match"] = {k for k, r in rows["ops.record_match"].items()
                                if r["open_review"] or r["day"] >= _days_before(rule["record_matches_days"])}
    keep["ops.review_item"] = {k for k, r in rows["ops.review_item"].items()
                               if r["open"] or r["decided"].date() >= _days_before(rule["review_items_days"])}
    keep["ops.registry_check"] = {k for k, r in rows["ops.registry_check"].items()
                                  if r["resolved"] is None
                                  or r["resolved"].date() >= _days_before(rule["registry_checks_days"])}
    keep["ops.linkage_request"] = {k for k, r in rows["ops.linkage_request"].items()
                                   if r["closed"] is None or r["closed"] >= _days_before(rule["linkage_requests_days"])}
    keep["ops.deletion_log"] = {k for k, r in rows["ops.deletion_log"].items()
                                if r["day"] >= _days_before(rule["deletion_log_days"])}
    keep["ops.linkage_deletion"] = {k for k, r in rows["ops.linkage_deletion"].items()
                                    if r["day"] >= _years_before(rule["load_manifests_years"])}
    keep["audit.record_correction"] = {k for k, r in rows["audit.record_correction"].items()
                                       if r["day"] >= _years_before(rule["audit_years"])}

    # a person goes when they left long enough ago and nothing kept refers to them
    referred = set()
    for table in ("core.screening", "core.external_screening", "core.detailed_exam", "core.notice", "core.voucher",
                  "ops.linkage_request", "ops.registry_check"):
        referred |= {rows[table][k]["person"] for k in keep[table]}
    referred |= {rows["ops.record_match"][k]["person"] for k in keep["ops.record_match"]}
    for k in keep["ops.review_item"]:
        referred |= set(rows["ops.review_item"][k]["candidates"])
    left_before = _years_before(rule["persons_after_leaving_years"])
    keep["core.person"] = {k for k, r in rows["core.person"].items()
                           if r["left"] is None or r["left"] >= left_before or k in referred}
    for table in ("core.person_version", "core.welfare_period", "core.nhi_period", "core.person_event"):
        keep[table] = {k for k, r in rows[table].items() if r["person"] in keep["core.person"]}

    # a file's manifest goes when it is old enough and every row of it went
    children = {}
    for table in ("landing.jumin", "landing.seiho", "landing.kokuho", "landing.kenshin", "landing.shokai_res",
                  "ops.quarantine", "ops.record_match"):
        for load, _ in keep[table]:
            children[load] = table
    for table, load_of in (("ops.review_item", "load"), ("ops.registry_check", "load")):
        for k in keep[table]:
            children[rows[table][k][load_of]] = table
    keep["ops.load_manifest"] = {k for k, r in rows["ops.load_manifest"].items()
                                 if r["day"] >= _years_before(rule["load_manifests_years"]) or k in children}
    keep["ops.gate_result"] = {k for k in rows["ops.gate_result"] if k in keep["ops.load_manifest"]}
    return keep


def actual(url: str) -> dict[str, set]:
    keys = {
        "core.screening": "screening_id", "core.external_screening": "external_screening_id",
        "core.detailed_exam": "detailed_exam_id", "core.notice_cause": "notice_id, cause",
        "core.notice": "notice_id", "core.voucher": "voucher_number",
        "landing.jumin": "load_id, line_no", "landing.seiho": "load_id, line_no", "landing.kokuho": "load_id, line_no",
        "landing.kenshin": "load_id, line_no", "landing.shokai_res": "load_id, line_no",
        "ops.quarantine": "load_id, line_no", "ops.record_match": "load_id, line_no",
        "ops.review_item": "review_id", "ops.registry_check": "check_id", "ops.linkage_request": "request_id",
        "ops.deletion_log": "table_name, record_id", "ops.linkage_deletion": "deletion_id",
        "audit.record_correction": "correction_id", "core.person": "addressee_id",
        "core.person_version": "version_id", "core.welfare_period": "addressee_id",
        "core.nhi_period": "addressee_id", "core.person_event": "event_id",
        "ops.load_manifest": "load_id", "ops.gate_result": "load_id",
    }
    out = {}
    with psycopg.connect(url) as conn:
        for table, key in keys.items():
            rows = conn.execute(f"select {key} from {table}").fetchall()
            out[table] = {r[0] if len(r) == 1 else tuple(r) for r in rows}
    return out


def _truth_keys(truth: history.Truth, table: str) -> set:
    return set(truth.rows[table])


def _table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('landing', 'core', 'ops', 'audit') and table_type = 'BASE TABLE'")]
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def _check_outcome(url: str, truth: history.Truth, data: Path, run: dict) -> None:
    want, got = expected_survivors(truth), actual(url)
    # the purge's own deletions are logged for the marts to forget them
    for table in ("core.screening", "core.detailed_exam", "core.external_screening"):
        want["ops.deletion_log"] |= {(table, k) for k in _truth_keys(truth, table) - want[table]}
    want["ops.deletion_log"] |= {("core.person", int(k)) for k in _truth_keys(truth, "core.person") - want["core.person"]}
    for table, keys in want.items():
        # every retained record still present, nothing past retention left
        assert got[table] == keys, table
    with psycopg.connect(url) as conn:
        scrubbed = dict(conn.execute("select correction_id, values_purged_at is not null from audit.record_correction"))
        values = conn.execute("select count(*) from audit.record_correction where values_purged_at is not null "
                              "and (jsonb_path_exists(old_values, '$.* ? (@ != null)') "
                              "or jsonb_path_exists(new_values, '$.* ? (@ != null)'))").fetchone()[0]
    for k, r in truth.rows["audit.record_correction"].items():
        if k in scrubbed:
            assert scrubbed[k] == (r["record"][1] not in want["core.screening"]), k
    assert values == 0
    files_kept = {p for p, day in truth.files.items() if p.exists()}
    cutoff = _days_before(config.load("retention")["files_days"])
    assert files_kept == {p for p, day in truth.files.items() if day >= cutoff and p.parent.name != "inbox"}

    # the log: as many as planned, category by category, and as the truth says
    assert run["state"] == "verified"
    assert run["deleted_rows"] == run["planned_rows"] > 0
    for name, c in run["categories"].items():
        assert c["deleted"] == c["planned"], name
        assert c["remaining"] == 0, name
    gone = sum(len(_truth_keys(truth, t) - keys) for t, keys in want.items() if t != "audit.record_correction")
    gone += len(_truth_keys(truth, "audit.record_correction") - want["audit.record_correction"])
    gone += sum(1 for k in want["audit.record_correction"]
                if truth.rows["audit.record_correction"][k]["record"][1] not in want["core.screening"])
    gone += sum(1 for p in truth.files if not p.exists())
    assert run["deleted_rows"] == gone
    with psycopg.connect(url) as conn:
        assert sum(retention.plan(conn, AS_OF).values()) == 0


def test_a_purge_deletes_exactly_what_is_past_retention_everywhere_and_logs_what_it_planned(city, inbox):
    url, truth = city
    with psycopg.connect(url) as conn:
        planned = retention.plan(conn, AS_OF)
    assert planned["screenings past retention"] > 0 and planned["persons who left"] > 0
    assert planned["audit values of purged records"] > 0 and planned["load manifests past retention"] > 0

    result = retention.run(AS_OF, "staff01", url=url)
    _check_outcome(url, truth, inbox.parent, result)
    assert {c: v["planned"] for c, v in result["categories"].items()} == planned
    assert result["policy_version"] == str(config.load("retention")["version"])
    assert result["requested_by"] == "staff01" and result["approved_by"] is None   # under the threshold

    # a rerun finds nothing and changes nothing
    before = _table_counts(url)
    again = retention.run(AS_OF, "staff01", url=url)
    assert again["run_id"] != result["run_id"]
    assert (again["state"], again["planned_rows"], again["deleted_rows"]) == ("verified", 0, 0)
    after = _table_counts(url)
    assert {t: n for t, n in after.items() if not t.startswith("ops.purge")} == \
           {t: n for t, n in before.items() if not t.startswith("ops.purge")}


def test_a_dry_run_counts_and_changes_nothing(city, inbox):
    url, truth = city
    before = _table_counts(url)
    files = {p for p in truth.files if p.exists()}
    dry = retention.run(AS_OF, "staff01", dry_run=True, url=url)
    assert dry["dry_run"] and dry["planned_rows"] > 0
    assert _table_counts(url) == before
    assert {p for p in truth.files if p.exists()} == files


def test_a_large_plan_waits_for_a_second_person_and_the_requester_may_not_approve(city, inbox, monkeypatch,
                                                                                  logins):
    url, truth = city
    staff01 = logins("staff01", "kenshin_purger", "kenshin_staff")
    staff02 = logins("staff02", "kenshin_staff")
    stranger = logins("contractor", "kenshin_staff", "kenshin_purger", register=False)
    policy = {**config.load("retention"), "purge": {"approval_threshold_rows": 100, "batch_rows": 500}}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    before = _table_counts(url)
    waiting = retention.run(AS_OF, "staff01", url=staff01)
    assert (waiting["state"], waiting["needs_approval"]) == ("planned", True)
    assert waiting["requested_by"] == "staff01"   # the login's staff member, fixed by the database
    assert _table_counts(url) == {**before, "ops.purge_run": 1, "ops.purge_count": len(waiting["categories"])}
    with pytest.raises(retention.PurgeError, match="approval"):
        retention.execute(waiting["run_id"], url=url)
    # the requester under any name, and a login nobody registered as staff: refused
    for label in ("staff01", "staff02"):
        with pytest.raises(retention.PurgeError, match="other than its requester"):
            retention.approve(waiting["run_id"], label=label, url=staff01)
    with pytest.raises(retention.PurgeError, match="registered staff member"):
        retention.approve(waiting["run_id"], url=stranger)
    # only Airflow's login may say which Airflow user answered
    with pytest.raises(retention.PurgeError, match="not a registered staff member"):
        retention.approve(waiting["run_id"], airflow_user="staff02", url=staff01)
    # the purger cannot write an approval by hand, under any name
    with psycopg.connect(staff01) as conn:
        conn.execute("set role kenshin_purger")
        for statement in ("update ops.purge_run set state = 'approved'",
                          "update ops.purge_run set approved_by = 'staff02', approved_at = now()"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
            conn.rollback()
            conn.execute("set role kenshin_purger")
    # another purge may not start while this one waits
    with pytest.raises(retention.PurgeError, match="not finished"):
        retention.create_run(AS_OF + dt.timedelta(days=1), "staff03", url=url)
    retention.approve(waiting["run_id"], url=staff02)
    executed = retention.execute(waiting["run_id"], url=url)
    # a retry of the task after the deletions finished (the DAG's execute) changes nothing
    assert retention.execute(waiting["run_id"], url=url) == executed
    done = retention.run(AS_OF, "staff01", url=url)
    assert done["run_id"] == waiting["run_id"] and done["approved_by"] == "staff02"
    _check_outcome(url, truth, inbox.parent, done)


def test_a_purge_killed_mid_way_finishes_on_rerun(city, inbox, tmp_path):
    url, truth = city
    # the city's policy with one row per transaction, so that the kill lands mid-way
    policy_dir = tmp_path / "config"
    shutil.copytree(config.CONFIG_DIR, policy_dir)
    rule = yaml.safe_load((policy_dir / "retention.yaml").read_text(encoding="utf-8"))
    rule["purge"]["batch_rows"] = 1
    (policy_dir / "retention.yaml").write_text(yaml.safe_dump(rule, allow_unicode=True), encoding="utf-8")
    code = ("import sys, datetime as dt; from kenshin.governance import retention; "
            "retention.run(dt.date.fromisoformat(sys.argv[2]), 'staff01', url=sys.argv[1])")
    proc = subprocess.Popen([sys.executable, "-c", code, url, AS_OF.isoformat()],
                            env={**os.environ, "KENSHIN_CONFIG_DIR": str(policy_dir)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    with psycopg.connect(url, autocommit=True) as conn:
        while True:
            deleted = conn.execute("select coalesce(max(deleted_rows), 0) from ops.purge_run").fetchone()[0]
            if deleted >= 200:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            assert proc.poll() is None, "the purge finished before it could be killed"
            assert time.monotonic() < deadline, "the purge never got going"
            time.sleep(0.01)
        state, planned, deleted = conn.execute("select state, planned_rows, deleted_rows from ops.purge_run").fetchone()
    assert state == "executing" and 200 <= deleted < planned

    done = retention.run(AS_OF, "staff01", url=url)
    _check_outcome(url, truth, inbox.parent, done)


def test_every_table_is_reached_by_the_purge_or_exempt_with_a_reason(db_url):
    reached = {c.table for c in retention.CATEGORIES}
    with psycopg.connect(db_url) as conn:
        tables = {r[0] for r in conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('landing', 'core', 'ops', 'audit') and table_type = 'BASE TABLE'")}
    assert tables - reached - set(retention.EXEMPT) == set()
    assert set(retention.EXEMPT) <= tables


def test_after_the_purge_and_the_next_marts_build_nothing_derives_from_a_purged_record(city, inbox):
    url, truth = city
    policy = {"suppress_below": 1}
    assert build(vars=policy, url=url)
    with psycopg.connect(url) as conn:
        years_before = {r[0] for r in conn.execute("select distinct fiscal_year from stats.process_indicators")}
    retention.run(AS_OF, "staff01", url=url)
    assert build(vars=policy, url=url)
    with psycopg.connect(url) as conn:
        orphans = conn.execute(
            """select (select count(*) from marts_staging.int_screening_enriched m
                        where not exists (select 1 from core.screening s where s.screening_id = m.screening_id)),
                      (select count(*) from marts.fct_screening m
                        where not exists (select 1 from core.screening s where s.screening_id = m.screening_id)),
                      (select count(*) from marts.screening_history m
                        where m.source_municipality_code is null
                          and not exists (select 1 from core.screening s where s.addressee_id = m.addressee_id
                                             and s.exam_type = m.exam_type and s.exam_date = m.exam_date)),
                      (select count(*) from marts.screening_history m where m.source_municipality_code is not null
                          and not exists (select 1 from core.external_screening e
                                           where e.addressee_id = m.addressee_id and e.exam_type = m.exam_type
                                             and e.exam_date = m.exam_date))""").fetchone()
        assert orphans == (0, 0, 0, 0)
        # no statistics of a fiscal year or programme whose screenings are all gone
        purged_cells = conn.execute(
            """select count(*) from stats.process_indicators p
                where not exists (select 1 from core.screening s where s.exam_type = p.exam_type
                                   and s.exam_date >= make_date(p.fiscal_year, 4, 1)
                                   and s.exam_date < make_date(p.fiscal_year + 1, 4, 1))""").fetchone()[0]
        years_after = {r[0] for r in conn.execute("select distinct fiscal_year from stats.process_indicators")}
    assert purged_cells == 0
    assert years_after < years_before
    incremental = mart_contents(url)
    assert build(vars=policy, full_refresh=True, url=url)
    assert mart_contents(url) == incremental


def test_the_command_line_plans_waits_for_approval_and_runs(city, inbox, monkeypatch, logins):
    import json

    from click.testing import CliRunner

    from kenshin.cli import main

    url, truth = city
    staff01 = logins("staff01", "kenshin_purger", "kenshin_staff")
    staff02 = logins("staff02", "kenshin_staff")
    monkeypatch.setenv("KENSHIN_DATABASE_URL", staff01)
    policy = {**config.load("retention"), "purge": {"approval_threshold_rows": 100, "batch_rows": 1000}}
    monkeypatch.setattr(retention, "policy", lambda: policy)
    cli = CliRunner()
    dry = cli.invoke(main, ["purge", "run", "--dry-run", "--as-of", AS_OF.isoformat(), "--by", "staff01"])
    assert dry.exit_code == 0 and json.loads(dry.stdout)["dry_run"] is True
    waiting = cli.invoke(main, ["purge", "run", "--as-of", AS_OF.isoformat(), "--by", "staff01"])
    assert waiting.exit_code == 3 and "approval" in waiting.stderr
    run_id = json.loads(waiting.stdout)["run_id"]
    own = cli.invoke(main, ["purge", "approve", str(run_id), "--by", "staff02"])
    assert own.exit_code == 1 and "other than its requester" in own.stderr
    monkeypatch.setenv("KENSHIN_DATABASE_URL", staff02)
    assert cli.invoke(main, ["purge", "approve", str(run_id)]).exit_code == 0
    monkeypatch.setenv("KENSHIN_DATABASE_URL", staff01)
    done = cli.invoke(main, ["purge", "run", "--as-of", AS_OF.isoformat(), "--by", "staff01"])
    assert done.exit_code == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["run_id"], result["state"], result["approved_by"]) == (run_id, "verified", "staff02")
    _check_outcome(url, truth, inbox.parent, retention.describe(run_id, url=url))
