"""`make demo`: a synthetic city run through the real DAGs on the embedded database.

A script of its own (not in kenshin_airflow, not under plugins/) because Airflow must not be
imported before this sets up its environment.

1. Start the embedded PostgreSQL (or use KENSHIN_DATABASE_URL's server), create a
   fresh `kenshin_demo` database and migrate it; Airflow's metadata goes to the
   `airflow` database of the same server.
2. Generate the demo city (20,000 synthetic residents, a month of registry
   diffs, two full snapshots, welfare and NHI lists, the month's clinic result
   files and the detailed-exam outcomes that follow them) into the demo inbox.
3. Run `registry_sync` with `dag.test()` once per day of the month, then
   `clinic_ingest` once per month from the month after (the clinic month, then
   the months its detailed-exam outcomes arrive in), asserting each run succeeded.
4. Run `marts_build`, a month of `transferee_linkage` with the network
   simulator, `reminders` on its send days, `provision_copies`,
   `annual_report` and `retention_purge`: every DAG.
5. Print a summary (with matching quality against the synthetic truth), the
   plan of a future purge, draw the statistics pictures (PNG + HTML,
   `kenshin report charts`) and say where they are and where to look next.

Only synthetic people; nothing personal is printed (counts only).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from kenshin.platform import db
from kenshin_airflow.connection import development_connections  # imports no Airflow at module level

# the test that scans the logs of a demo run uses databases of its own
DEMO_DB = os.environ.get("KENSHIN_DEMO_DB", "kenshin_demo")
AIRFLOW_DB = os.environ.get("KENSHIN_DEMO_AIRFLOW_DB", "airflow")
RESIDENTS = int(os.environ.get("KENSHIN_DEMO_RESIDENTS", "20000"))
START = dt.date(2026, 10, 1)
DAYS = 31
# follow-ups of October's 要精検 (90 days on), vouchers of FY2027, second
# follow-ups (90 days after the first), invitations of FY2027
LINKAGE_FROM, LINKAGE_TO = dt.date(2026, 12, 31), dt.date(2027, 1, 31)
# (and the mid-year voucher run of 2026-11-04: the ledger began in October, after
# FY2026's send day, so its targets get their vouchers as mid-year issues)
NOTICE_DAYS = (dt.date(2026, 11, 4), dt.date(2027, 1, 20), dt.date(2027, 4, 1), dt.date(2027, 4, 20),
               dt.date(2027, 10, 1))
EXPLAIN_DAY = dt.date(2026, 12, 1)
# the monthly retention purge of February (nothing of the demo is past its
# retention then: the raw rows were loaded today, the wall-clock day, and are
# kept 90 days), and a dry run of the purge of a day when the demo year's
# cancer screenings are past theirs
PURGE_DAY, FUTURE_PURGE_DAY = dt.date(2027, 2, 5), dt.date(2032, 4, 5)


def _prepare() -> tuple[str, str]:
    server = db.database_url()
    admin = db.with_database(server, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{DEMO_DB}" with (force)')
        conn.execute(f'create database "{DEMO_DB}"')
    url = db.with_database(server, DEMO_DB)
    db.migrate(url)
    airflow_url = db.with_database(server, AIRFLOW_DB)
    db.ensure_database(airflow_url)
    data = db.work_dir() / "demo" / "data"
    os.environ.update({
        "KENSHIN_DATA_DIR": str(data),
        "AIRFLOW_HOME": os.environ.get("AIRFLOW_HOME", str(db.work_dir() / "airflow")),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db.sqlalchemy_url(airflow_url),
        # the warehouse as Airflow sees it (both connections, one development login)
        **development_connections(url),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(db.PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(db.PROJECT_ROOT / "plugins"),
    })
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return url, str(data)


def _last_clinic_due_date(data: str) -> dt.date | None:
    """The latest date from which a clinic file of the demo inbox is due."""
    from kenshin.ingest.inbox import due_date

    dates = [due_date(p.name) for p in Path(data, "inbox").glob("*.csv") if p.name.startswith(("kenshin", "seiken"))]
    return max((d for d in dates if d), default=None)


def show(value: object) -> str:
    """A published value, or - where it is suppressed or cannot be computed."""
    return "-" if value is None else str(value)


def _indicators(url: str) -> list[tuple]:
    """A few published indicator rows next to their acceptable threshold (許容値)."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select p.exam_type, p.screened, p.recall_rate, t.acceptable_pct, p.detection_rate, p.meets_acceptable
                 from stats.process_indicators p
                 left join marts_staging.indicator_thresholds t
                   on t.exam_type = p.exam_type and t.indicator = 'recall_rate' and t.threshold_table = '2008'
                  and t.sex is null and t.age_band is null
                where p.sex = 'all' and p.age_band = 'all' order by p.exam_type""").fetchall()


def _batches(url: str) -> list[tuple]:
    """Letters per batch (day and kind) from the notice history."""
    with psycopg.connect(url) as conn:
        return conn.execute("""select batch, count(*), count(*) filter (where delivery = 'bulk'),
                                      count(*) filter (where delivery = 'manual')
                                 from core.notice group by batch order by min(notice_id)""").fetchall()


def _vouchers(url: str) -> list[tuple]:
    """Vouchers issued per fiscal year: on the send day, and mid-year (年度途中)."""
    from kenshin.letters import notices

    with psycopg.connect(url) as conn:
        rows = conn.execute("select fiscal_year, issued_on, count(*), count(*) filter (where voided_on is not null) "
                            "from core.voucher group by 1, 2 order by 1, 2").fetchall()
    out: dict[int, list[int]] = {}
    for fy, issued_on, n, void in rows:
        start = notices.send_day("VOUCHER", issued_on)
        totals = out.setdefault(fy, [0, 0, 0])
        totals[0 if issued_on == start else 1] += n
        totals[2] += void
    return [(fy, *totals) for fy, totals in sorted(out.items())]


def _explain_sample(url: str) -> str:
    """`kenshin eligible --explain` for one synthetic resident screened in the
    demo month, the addressee id left out (the demo prints no personal data)."""
    from kenshin.cli import explanation
    from kenshin.programmes import eligibility
    from kenshin.programmes import rules as programmes

    with psycopg.connect(url) as conn:
        row = conn.execute("""select s.addressee_id from core.screening s
                               join core.person_current p using (addressee_id)
                              where p.status = 1 and s.exam_type = '04' order by s.screening_id limit 1""").fetchone()
        if row is None:
            return "  (no screening in the demo month)"
        person = next(eligibility.people(conn, EXPLAIN_DAY, row[0]))
    text = explanation(row[0], EXPLAIN_DAY, eligibility.decide(person, EXPLAIN_DAY), programmes.exam_types())
    return text.replace(row[0], "(a synthetic resident)")


def _summary(url: str) -> list[tuple[str, object]]:
    with psycopg.connect(url) as conn:
        m = conn.execute(
            """select count(*) filter (where status <> 'duplicate'),
                      coalesce(sum(rows_in_file) filter (where status = 'loaded'), 0),
                      coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                      count(*) filter (where status = 'duplicate'),
                      count(*) filter (where status = 'rejected')
                 from ops.load_manifest""").fetchone()
        persons = conn.execute("select count(*) from core.person_current where status = 1").fetchone()[0]
        move_ins = conn.execute("select count(*) from core.person_event where event_code = '02' "
                                "and load_id in (select load_id from ops.load_manifest "
                                "where file_name like '%%diff%%')").fetchone()[0]
        versions = conn.execute("select count(*) from core.person_version").fetchone()[0]
        flagged = conn.execute("select count(*) from ops.registry_check").fetchone()[0]
        linked, review, returned = conn.execute(
            """select count(*) filter (where outcome = 'linked'), count(*) filter (where outcome = 'review'),
                      count(*) filter (where outcome = 'returned') from ops.record_match""").fetchone()
        clinic_quarantined = conn.execute(
            "select count(*) from ops.quarantine q join ops.load_manifest m using (load_id) "
            "where m.source in ('kenshin', 'seiken')").fetchone()[0]
        screenings = conn.execute("select count(*) from core.screening").fetchone()[0]
        needing = conn.execute("select count(*) from core.screening where result_code = '3'").fetchone()[0]
        detailed = conn.execute("select count(*) from core.detailed_exam").fetchone()[0]
    return [("files", m[0]), ("rows", m[1]), ("loaded", m[2]), ("quarantined", m[3]),
            ("duplicates", m[4]), ("rejected files", m[5]), ("persons current (resident)", persons),
            ("person versions (history)", versions), ("move-ins (転入)", move_ins),
            ("flagged missing from snapshot", flagged),
            ("clinic records linked (results + outcomes)", linked), ("clinic records in review", review),
            ("clinic records returned (返戻)", clinic_quarantined), ("  of which no matching resident", returned),
            ("screenings", screenings), ("  needing detailed exam (要精検)", needing),
            ("detailed exams attached (精検結果)", detailed)]


def main() -> None:
    logging.basicConfig(level=os.environ.get("KENSHIN_DEMO_LOG_LEVEL", "WARNING"),
                        format="%(levelname)s %(name)s %(message)s")
    t0 = time.monotonic()
    url, data = _prepare()
    print(f"demo database: {db.with_database(url, DEMO_DB).split('@')[-1]}")

    from kenshin.lab.synth import generate

    summary = generate(RESIDENTS, 1, db.work_dir() / "demo" / "data", START, DAYS)
    print(f"synthetic city: {RESIDENTS} residents, {DAYS} days of registry files in {data}/inbox "
          f"({time.monotonic() - t0:.0f} s)")

    import pendulum
    from airflow.dag_processing.dagbag import DagBag

    from kenshin_airflow.deadlines import let_dag_test_finish

    let_dag_test_finish()   # the demo runs the DAGs with dag.test() (Airflow 3.3.2)
    dag = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "registry_sync.py")).get_dag("registry_sync")
    for day in range(1, DAYS + 2):
        run_at = pendulum.datetime(START.year, START.month, START.day, 6, tz="Asia/Tokyo").add(days=day)
        run = dag.test(logical_date=run_at)
        if run.state != "success":
            raise SystemExit(f"registry_sync run of {run_at.date()} ended {run.state}")
    print(f"registry_sync: {DAYS + 1} daily runs succeeded ({time.monotonic() - t0:.0f} s)")

    clinic = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "clinic_ingest.py")).get_dag("clinic_ingest")
    months = 0
    run_at = pendulum.datetime(START.year, START.month, 10, 2, tz="Asia/Tokyo").add(months=1)
    last = _last_clinic_due_date(data)
    while last and run_at.date() <= last + dt.timedelta(days=31):
        run = clinic.test(logical_date=run_at)
        if run.state != "success":
            raise SystemExit(f"clinic_ingest run of {run_at.date()} ended {run.state}")
        months += 1
        run_at = run_at.add(months=1)
    print(f"clinic_ingest: {months} monthly runs succeeded ({time.monotonic() - t0:.0f} s)")

    marts = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "marts_build.py")).get_dag("marts_build")
    run = marts.test(logical_date=run_at)
    if run.state != "success":
        raise SystemExit(f"marts_build ended {run.state}")
    print(f"marts_build: dbt models, tests and the statistics published ({time.monotonic() - t0:.0f} s)")

    # Linkage queries for October's arrivals, answered by the network simulator,
    # over the weeks their lag window (90 days) ends in.
    from kenshin.lab import network_simulator as exchange

    linkage = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "transferee_linkage.py")).get_dag("transferee_linkage")
    day = LINKAGE_FROM
    while day <= LINKAGE_TO:
        exchange.simulate(day, Path(data))
        run = linkage.test(logical_date=pendulum.datetime(day.year, day.month, day.day, 5, tz="Asia/Tokyo"))
        if run.state != "success":
            raise SystemExit(f"transferee_linkage run of {day} ended {run.state}")
        day += dt.timedelta(days=1)
    print(f"transferee_linkage: {(LINKAGE_TO - LINKAGE_FROM).days + 1} daily runs with the network simulator "
          f"({time.monotonic() - t0:.0f} s)")

    # Letters: one batch of each kind, on the days the reminders DAG sends them.
    reminders = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "reminders.py")).get_dag("reminders")
    for day in NOTICE_DAYS:
        run = reminders.test(logical_date=pendulum.datetime(day.year, day.month, day.day, 8, tz="Asia/Tokyo"))
        if run.state != "success":
            raise SystemExit(f"reminders run of {day} ended {run.state}")
    print(f"reminders: {len(NOTICE_DAYS)} daily runs succeeded ({time.monotonic() - t0:.0f} s)")

    # The month's provision copies (副本) and the ministry report of the demo's fiscal year.
    for name, logical in (("provision_copies", pendulum.datetime(2026, 11, 1, 3, tz="Asia/Tokyo")),
                          ("annual_report", pendulum.datetime(2026, 7, 1, 7, tz="Asia/Tokyo"))):
        other = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / f"{name}.py")).get_dag(name)
        run = other.test(logical_date=logical)
        if run.state != "success":
            raise SystemExit(f"{name} run of {logical.date()} ended {run.state}")
    print(f"provision_copies and annual_report: one run each succeeded ({time.monotonic() - t0:.0f} s)")

    from kenshin.governance import retention

    purge = DagBag(dag_folder=str(db.PROJECT_ROOT / "dags" / "retention_purge.py")).get_dag("retention_purge")
    run = purge.test(logical_date=pendulum.datetime(PURGE_DAY.year, PURGE_DAY.month, PURGE_DAY.day, 2,
                                                    tz="Asia/Tokyo"))
    if run.state != "success":
        raise SystemExit(f"retention_purge run of {PURGE_DAY} ended {run.state}")
    with psycopg.connect(url) as conn:
        purged = conn.execute("select deleted_rows, state from ops.purge_run order by run_id desc limit 1").fetchone()
    print(f"retention_purge: as of {PURGE_DAY}, {purged[0]} rows past retention deleted, {purged[1]} "
          f"({time.monotonic() - t0:.0f} s)")
    future = retention.run(FUTURE_PURGE_DAY, "demo", dry_run=True, url=url)

    rows = _summary(url)
    indicators = _indicators(url)
    from kenshin.lab.evaluation import clinic_quality

    quality = clinic_quality(db.work_dir() / "demo" / "data" / "truth", url=url)
    rows.append(("matching precision / recall (vs truth)", f"{quality.precision:.4f} / {quality.recall:.4f}"))
    width = max(len(k) for k, _ in rows)
    print("\n" + "-" * (width + 14))
    for k, v in rows:
        print(f"{k:<{width}}  {v:>10}")
    print("-" * (width + 14))
    with psycopg.connect(url) as conn:
        states = conn.execute("select state, count(*) from ops.linkage_request group by state order by state").fetchall()
        external = conn.execute("select count(*) from core.external_screening").fetchone()[0]
    print("\nlinkage queries for new arrivals (ops.linkage_request): "
          + ", ".join(f"{state} {n}" for state, n in states) + f"; records received {external}")
    print("\nletters (reminders DAG; the vendor's CSV is CP932, protection-flagged persons only on the manual list):")
    for batch, letters, bulk, manual in _batches(url):
        files = " ".join(sorted(p.name for p in Path(data, "notices").glob(f"{batch}*")))
        print(f"  {batch:<20}{letters:>7} letters ({bulk} bulk, {manual} manual)  {files}")
    print("\nvouchers (受診券 with numbers, core.voucher): issued on the send day / mid-year (年度途中) / void")
    for fy, start, mid_year, void in _vouchers(url):
        print(f"  FY{fy}: {start} on the send day, {mid_year} mid-year, {void} void")
    print(f"\nkenshin eligible --explain (one resident, {EXPLAIN_DAY}):")
    print(_explain_sample(url))
    print("\nprocess indicators of the demo fiscal year, all ages and sexes (stats.process_indicators; counts 1-9 suppressed):")
    print(f"  {'exam type':<10}{'screened':>9}{'要精検率 %':>11}{'許容値':>8}{'がん発見率 %':>13}{'meets':>7}")
    for exam_type, screened, recall, acceptable, detection, meets in indicators:
        print(f"  {exam_type:<10}{show(screened):>9}{show(recall):>11}{show(acceptable):>8}{show(detection):>13}"
              f"{show(meets):>7}")
    print(f"\nretention: a purge as of {FUTURE_PURGE_DAY} (dry run, policy {future['policy_version']}) "
          f"would delete {future['planned_rows']} rows and files:")
    for category, n in future["categories"].items():
        if n:
            print(f"  {category:<45}{n:>8}")
    # Statistics pictures of the demo's fiscal year, from the published stats only.
    from kenshin.reporting import charts

    pictures = charts.render(None, url=url)
    if pictures:
        print(f"\nstatistics pictures (kenshin report charts --fiscal-year {pictures.fiscal_year}):")
        for path in pictures.files:
            print(f"  {path}")
    print(f"""
