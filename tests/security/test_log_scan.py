"""No personal data in the logs: the demo (every DAG, `dag.test()`, Airflow and
application logging at INFO) runs on a small synthetic city, then every log it
left — its own output, Airflow's task logs, dbt's log — is scanned for any
name, individual number, address or addressee id of the synthetic ground truth.

Why the demo and not a shorter run: it is the one run that drives every DAG
end to end on realistic data (quarantines, review items, returns, letters,
linkage answers, a purge), the paths where a value could slip into a message.
With 2,000 residents it takes a few minutes; `make test` runs it (marker
`logscan`; `-m "not logscan"` leaves it out locally).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pyarrow.parquet as pq
import pytest

from kenshin.platform import db

pytestmark = [pytest.mark.integration, pytest.mark.logscan]

ROOT = Path(__file__).resolve().parents[2]
# runs of Japanese text, digits and the separators addresses use
RUN = re.compile(r"[0-9０-９\u3000\u3005\u3040-\u30ff\u4e00-\u9fff\uff66-\uff9f\-－ー]+")


def personal_values(truth: Path) -> dict[str, set[str]]:
    t = pq.read_table(truth / "persons.parquet",
                      columns=["addressee_id", "my_number", "name_kanji", "name_kana", "address"]).to_pydict()
    names = {n for n in t["name_kanji"] + t["name_kana"] if n}
    return {
        "addressee id": set(t["addressee_id"]),
        "individual number": {n for n in t["my_number"] if n},
        "name": names | {n.replace("\u3000", "") for n in names},
        "address": {a for a in t["address"] if a},
    }


def leaks(text: str, values: dict[str, set[str]]) -> list[tuple[str, int]]:
    """(kind, offset) of every personal value found in `text` (values only, never printed)."""
    found = []
    for kind, wanted in values.items():
        lengths = sorted({len(v) for v in wanted})
        for run in RUN.finditer(text):
            s = run.group()
            for i in range(len(s)):
                for n in lengths:
                    if i + n > len(s):
                        break
                    piece = s[i:i + n]
                    # numbers only as whole numbers (a 10-digit id is not part of a longer one)
                    if kind in ("addressee id", "individual number") and (
                            (i and s[i - 1].isdigit()) or (i + n < len(s) and s[i + n].isdigit())):
                        continue
                    if piece in wanted:
                        found.append((kind, run.start() + i))
    return found


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, server_url):
    work = tmp_path_factory.mktemp("logscan")
    name = f"kenshin_logscan_{uuid.uuid4().hex[:8]}"
    env = {**os.environ,
           "KENSHIN_DATABASE_URL": db.with_database(server_url, db.DATABASE_NAME),
           "KENSHIN_DEMO_DB": name, "KENSHIN_DEMO_AIRFLOW_DB": name + "_airflow",
           "KENSHIN_DEMO_RESIDENTS": os.environ.get("KENSHIN_LOGSCAN_RESIDENTS", "2000"),
           "KENSHIN_DEMO_LOG_LEVEL": "INFO", "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "plugins"), os.environ.get("PYTHONPATH")])),
           "AIRFLOW_HOME": str(work / "airflow"),
           "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(work / "airflow" / "logs")}
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    try:
        result = subprocess.run([sys.executable, str(ROOT / "tools" / "demo.py")], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=1500)
    finally:
        with psycopg.connect(db.with_database(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'drop database if exists "{name}_airflow" with (force)')
    assert result.returncode == 0, result.stderr[-3000:]
    logs = {"demo stdout": result.stdout, "demo stderr": result.stderr}
    for path in [*(work / "airflow" / "logs").rglob("*"), db.work_dir() / "dbt" / "logs" / "dbt.log"]:
        if path.is_file():
            logs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return logs, personal_values(db.work_dir() / "demo" / "data" / "truth")


def test_the_scanner_finds_what_it_looks_for(demo_run):
    _, values = demo_run
    planted = {kind: sorted(v)[0] for kind, v in values.items()}
    text = "INFO kenshin.ingest.loading line 3 " + " / ".join(planted.values()) + " ok"
    assert sorted({kind for kind, _ in leaks(text, values)}) == sorted(planted)
    assert leaks("INFO kenshin.ingest.loading jumin_20261001_full.csv:5 field birth_date: 1413050001 0", values) == []


def test_no_personal_data_in_any_log_of_the_demo(demo_run):
    logs, values = demo_run
    assert len(values["addressee id"]) >= 2000 and len(values["individual number"]) >= 1000
    assert sum(len(text) for text in logs.values()) > 10_000  # the run did log (INFO)
    assert any("registry_sync" in name or "registry_sync" in text for name, text in logs.items())
    found = {name: sorted({kind for kind, _ in leaks(text, values)}) for name, text in logs.items()}
    assert {name: kinds for name, kinds in found.items() if kinds} == {}
