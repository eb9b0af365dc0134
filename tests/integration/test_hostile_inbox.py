"""A messy inbox never stops the scan (issue 21, build item 5): every entry ends
as a manifest row — loaded, rejected with a reason, `unrecognised` (a name no
layout has), `unreadable`, `not a file` (a directory with a layout name, a
dangling symbolic link, a FIFO) — recorded once per entry and content, shown on
the operations page where rejected files are; the day's good files load; a
crash of the loader in one file rejects that file alone."""

from __future__ import annotations

import builtins
import errno
import logging
import os
from pathlib import Path

import psycopg
import pytest

import builders
from builders import CLINIC, clinic_file, jumin_file, kenshin_row, people
from kenshin.ingest import inbox as inbox_mod
from kenshin.ingest import loading
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration

EXAM = "20261015"


def manifest(url: str) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select file_name, status, reason from ops.load_manifest order by load_id").fetchall()


def make_unreadable(path: Path, monkeypatch) -> None:
    """Mode 000; as root (who reads any mode) the loader's `open` of this path
    fails as the system fails it for any other user."""
    path.chmod(0)
    if os.geteuid() == 0:
        real_open = builtins.open

        def guarded(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(loading, "open", guarded, raising=False)


@pytest.fixture
def messy_inbox(inbox, monkeypatch):
    """The day's snapshot among entries that cannot load, and the people in it."""
    ps = people(12)
    good = jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps])
    (inbox / "jumin_20261002_diff.csv").symlink_to(inbox / "gone.csv")        # dangling
    (inbox / "jumin_20261003_diff.csv").mkdir()                                # a directory with a layout name
    os.mkfifo(inbox / "seiho_202610.csv")                                      # no regular file
    unreadable = jumin_file(inbox, "20261004", "diff", [ps[0].jumin_row("05", "20261004")])
    make_unreadable(unreadable, monkeypatch)
    # 268 clinic records under names no layout has (upper-case suffix, a copy's suffix)
    rows = [kenshin_row(ps[i % len(ps)], EXAM, line_no=i + 1) for i in range(268)]
    misnamed = clinic_file(inbox, "kenshin", "202610", rows, name=f"kenshin_{CLINIC}_202610.CSV")
    (inbox / f"kenshin_{CLINIC}_202610.csv.bak").write_bytes(misnamed.read_bytes())
    (inbox / ".jumin_20261005_diff.csv.part").write_bytes(b"H,JUMIN")          # a transfer in progress
    return inbox, good, unreadable, ps


EXPECTED_ENTRIES = {
    "jumin_20261002_diff.csv": ("not a file", "jumin_20261002_diff.csv: a symbolic link to nothing (dangling)"),
    "jumin_20261003_diff.csv": ("not a file", "jumin_20261003_diff.csv: a directory, not a file"),
    "jumin_20261004_diff.csv": ("unreadable", "jumin_20261004_diff.csv: cannot be read: Permission denied"),
    "seiho_202610.csv": ("not a file", "seiho_202610.csv: not a regular file"),
    f"kenshin_{CLINIC}_202610.CSV": ("unrecognised",
                                     f"kenshin_{CLINIC}_202610.CSV: file name matches no layout (LAYOUTS.md)"),
    f"kenshin_{CLINIC}_202610.csv.bak": ("unrecognised",
                                         f"kenshin_{CLINIC}_202610.csv.bak: file name matches no layout (LAYOUTS.md)"),
}


def test_every_entry_ends_in_the_manifest_and_the_days_file_still_loads(db_url, messy_inbox, caplog):
    caplog.set_level(logging.INFO)
    inbox, good, _, ps = messy_inbox
    due = inbox_mod.due_files(("jumin", "seiho", "kokuho"), None, url=db_url)  # registry_sync's scan
    assert due == [str(good)]
    assert {name: (status, reason) for name, status, reason in manifest(db_url)} == EXPECTED_ENTRIES

    result = inbox_mod.ingest_in_order(due, due[0], url=db_url)
    assert (result.status, result.loaded) == ("loaded", 12)

    # a rerun of both DAGs' scans finds the same entries unchanged: no row is added
    before = manifest(db_url)
    assert inbox_mod.due_files(("jumin", "seiho", "kokuho"), None, url=db_url) == []
    assert inbox_mod.due_files(("kenshin", "seiken"), None, url=db_url) == []
    assert manifest(db_url) == before
    builders.assert_nothing_said(db_url, caplog.records, ps)


def test_the_operations_page_shows_them_where_rejected_files_are(db_url, messy_inbox):
    from kenshin.reporting import operations_page

    inbox_mod.due_files(("jumin", "seiho", "kokuho"), None, url=db_url)
    view = operations_page.overview(url=db_url)
    files = {f["file_name"]: f for f in view.files}
    for name, (status, reason) in EXPECTED_ENTRIES.items():
        assert (files[name]["status"], files[name]["reason"]) == (status, reason)
    totals = operations_page.totals(view)
    assert (totals["files"], totals["rejected_files"], totals["not_loadable_files"]) == (6, 6, 6)
    html = operations_page.render_html(view)
    assert 'data-status="not a file"' in html and "cannot be read: Permission denied" in html
    assert "unrecognised, unreadable or not a file" in html


