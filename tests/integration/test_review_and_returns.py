"""The review queue CLI (`kenshin review ...`) and the clinic return lists (返戻)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import psycopg
import pytest

from builders import clinic_file, jumin_file, kenshin_row, people
from kenshin.matching import review_queue as review

pytestmark = pytest.mark.integration

EXAM = "20261015"
ADULTS = [p for p in people(60) if 1945 <= p.birth.year <= 1980]


def run_cli(url, data, *args):
    env = {**os.environ, "KENSHIN_DATABASE_URL": url, "KENSHIN_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "kenshin.cli", *args], capture_output=True, text=True, env=env)


def q(url, sql, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.fixture
def queued(db_url, tmp_path):
    """A ledger and a clinic file with two records in review, one returned and one loaded."""
    data = tmp_path / "data"
    assert run_cli(db_url, data, "ingest", str(jumin_file(tmp_path, "20261001", "full",
                                                          [p.jumin_row() for p in people(60)]))).returncode == 0
    a, b, c = ADULTS[:3]
    rows = [
        kenshin_row(a, EXAM, line_no=1),
        # a's id on b's record: not confirmed -> review
        kenshin_row(b, EXAM, line_no=2, addressee_id=a.addressee_id),
        # c without kanji, address or postal code, kana with two typos: between the thresholds -> review
        kenshin_row(c, EXAM, line_no=3, name_kanji="", address="", postal_code="",
                    name_kana=c.name_kana[:-2] + "ヲヲ"),
        # nobody: returned
        kenshin_row(a.but(birth=a.birth.replace(year=1960)), EXAM, line_no=4, name_kana="ムラカミ　ジロウ",
                    name_kanji="村上　次郎", address="", postal_code=""),
    ]
    path = clinic_file(tmp_path, "kenshin", "202610", rows)
    report = tmp_path / "report.jsonl"
    proc = run_cli(db_url, data, "ingest", "--report", str(report), str(path))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["rows"], summary["loaded"], summary["review"], summary["quarantined"]) == (4, 1, 2, 1)
    records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert [(r["line_no"], r["outcome"], r["addressee_id"]) for r in records] == [
        (2, "loaded", a.addressee_id), (3, "review", None), (4, "review", None), (5, "quarantined", None)]
    return db_url, data, path, (a, b, c)


def manifest_counts(url):
    return q(url, "select rows_in_file, rows_loaded, rows_review, rows_quarantined from ops.load_manifest "
                  "where source = 'kenshin'")[0]


def test_review_list_show_and_link(queued):
    url, data, _, (a, b, c) = queued
    listed = [json.loads(line) for line in run_cli(url, data, "review", "list").stdout.splitlines()]
    assert [(i["line_no"], i["source"]) for i in listed] == [(3, "kenshin"), (4, "kenshin")]
    shown = json.loads(run_cli(url, data, "review", "show", str(listed[0]["review_id"]), "--by", "staff042").stdout)
    assert shown["record"]["addressee_id"] == a.addressee_id
    assert {cand["addressee_id"] for cand in shown["candidates"]} >= {a.addressee_id, b.addressee_id}
    assert all("score" in cand and "disagree" in cand for cand in shown["candidates"])
    assert all(cand["name_kanji"] for cand in shown["candidates"])
    # read as staff: the item and every candidate shown are in the access log, by key only
    logged = q(url, "select db_role, app_user, purpose, object, person_key from audit.access_log")
    assert ("kenshin_staff", "staff042", review.PURPOSE, f"ops.review_item:{listed[0]['review_id']}", None) in logged
    keys = dict(q(url, "select addressee_id, person_key from core.person"))
    assert {k for *_, obj, k in logged if obj == "core.person_version"} == {
        keys[cand["addressee_id"]] for cand in shown["candidates"]}
    assert not any(a.addressee_id in str(row) for row in logged)
    # The staff member links b's record to b
    proc = run_cli(url, data, "review", "decide", str(listed[0]["review_id"]), "--link", b.addressee_id,
                   "--by", "staff042")
    assert proc.returncode == 0, proc.stderr
    assert q(url, "select addressee_id, link_method from core.screening order by line_no") == [
        (a.addressee_id, "probabilistic"), (b.addressee_id, "review")]
    decided = q(url, "select status, decided_by, decided_at is not null from ops.review_item where review_id = %s",
                listed[0]["review_id"])
    assert decided == [("linked", "staff042", True)]
    assert manifest_counts(url) == (4, 2, 1, 1)
    # a decision is final
    again = run_cli(url, data, "review", "decide", str(listed[0]["review_id"]), "--reject", "--reason", "x",
                    "--by", "staff042")
    assert again.returncode != 0 and "already decided" in again.stderr


def test_review_reject_puts_the_record_on_the_return_list(queued):
    url, data, path, _ = queued
    returns = data / "outbox" / "returns" / f"{path.stem}_henrei.csv"
    rows = list(csv.reader(io.StringIO(returns.read_bytes().decode("cp932"))))
    assert rows[0][0] == "医療機関コード"
    assert [(r[2], r[8]) for r in rows[1:]] == [
        ("5", "受診者: 住民記録に該当する方が見つかりません（氏名・生年月日・性別・住所をご確認ください）")]
    review_id = q(url, "select review_id from ops.review_item where line_no = 4")[0][0]
    proc = run_cli(url, data, "review", "decide", str(review_id), "--reject", "--reason", "本人確認できず",
                   "--by", "staff007")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(returns.read_bytes().decode("cp932"))))
    assert [(r[2], r[8]) for r in rows[1:]] == [
        ("4", "受診者: 確認の結果、受診者を特定できませんでした"),
        ("5", "受診者: 住民記録に該当する方が見つかりません（氏名・生年月日・性別・住所をご確認ください）")]
    assert manifest_counts(url) == (4, 1, 1, 2)


def test_decide_refuses_bad_requests(queued):
    url, data, _, _ = queued
    review_id = str(q(url, "select min(review_id) from ops.review_item")[0][0])
    for args, message in [
        (["--link", "0000000001", "--reject", "--reason", "x"], "exactly one"),
        (["--reject"], "--reason"),
        (["--link", "123"], "10 digits"),
        (["--link", "0999999999"], "not in the person ledger"),
    ]:
        proc = run_cli(url, data, "review", "decide", review_id, *args, "--by", "staff001")
        assert proc.returncode != 0 and message in proc.stderr, (args, proc.stderr)
    assert q(url, "select count(*) from ops.review_item where status = 'open'") == [(2,)]
