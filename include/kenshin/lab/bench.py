"""City-scale benchmarks (`make bench`): measured, printed, never asserted.

Clinic part: the same city with a month of clinic files (~100,000 records at
1.56M residents): the ledger is built from the month's registry files, then the
month's screening files go through gate + match + promote (`kenshin ingest`'s
code path), timed with peak RSS; matching quality against the ground truth;
and the same month linked by Splink 5 (DuckDB) on the same normalized fields.

Registry part: a 1.56M-resident synthetic city, then
  1. initial load of the full snapshot into an empty ledger,
  2. reconcile: the next month's full snapshot (~1 % of persons changed; its
     unchanged lines are recognised by their fingerprints and land narrow),
each beside a bare `COPY` of the same file into an unindexed text table (the
physical floor on this machine). Every measured step runs in its own process so
its peak RSS is its own (os.wait4).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from kenshin.platform import config, db

BENCH_DB = "kenshin_bench"
START = dt.date(2026, 10, 1)


def _timed_child(code: str, *args: str) -> tuple[float, int, str]:
    """Run `code` in a fresh interpreter; (wall seconds, peak RSS bytes, stdout)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, env=os.environ.copy())
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {code[:60]}")
    return wall, usage.ru_maxrss * 1024, out


_BARE_COPY = """
import sys, psycopg
path, url = sys.argv[1], sys.argv[2]
cols = ", ".join(f"c{i} text" for i in range(20))
with psycopg.connect(url) as conn:
    conn.execute("drop table if exists public.bench_floor")
    conn.execute(f"create unlogged table public.bench_floor ({cols})")
    conn.execute("truncate public.bench_floor")
    with open(path, "rb") as fh, conn.cursor().copy(
            "copy public.bench_floor from stdin (format csv, encoding 'SJIS')") as copy:
        lines = fh.readlines()
        for i in range(1, len(lines) - 1, 100000):
            copy.write(b"".join(lines[i:min(i + 100000, len(lines) - 1)]))
    print(conn.execute("select count(*) from public.bench_floor").fetchone()[0])
    conn.execute("drop table public.bench_floor")
"""

_INGEST = """
import sys, json, logging
logging.basicConfig(level=logging.INFO, format="    %(message)s")
logging.getLogger("great_expectations").setLevel(logging.WARNING)
from kenshin.ingest.loading import ingest_file
r = ingest_file(sys.argv[1], url=sys.argv[2])
print(json.dumps({**r.summary(), "counts": r.counts}))
"""