where to look next:
  psql {url.split('?')[0]}
    select * from ops.load_manifest order by load_id;     -- every file and its counts
    select * from ops.quarantine limit 20;                -- rows refused, by line and field
    select * from ops.registry_check;                     -- residents a snapshot did not list
    select * from core.screening limit 20;                -- linked screening results
    select * from stats.process_indicators;               -- published statistics (kenshin_stats)
    select * from ops.purge_run;                          -- retention purges: plan, approver, counts
  KENSHIN_DATABASE_URL={url.split('?')[0]} .venv/bin/kenshin review list
                                                          -- records waiting for a person to decide
  ls {data}/outbox/returns/
                                                          -- return lists (返戻) per clinic file
  ls {data}/notices/
                                                          -- letters: vendor CSV + PDF, manual lists
  kenshin purge plan --dry-run --as-of {FUTURE_PURGE_DAY}    -- what a purge would delete, per category
  KENSHIN_DATABASE_URL={url.split('?')[0]} make up
                                                          -- the Airflow UI on http://127.0.0.1:8080 on the demo's
                                                             data: Browse → Screening operations (this month's files)
  kenshin ingest --report report.jsonl FILE...            -- replay one file by hand
total {time.monotonic() - t0:.0f} s  (generator summary: {summary.get('files', '')})""")


if __name__ == "__main__":
    main()
