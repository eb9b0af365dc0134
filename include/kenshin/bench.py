"""City-scale benchmarks (`make bench`): measured, printed, never asserted.

Registry part: a 1.56M-resident synthetic city, then
  1. initial load of the full snapshot into an empty ledger,
  2. reconcile: the next month's full snapshot (~1 % of persons changed),
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

from kenshin import db

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
from kenshin.loading import ingest_file
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
    if part != "registry":
        raise SystemExit(f"unknown benchmark part {part}")
    work.mkdir(parents=True, exist_ok=True)
    print(f"generating a synthetic city of {residents:,} residents (two monthly snapshots) ...", flush=True)
    gen_wall, gen_rss, _ = _timed_child(
        "import sys, datetime as dt; from pathlib import Path; from kenshin.synth import generate; "
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
