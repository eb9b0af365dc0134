"""`kenshin ingest` — the same code path as the DAG, driven from the command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from builders import jumin_file, people

pytestmark = pytest.mark.integration


def run_cli(url, *args):
    env = {**os.environ, "KENSHIN_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "kenshin.cli", *args], capture_output=True, text=True, env=env)


def test_ingest_prints_one_object_per_file_and_reports_every_record(db_url, tmp_path):
    ps = people(4)
    good = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps[:3]] +
                      [ps[3].jumin_row(birth_date="5060230")])
    bad = jumin_file(tmp_path, "20261002", "diff", [ps[0].jumin_row("05", "20261002")], trailer=False)
    report = tmp_path / "report.jsonl"
    proc = run_cli(db_url, "ingest", "--report", str(report), str(good), str(bad), str(good))
    assert proc.returncode == 1, proc.stderr  # a file was rejected
    objects = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(o["file"], o["status"], o["rows"], o["loaded"], o["quarantined"], o["review"]) for o in objects] == [
        ("jumin_20261001_full.csv", "loaded", 4, 3, 1, 0),
        ("jumin_20261001_full.csv", "duplicate", 0, 0, 0, 0),
        ("jumin_20261002_diff.csv", "rejected", 1, 0, 0, 0),
    ]
    assert objects[2]["reason"].startswith("jumin_20261002_diff.csv:")
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["line_no"], r["outcome"], r["addressee_id"]) for r in records] == [
        ("jumin_20261001_full.csv", 2, "loaded", ps[0].addressee_id),
        ("jumin_20261001_full.csv", 3, "loaded", ps[1].addressee_id),
        ("jumin_20261001_full.csv", 4, "loaded", ps[2].addressee_id),
        ("jumin_20261001_full.csv", 5, "quarantined", None),
        ("jumin_20261002_diff.csv", 2, "rejected", None),
    ]
    assert records[3]["reason"] == "birth_date: not an existing date"
    # logs name files and lines, never names or numbers
    for p in ps:
        assert p.name_kanji not in proc.stderr and p.my_number not in proc.stderr


def test_ingest_exit_zero_when_nothing_rejected(db_url, tmp_path):
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(2)])
    proc = run_cli(db_url, "ingest", str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "loaded"


@pytest.mark.parametrize("value", [None, "not base64!", "c2hvcnQ="])
def test_a_missing_or_malformed_key_is_one_line_and_exit_code_2(db_url, tmp_path, value):
    path = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in people(2)])
    env = {k: v for k, v in os.environ.items() if k != "KENSHIN_MY_NUMBER_KEY"}
    if value is not None:
        env["KENSHIN_MY_NUMBER_KEY"] = value
    proc = subprocess.run([sys.executable, "-m", "kenshin.cli", "ingest", str(path)], capture_output=True,
                          text=True, env={**env, "KENSHIN_DATABASE_URL": db_url})
    assert proc.returncode == 2
    # stderr: log records (timestamped) and the one line of the error
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not re.match(r"\d{4}-\d\d-\d\d ", line)]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("kenshin: configuration error: KENSHIN_MY_NUMBER_KEY ")
    if value:
        assert value not in proc.stderr  # the message names the variable, never its value