def test_an_entry_that_changes_is_recorded_again_and_a_readable_one_loads(db_url, messy_inbox, monkeypatch):
    inbox, good, unreadable, ps = messy_inbox
    registry = ("jumin", "seiho", "kokuho")
    due = inbox_mod.due_files(registry, None, url=db_url)
    inbox_mod.ingest_in_order(due, due[0], url=db_url)
    # the operator fixes the diff's mode; another misnamed file arrives with other bytes
    monkeypatch.setattr(loading, "open", builtins.open, raising=False)
    unreadable.chmod(0o600)
    misnamed = inbox / f"kenshin_{CLINIC}_202610.CSV"
    misnamed.write_bytes(misnamed.read_bytes().replace(b"T,268", b"T,0268"))
    due = inbox_mod.due_files(registry, None, url=db_url)
    assert due == [str(unreadable)]
    assert inbox_mod.ingest_in_order(due, due[0], url=db_url).status == "loaded"
    statuses = [(n, s) for n, s, _ in manifest(db_url)]
    assert statuses.count((misnamed.name, "unrecognised")) == 2       # a new content: a new row
    assert statuses.count((unreadable.name, "unreadable")) == 1
    assert statuses.count((unreadable.name, "loaded")) == 1
    assert inbox_mod.due_files(registry, None, url=db_url) == []


def test_an_entry_that_turns_bad_after_the_scan_is_recorded_not_raised(db_url, inbox):
    ps = people(6)
    first = jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps])
    second = jumin_file(inbox, "20261002", "diff", [ps[0].but(address="川崎市中原区1-1").jumin_row("05", "20261002")])
    third = jumin_file(inbox, "20261003", "diff", [ps[1].but(address="川崎市中原区2-2").jumin_row("05", "20261003")])
    due = inbox_mod.due_files(("jumin",), None, url=db_url)
    assert due == [str(first), str(second), str(third)]
    first.unlink()                       # moved away by an operator after the scan
    second.unlink()
    second.mkdir()                       # and a folder put in its place
    assert inbox_mod.ingest_in_order(due, str(first), url=db_url).status == "unreadable"
    assert inbox_mod.ingest_in_order(due, str(second), url=db_url).status == "not a file"
    # the diffs apply to a ledger without the snapshot: the first diff's person is unknown
    assert inbox_mod.ingest_in_order(due, str(third), url=db_url).status in ("loaded", "rejected")
    reasons = {n: (s, r) for n, s, r in manifest(db_url)}
    assert reasons[first.name] == ("unreadable", f"{first.name}: no longer in the inbox when it was read")
    assert reasons[second.name] == ("not a file", f"{second.name}: a directory, not a file")


def test_a_crash_in_one_file_rejects_that_file_alone(new_database, inbox, tmp_path, monkeypatch, caplog):
    """A fault of the loader on one clinic's file (here a bug planted in its
    promotion, whose message quotes a name) rejects that file naming the
    exception's type only; the files after it load, run after run."""
    from kenshin.ingest.sources.clinic import KenshinSource

    caplog.set_level(logging.INFO)
    ps = people(60)
    adults = [p for p in ps if 1945 <= p.birth.year <= 1980]
    url, clean_url = new_database(), new_database()
    for target in (url, clean_url):
        assert ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]),
                           url=target).status == "loaded"
    crashing = clinic_file(inbox, "kenshin", "202610", [kenshin_row(adults[0], EXAM)], clinic="1413050001")
    fine = clinic_file(inbox, "kenshin", "202610", [kenshin_row(adults[1], EXAM)], clinic="1413050002")
    real_promote = KenshinSource.promote

    def promote(self, conn, load_id, meta):
        if meta.sender == "1413050001":
            raise ValueError(f"invalid literal for int() with base 10: '{adults[0].name_kanji}'")
        return real_promote(self, conn, load_id, meta)

    monkeypatch.setattr(KenshinSource, "promote", promote)
    due = inbox_mod.due_files(("kenshin", "seiken"), None, url=url)
    assert due == [str(crashing), str(fine)]
    # the task of the later file runs first and loads the earlier one before its own
    assert inbox_mod.ingest_in_order(due, due[1], url=url).status == "loaded"
    crashed = inbox_mod.ingest_in_order(due, due[0], url=url)
    assert crashed.status == "rejected"
    assert crashed.reason == (f"{crashing.name}: loader fault (ValueError); kept for a developer, "
                              "nothing promoted")
    assert inbox_mod.due_files(("kenshin", "seiken"), None, url=url) == []   # not retried run after run
    assert ingest_file(fine, url=clean_url).status == "loaded"
    assert builders.core_state(url) == builders.core_state(clean_url)
    builders.assert_nothing_said(url, caplog.records, ps)