def _fresh_database() -> str:
    server = db.database_url()
    with psycopg.connect(db.with_database(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{BENCH_DB}" with (force)')
        conn.execute(f'create database "{BENCH_DB}"')
    url = db.with_database(server, BENCH_DB)
    db.migrate(url)
    return url


def run(part: str, residents: int, work: Path) -> None:
    from kenshin.platform import progress

    parts = {"registry": run_registry, "clinic": run_clinic, "marts": run_marts, "notices": run_notices,
             "purge": run_purge}
    work.mkdir(parents=True, exist_ok=True)
    chosen = [name for name in parts if part in (name, "all")]
    with progress.task(f"benchmarks ({residents:,} residents)", total=len(chosen), unit="benchmarks") as bar:
        for name in chosen:
            parts[name](residents, work)
            bar.advance()


def run_registry(residents: int, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    print(f"generating a synthetic city of {residents:,} residents (two monthly snapshots) ...", flush=True)
    gen_wall, gen_rss, _ = _timed_child(
        "import sys, datetime as dt; from pathlib import Path; from kenshin.lab.synth import generate; "
        "generate(int(sys.argv[1]), 7, Path(sys.argv[2]), dt.date(2026, 10, 1), 31)",
        str(residents), str(work))
    inbox = work / "inbox"
    first = inbox / f"jumin_{START:%Y%m%d}_full.csv"
    second = inbox / "jumin_20261101_full.csv"
    url = _fresh_database()
    rows = []
    for label, path in (("initial load", first), ("reconcile", second)):
        floor_wall, floor_rss, floor_out = _timed_child(_BARE_COPY, str(path), url)
        wall, rss, out = _timed_child(_INGEST, str(path), url)
        result = json.loads(out.strip().splitlines()[-1])
        n = result["rows"]
        rows.append({
            "step": label, "file_mb": round(path.stat().st_size / 2**20, 1), "rows": n,
            "status": result["status"], "loaded": result["loaded"], "quarantined": result["quarantined"],
            "counts": result["counts"], "wall_s": round(wall, 2), "rows_per_s": round(n / wall),
            "peak_rss_mib": round(rss / 2**20), "bare_copy_s": round(floor_wall, 2),
            "bare_copy_rows": int(floor_out.strip() or 0), "ratio_to_bare_copy": round(wall / floor_wall, 2),
        })
    with psycopg.connect(url) as conn:
        versions = conn.execute("select count(*) from core.person_version").fetchone()[0]
    print(f"\nsynthetic city generated in {gen_wall:.1f} s (peak RSS {gen_rss / 2**20:.0f} MiB)")
    print(f"{'step':<14}{'rows':>11}{'wall s':>9}{'rows/s':>10}{'RSS MiB':>9}{'COPY s':>8}{'ratio':>7}  target")
    targets = {"initial load": "≤ 3× COPY", "reconcile": "≤ 2× COPY"}
    for r in rows:
        print(f"{r['step']:<14}{r['rows']:>11,}{r['wall_s']:>9}{r['rows_per_s']:>10,}{r['peak_rss_mib']:>9}"
              f"{r['bare_copy_s']:>8}{r['ratio_to_bare_copy']:>7}  {targets[r['step']]}, RSS ≤ 1536 MiB")
    print(f"person versions after both: {versions:,}; reconcile counts: {rows[1]['counts']}")
    print(json.dumps({"benchmark": "registry", "residents": residents, "generate_s": round(gen_wall, 1),
                      "steps": rows}, ensure_ascii=False))


_LEDGER = """
import sys, json, logging
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from kenshin.ingest.inbox import load_order
from kenshin.ingest.loading import ingest_file
inbox, url = Path(sys.argv[1]), sys.argv[2]
files = sorted([p for p in inbox.glob("jumin_*.csv") if p.name <= "jumin_20261101_diff.csv"
                and not (p.name.endswith("_full.csv") and p.name != "jumin_20261001_full.csv")], key=load_order)
statuses = [ingest_file(p, url=url).status for p in files]
print(json.dumps({"files": len(files), "loaded": statuses.count("loaded")}))
"""

_MONTH = """
import sys, json, logging
from pathlib import Path
logging.basicConfig(level=logging.WARNING)
from kenshin.ingest.loading import ingest_file, run_totals
inbox, url, period = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
workers = int(sys.argv[4])
files = sorted(inbox.glob(f"kenshin_*_{period}.csv"), key=lambda p: -p.stat().st_size)  # largest first
if workers > 1:
    import concurrent.futures, functools, multiprocessing
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(functools.partial(ingest_file, url=url), files))
else:
    results = [ingest_file(p, url=url) for p in files]
import resource
totals = run_totals([r.summary() for r in results])
totals["match_s"] = round(sum(r.counts.get("match_ms", 0) for r in results) / 1000, 1)
totals["worker_peak_rss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 if workers > 1 else 0
totals["rejected"] = sum(r.status == "rejected" for r in results)
print(json.dumps(totals))
"""

_SPLINK = """
import sys, json, logging
logging.basicConfig(level=logging.WARNING)
from kenshin.lab.bench import splink_month
print(json.dumps(splink_month(sys.argv[2], sys.argv[3], url=sys.argv[1])))
"""


def _arrow_query(conn: psycopg.Connection, sql: str):
    """A query's rows as an Arrow table, through COPY (no Python row objects)."""
    import io

    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    with conn.cursor().copy(f"copy ({sql}) to stdout with (format csv, header true)") as copy:
        for chunk in copy:
            buf.write(chunk)
    buf.seek(0)
    return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        column_types={"name_kana": "string", "name_kanji": "string", "postal_code": "string",
                      "address": "string", "addressee_id": "string", "sex": "int8", "birth_date": "date32"},
        strings_can_be_null=True))


def splink_month(truth_dir: str, period: str, *, url: str | None = None) -> dict:
    """Link the period's screening records with Splink on the same normalized
    fields and persons (the versions valid during the month); score against the truth."""
    import pyarrow.parquet as pq

    from kenshin.ingest.normalize import month_bounds
    from kenshin.lab.splink_baseline import link_with_splink

    first, last = month_bounds(dt.date(int(period[:4]), int(period[4:]), 1))
    with psycopg.connect(url or db.database_url()) as conn:
        loads = dict(conn.execute("select load_id, file_name from ops.load_manifest where source = 'kenshin' "
                                  "and status = 'loaded' and period = %s", (period,)).fetchall())
        records = _arrow_query(conn, f"""
            select load_id::bigint * 1000000 + line_no as record_id, name_kana_key as name_kana,
                   name_kanji_key as name_kanji, birth_date, sex::int as sex, postal_code::text as postal_code,
                   address_key as address
              from landing.kenshin_accepted where load_id in ({",".join(str(k) for k in loads) or "null"})""")
        persons = _arrow_query(conn, f"""
            select version_id::text as addressee_id, name_kana_key as name_kana, name_kanji_key as name_kanji,
                   birth_date, sex::int as sex, postal_code::text as postal_code, address_key as address
              from core.person_version
             where valid_from <= '{last}' and (valid_to is null or valid_to > '{first}') and status = 1""")
        owner = dict(conn.execute(
            "select version_id::text, addressee_id from core.person_version "
            "where valid_from <= %s and (valid_to is null or valid_to > %s)", (last, first)).fetchall())
    result = link_with_splink(records, persons)
    truth = pq.read_table(Path(truth_dir) / "clinic_records.parquet").to_pydict()
    expected = {(f, line): aid for f, line, aid in zip(truth["file"], truth["line"], truth["addressee_id"],
                                                          strict=True)}
    ids = records.column("record_id").to_pylist()
    residents = sum(1 for rid in ids if expected.get((loads[rid // 1000000], rid % 1000000)) is not None)
    correct = non_resident = 0
    for rid, version in result.links.items():
        want = expected.get((loads[rid // 1000000], rid % 1000000))
        correct += owner.get(version) == want
        non_resident += want is None
    linked = len(result.links)
    return {"records": len(ids), "linked": linked, "correct": correct, "non_residents_linked": non_resident,
            "precision": correct / linked if linked else 1.0, "recall": correct / residents if residents else 1.0,
            "train_s": round(result.seconds_train, 1), "predict_s": round(result.seconds_predict, 1),
            "pairs_scored": result.pairs_scored, "version": result.version}


LEDGER_TEMPLATE = "kenshin_bench_ledger"


def _ledger_database(inbox: Path, city: Path) -> tuple[str, float]:
    """A bench database holding the ledger built from the month's registry files.

    Building it takes minutes at city scale and is not what is measured, so it
    is kept as a template database (marked with the city's summary) and cloned
    on the next run of the same city."""
    import hashlib

    server = db.database_url()
    admin = db.with_database(server, "postgres")
    marker = hashlib.sha256((city / "truth" / "summary.json").read_bytes()).hexdigest()[:16]
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("select shobj_description(oid, 'pg_database') from pg_database where datname = %s",
                           (LEDGER_TEMPLATE,)).fetchone()
    wall = 0.0
    if not row or row[0] != marker:
        print("building the ledger from the month's registry files ...", flush=True)
        url = _fresh_database()
        wall, _, out = _timed_child(_LEDGER, str(inbox), url)
        print(f"  {json.loads(out.strip().splitlines()[-1])} in {wall:.0f} s", flush=True)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("vacuum analyze")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{LEDGER_TEMPLATE}"')
            conn.execute(f'create database "{LEDGER_TEMPLATE}" template "{BENCH_DB}"')
            conn.execute(f"comment on database \"{LEDGER_TEMPLATE}\" is '{marker}'")
    else:
        print("reusing the ledger built for this city earlier (template database)", flush=True)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{BENCH_DB}" with (force)')
        conn.execute(f'create database "{BENCH_DB}" template "{LEDGER_TEMPLATE}"')
    url = db.with_database(server, BENCH_DB)
    db.migrate(url)  # a template from an older revision is brought up to date
    return url, wall


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def run_clinic(residents: int, work: Path, period: str = "202610") -> None:
    from kenshin.lab.evaluation import clinic_quality

    city = work / "clinic_city"
    summary_path = city / "truth" / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if summary.get("residents", {}).get("start") != residents or not summary.get("files", {}).get("kenshin"):
        print(f"generating a synthetic city of {residents:,} residents with a clinic month ...", flush=True)
        gen_wall, gen_rss, _ = _timed_child(
            "import sys, datetime as dt; from pathlib import Path; from kenshin.lab.synth import generate; "
            "generate(int(sys.argv[1]), 7, Path(sys.argv[2]), dt.date(2026, 10, 1), 31)",
            str(residents), str(city))
        print(f"  generated in {gen_wall:.0f} s (peak RSS {gen_rss / 2**20:.0f} MiB)", flush=True)
        summary = json.loads(summary_path.read_text())
    inbox = city / "inbox"
    url, ledger_wall = _ledger_database(inbox, city)
    print(f"clinic month {period}: gate + match + promote ...", flush=True)
    workers = int(config.load("platform")["loading"]["clinic_parallel_files"])
    wall, rss, out = _timed_child(_MONTH, str(inbox), url, period, str(workers))
    totals = json.loads(out.strip().splitlines()[-1])
    rss += workers * totals.pop("worker_peak_rss")  # every process of the step, at its peak
    quality = clinic_quality(city / "truth", url=url)
    print("Splink 5 (DuckDB) on the same month ...", flush=True)
    s_wall, s_rss, s_out = _timed_child(_SPLINK, url, str(city / "truth"), period)
    splink = json.loads(s_out.strip().splitlines()[-1])
    ours_f1, splink_f1 = _f1(quality.precision, quality.recall), _f1(splink["precision"], splink["recall"])
    print(f"\nclinic month {period}: {totals['files']} files, {totals['rows']:,} records; "
          f"loaded {totals['loaded']:,}, review {totals['review']:,}, quarantined {totals['quarantined']:,}, "
          f"rejected files {totals['rejected']}")
    print(f"{'':<28}{'precision':>10}{'recall':>9}{'F1':>8}{'review':>9}{'wall s':>8}{'RSS MiB':>9}")
    print(f"(clinic files loaded {workers} at a time: loading.clinic_parallel_files; RSS = parent + workers at their peaks)")
    print(f"{'kenshin.matching.matcher':<28}{quality.precision:>10.5f}{quality.recall:>9.5f}{ours_f1:>8.5f}"
          f"{quality.review_share:>9.4f}{wall:>8.1f}{rss / 2**20:>9.0f}   (gate + match + promote; "
          f"matching alone {totals['match_s']} s summed over files)")
    print(f"{'Splink ' + splink['version'] + ' (DuckDB)':<28}{splink['precision']:>10.5f}{splink['recall']:>9.5f}"
          f"{splink_f1:>8.5f}{'-':>9}{s_wall:>8.1f}{s_rss / 2**20:>9.0f}   (export + train "
          f"{splink['train_s']} s + predict {splink['predict_s']} s)")
    print(f"targets: precision ≥ 0.9995, recall ≥ 0.99, review ≤ 0.01, non-residents linked = 0 "
          f"(ours {quality.non_residents_linked}, Splink {splink['non_residents_linked']}); ≤ 60 s, RSS ≤ 2048 MiB")
    print(json.dumps({"benchmark": "clinic", "residents": residents, "period": period, "totals": totals,
                      "ours": {**quality.as_dict(), "f1": ours_f1, "wall_s": round(wall, 1),
                               "peak_rss_mib": round(rss / 2**20)},
                      "splink": {**splink, "f1": splink_f1, "wall_s": round(s_wall, 1),
                                 "peak_rss_mib": round(s_rss / 2**20)},
                      "ledger_s": round(ledger_wall, 1)}, ensure_ascii=False))


# Yearly share of the admitted people screened per exam type: the synthetic
# clinics' rates (synth.clinics.ANNUAL_RATE) scaled by HISTORY_SCALE so that a
# decade of the city is ~4M screenings, the size the marts target is set for.
_HISTORY = """
insert into core.screening (addressee_id, exam_type, exam_date, clinic_code, result_code, fee_exempt, link_method,
                            load_id, line_no)
select v.addressee_id, t.exam_type,
       make_date(fy.y, 4, 1) + (abs(hashtext(v.addressee_id || t.exam_type || 'day')) %% %(days)s::int),
       '1410000000',
       case when abs(hashtext(v.addressee_id || t.exam_type || fy.y || 'result')) %% 1000000 < t.needing * 1e6
            then '3' else '1' end,
       false, 'bench', 0, 0
  from core.person_version v
 cross join generate_series(%(first)s::int, %(last)s::int) as fy (y)
  join (values %(types)s) as t (exam_type, sex, min_age, rate, needing)
    on (t.sex = 0 or t.sex = v.sex) and fy.y - extract(year from v.birth_date) >= t.min_age
 -- a hash of person, exam type and year as the draw: reproducible, and evaluated
 -- per joined row (random() alone would be evaluated once per programme row)
 where v.valid_to is null and v.status = 1
   and abs(hashtext(v.addressee_id || t.exam_type || fy.y)) %% 1000000 < t.rate * 1e6
"""

_FOLLOWUPS = """
insert into core.detailed_exam (screening_id, addressee_id, followup_date, outcome, clinic_code, link_method,
                                load_id, line_no)
select screening_id, addressee_id, exam_date + 30 + (random() * 120)::int,
       (1 + floor(random() * 4))::int::text, '1410000000', 'bench', 0, 0
  from core.screening
 where result_code = '3' and link_method = 'bench' and random() < 0.85
"""

_DBT_BUILD = """
import sys, json, time
from kenshin.reporting.marts import build
t = time.monotonic()
ok = build(url=sys.argv[1])
print(json.dumps({"success": ok, "seconds": time.monotonic() - t}))
"""


HISTORY_SCALE = 0.33


def run_marts(residents: int, work: Path) -> None:
    """Ten fiscal years of screenings on the city's ledger: a full dbt build,
    then one new month and the build again (the incremental case)."""
    from kenshin.lab.synth.clinics import ANNUAL_RATE, RESULT_SHARES

    city = work / "clinic_city"
    if not (city / "truth" / "summary.json").exists():
        run_clinic(residents, work)
    url, _ = _ledger_database(city / "inbox", city)
    rules = programmes_rules()
    types = _types(rules, ANNUAL_RATE, RESULT_SHARES, HISTORY_SCALE)
    screenings = _write_history(url, rules, types)
    full_wall, full_rss, out = _timed_child(_DBT_BUILD, url)
    full = json.loads(out.strip().splitlines()[-1])
    print(f"full build: {full_wall:.1f} s (success {full['success']})", flush=True)
    with psycopg.connect(url) as conn:
        # one month's volume of the next fiscal year (a twelfth of a year's rates)
        conn.execute(_HISTORY.replace("%(types)s", _types(rules, ANNUAL_RATE, RESULT_SHARES, HISTORY_SCALE / 12)),
                     {"first": 2026, "last": 2026, "days": 30})
        month = conn.execute("select count(*) from core.screening").fetchone()[0] - screenings
    inc_wall, inc_rss, out = _timed_child(_DBT_BUILD, url)
    inc = json.loads(out.strip().splitlines()[-1])
    print(f"\nmarts: {screenings:,} screenings (10 fiscal years), then {month:,} more (one month)")
    print(f"{'build':<14}{'wall s':>8}{'RSS MiB':>9}  target")
    print(f"{'full':<14}{full_wall:>8.1f}{full_rss / 2**20:>9.0f}  ≤ 180 s")
    print(f"{'after a month':<14}{inc_wall:>8.1f}{inc_rss / 2**20:>9.0f}  ≤ 20 % of full "
          f"(ratio {inc_wall / full_wall:.2f})")
    print(json.dumps({"benchmark": "marts", "screenings": screenings, "month": month,
                      "full_s": round(full_wall, 1), "incremental_s": round(inc_wall, 1),
                      "ratio": round(inc_wall / full_wall, 3), "success": [full["success"], inc["success"]]}))


# The rest of a city's ledger the letters read, written straight into core for
# the notices benchmark when no clinic city was built: public assistance
# (~1.6 %), NHI (~20 %) and support measures (~0.3 %), by a hash of the person.
_NOTICES_LEDGER = """
insert into core.welfare_period (addressee_id, case_number, benefit_type, start_date, last_listed, load_id)
select addressee_id, lpad((abs(hashtext(addressee_id)) %% 99999999)::text, 8, '0'), 1, '2015-04-01',
       '2026-09-01', 1
  from core.person where abs(hashtext(addressee_id || 'welfare')) %% 1000 < 16
;
insert into core.nhi_period (addressee_id, insured_number_hmac, qualified_from, last_listed, load_id)
select addressee_id, '\\x00', '2010-04-01', '2026-09-01', 1
  from core.person where abs(hashtext(addressee_id || 'nhi')) %% 1000 < 200
;
update core.person_version set protection_flag = true where abs(hashtext(addressee_id || 'dv')) %% 1000 < 3
"""


def run_notices(residents: int, work: Path) -> None:
    """VOUCHER and INVITE selection for the whole city, on the ledger with ten
    years of screenings; then the letters of a sample batch rendered to PDF.
    The ledger is the clinic part's (built from the registry files) when that
    city exists, else one written straight into core (what is measured is the
    selection, not how the ledger came to be)."""
    from kenshin.lab.synth.clinics import ANNUAL_RATE, RESULT_SHARES
    from kenshin.letters import notices
    from kenshin.letters import print_files as letters

    city = work / "clinic_city"
    if (city / "truth" / "summary.json").exists():
        url, _ = _ledger_database(city / "inbox", city)
    else:
        url = _fresh_database()
        t0 = time.monotonic()
        with psycopg.connect(url) as conn:
            for statement in filter(str.strip, (_DIRECT_LEDGER + ";" + _NOTICES_LEDGER).split(";")):
                conn.execute(statement, {"residents": residents})
        print(f"ledger of {residents:,} residents written into core in {time.monotonic() - t0:.0f} s", flush=True)
    rules = programmes_rules()
    _write_history(url, rules, _types(rules, ANNUAL_RATE, RESULT_SHARES, HISTORY_SCALE))
    rows = []
    # vouchers of FY2027, invitations of FY2026
    for kind, day in (("VOUCHER", dt.date(2027, 4, 1)), ("INVITE", dt.date(2026, 10, 1))):
        with psycopg.connect(url) as conn:
            t0 = time.monotonic()
            batch = notices.select(conn, kind, day)
            seconds = time.monotonic() - t0
            print(f"  {kind} selection: {len(batch.letters):,} letters in {seconds:.1f} s", flush=True)
            t0 = time.monotonic()
            counts = notices.record(conn, batch)
            print(f"  {kind} recorded in {time.monotonic() - t0:.1f} s", flush=True)
        rows.append((kind, len(batch.letters), counts["manual"], seconds))
    sample = 2000
    with psycopg.connect(url) as conn:
        letter_rows = letters.batch_rows(conn, f"{dt.date(2026, 10, 1):%Y%m%d}_INVITE", sample)
    pdf = work / "notices_sample.pdf"
    t0 = time.monotonic()
    pages = letters.render_pdf(pdf, letter_rows)
    pdf_s = time.monotonic() - t0
    print(f"\nnotices: selection for {residents:,} residents")
    print(f"{'kind':<10}{'letters':>10}{'manual':>8}{'select s':>10}  target")
    for kind, n, manual, seconds in rows:
        print(f"{kind:<10}{n:>10,}{manual:>8,}{seconds:>10.1f}  ≤ 60 s")
    print(f"PDF: {pages:,} letters in {pdf_s:.1f} s = {pages / pdf_s:,.0f} letters/s ({pdf.stat().st_size / 2**20:.1f} MiB)")
    print(json.dumps({"benchmark": "notices", "residents": residents,
                      "select_s": {k: round(sec, 1) for k, _, _, sec in rows},
                      "letters": {k: n for k, n, _, _ in rows}, "pdf_letters_per_s": round(pages / pdf_s, 1)}))


def _write_history(url: str, rules, types: str) -> int:
    """Ten fiscal years of screenings (FY2016-2025) and their follow-ups on the ledger at `url`."""
    from kenshin.platform.crypto import protector

    print("writing ten fiscal years of screenings (FY2016-2025) on the ledger ...", flush=True)
    t0 = time.monotonic()
    with psycopg.connect(url) as conn:
        keyed = conn.execute("select count(*) from core.person where person_key is null").fetchone()[0]
        if keyed:
            ids = [r[0] for r in conn.execute("select addressee_id from core.person where person_key is null")]
            p = protector()
            conn.execute("create temp table keys (addressee_id char(10), person_key text)")
            with conn.cursor().copy("copy keys from stdin") as copy:
                for a in ids:
                    copy.write_row((a, p.hmac(a, "person_key").hex()))
            conn.execute("update core.person p set person_key = k.person_key from keys k "
                         "where p.addressee_id = k.addressee_id")
        conn.execute(_HISTORY.replace("%(types)s", types), {"first": 2016, "last": 2025, "days": 365})
        print(f"  {conn.execute('select count(*) from core.screening').fetchone()[0]:,} screenings "
              f"in {time.monotonic() - t0:.0f} s", flush=True)
        conn.execute("analyze core.screening")
        # Synthetic bench data only: the follow-ups reference rows this very
        # transaction wrote, and their per-row foreign-key checks took minutes;
        # they are skipped for this one statement (replica role: no triggers).
        conn.execute("set local session_replication_role = replica")
        t1 = time.monotonic()
        conn.execute(_FOLLOWUPS)
        print(f"  follow-ups in {time.monotonic() - t1:.0f} s", flush=True)
        conn.execute("set local session_replication_role = origin")
        screenings = conn.execute("select count(*) from core.screening").fetchone()[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze core.screening")
        conn.execute("vacuum analyze core.detailed_exam")
    print(f"  {screenings:,} screenings in {time.monotonic() - t0:.0f} s", flush=True)
    return screenings


# A ledger written straight into core for the purge and notices benchmarks: the
# purge reads the ledger only to find persons who left, so the registry pipeline
# (measured by the registry part) is not needed to build it. Every person has an
# address of their own: one shared address would put the whole city under a
# flagged person's protection (core.protected_address).
_DIRECT_LEDGER = """
insert into ops.load_manifest (file_name, source, sha256, size_bytes, status)
values ('bench ledger', 'bench', repeat('0', 64), 0, 'rejected')
;
insert into core.person (addressee_id, person_key, first_load_id, last_load_id)
select lpad(i::text, 10, '0'), md5(i::text), 1, 1 from generate_series(1, %(residents)s) as i;
insert into core.person_version (addressee_id, valid_from, household_id, name_kanji, name_kana, name_kanji_key,
    name_kana_key, sex, birth_date, relationship, postal_code, ward_code, address, address_key, status,
    protection_flag, attrs_hash, change_event, load_id, line_no)
select lpad(i::text, 10, '0'), '2010-04-01', lpad(i::text, 10, '0'), '試験　太郎', 'シケン　タロウ', '試験太郎',
       'シケンタロウ', 1 + i %% 2, date '1936-04-01' + (abs(hashtext(i::text)) %% 25000),
       '世帯主', '210-0001', (array['141313', '141321', '141330', '141348', '141356', '141364', '141372'])[1 + i %% 7],
       '川崎市' || i, '川崎市' || i, 1, false, 'x', '00', 1, i
  from generate_series(1, %(residents)s) as i;
"""

# Follow-up letters (精検受診勧奨) of every 要精検 screening, and corrections of
# one screening in a hundred: the rows a screening's purge takes with it.
_DERIVED = """
insert into core.notice (kind, addressee_id, fiscal_year, exam_types, as_of, deadline, delivery, batch)
select 'FOLLOWUP', addressee_id, extract(year from exam_date - interval '3 months')::int, array[exam_type],
       exam_date + 90, exam_date + 180, 'bulk', 'bench_' || screening_id
  from core.screening where result_code = '3';
insert into core.notice_cause (notice_id, kind, addressee_id, cause, screening_id)
select n.notice_id, 'FOLLOWUP', n.addressee_id, 'screening:' || s.screening_id, s.screening_id
  from core.notice n join core.screening s on n.batch = 'bench_' || s.screening_id;
insert into audit.record_correction (table_name, record_id, old_values, new_values, old_load_id, old_line_no,
    new_load_id, new_line_no, changed_by, changed_at)
select 'core.screening', screening_id, '{"result_code": "2"}', '{"result_code": "1"}', 0, 0, 0, 0, 'bench',
       exam_date + 30
  from core.screening where screening_id % 100 = 0;
"""


def run_purge(residents: int, work: Path) -> None:
    """Ten fiscal years of screenings with their follow-ups, letters and
    corrections on a city-sized ledger; then the purge that the start of FY2022
    brings: the cancer screenings of FY2016 (5 years) and everything derived
    from them, timed by step (plan, execute, verify)."""
    from kenshin.governance import retention
    from kenshin.lab.synth.clinics import ANNUAL_RATE, RESULT_SHARES

    url = _fresh_database()
    t0 = time.monotonic()
    with psycopg.connect(url) as conn:
        for statement in filter(str.strip, _DIRECT_LEDGER.split(";")):
            conn.execute(statement, {"residents": residents})
    print(f"ledger of {residents:,} residents in {time.monotonic() - t0:.0f} s", flush=True)
    rules = programmes_rules()
    screenings = _write_history(url, rules, _types(rules, ANNUAL_RATE, RESULT_SHARES, HISTORY_SCALE))
    with psycopg.connect(url) as conn:
        for statement in filter(str.strip, _DERIVED.split(";")):
            conn.execute(statement)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    as_of = dt.date(2022, 4, 1)
    with db.connect(url, role=retention.PURGER) as conn:
        year = conn.execute("select count(*) from core.screening where exam_date < %(screenings_before)s",
                            retention.parameters(as_of)).fetchone()[0]
    steps = {}
    t = time.monotonic()
    run = retention.create_run(as_of, "bench", url=url)
    steps["plan"] = time.monotonic() - t
    if run["needs_approval"]:
        # a second person: the bench's superuser speaks as Airflow does for a UI approver
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("insert into ops.staff_member (staff_id, airflow_user) values ('bench-approver', "
                         "'bench-approver') on conflict do nothing")
        retention.approve(run["run_id"], airflow_user="bench-approver", url=url)
    t = time.monotonic()
    run = retention.execute(run["run_id"], url=url)
    steps["execute"] = time.monotonic() - t
    t = time.monotonic()
    run = retention.verify(run["run_id"], url=url)
    steps["verify"] = time.monotonic() - t
    total = sum(steps.values())
    print(f"\npurge: {screenings:,} screenings over FY2016-2025; as of {as_of} the cancer screenings of FY2016 "
          f"({year:,} of them) and what derives from them")
    for name, c in run["categories"].items():
        if c["deleted"]:
            print(f"  {name:<40}{c['deleted']:>10,}")
    print(f"{'step':<10}{'wall s':>8}")
    for name, seconds in steps.items():
        print(f"{name:<10}{seconds:>8.1f}")
    print(f"{'total':<10}{total:>8.1f}  target ≤ 30 s ({run['deleted_rows']:,} rows, state {run['state']})")
    print(json.dumps({"benchmark": "purge", "screenings": screenings, "fiscal_year_screenings": year,
                      "deleted_rows": run["deleted_rows"], "steps_s": {k: round(v, 1) for k, v in steps.items()},
                      "total_s": round(total, 1), "state": run["state"]}))


def _types(rules, rates: dict, shares: dict, scale: float) -> str:
    """VALUES rows (exam type, sex, minimum age, yearly rate, 要精検 share) for _HISTORY."""
    return ", ".join(f"('{code}', {rule.sex or 0}, {rule.min_age or 0}, {rates.get(code, 0.0) * scale:.6f}, "
                     f"{shares[code][0]})" for code, rule in rules.items() if rates.get(code, 0.0) > 0)


def programmes_rules():
    from kenshin.programmes import rules as programmes

    return programmes.exam_types()
