"""The bytes hashed are the bytes staged (issue 21, build item 9): the loader
copies an inbox file once, hashing it on the way, and reads only the copy. A
file the sender completes (or rewrites) after that moment is loaded as what
was hashed, and its new content is a file of its own: nothing loads twice."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess

import psycopg
import pytest

from builders import core_state, jumin_file, people
from kenshin.ingest import inbox as inbox_mod
from kenshin.ingest import loading
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def loads(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("select status, sha256 from ops.load_manifest order by load_id").fetchall()


def change_inbox_file_after_the_copy(monkeypatch, path, data: bytes) -> None:
    """The sender writes `data` into the inbox file once the loader has read it
    (the first envelope check runs on the loader's copy, after the hash)."""
    real = loading.read_envelope
    done = []

    def read_envelope(copy, *args, **kwargs):
        if not done:
            path.write_bytes(data)
            done.append(True)
        return real(copy, *args, **kwargs)

    monkeypatch.setattr(loading, "read_envelope", read_envelope)


def test_a_diff_completed_while_loading_applies_its_events_once(new_database, inbox, tmp_path, monkeypatch):
    ps = people(5)
    url, clean_url = new_database(), new_database()
    snapshot = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps])
    for target in (url, clean_url):
        assert ingest_file(snapshot, url=target).status == "loaded"
    diff = jumin_file(inbox, "20261002", "diff",
                      [p.but(address=f"川崎市中原区小杉町{i}-1").jumin_row("05", "20261002") for i, p in enumerate(ps)])
    whole = diff.read_bytes()
    partial = whole[: whole.index(b"\r\n", len(whole) // 2) + 2]  # cut at a line end, no trailer yet
    diff.write_bytes(partial)
    change_inbox_file_after_the_copy(monkeypatch, diff, whole)

    first = inbox_mod.ingest_in_order([str(diff)], str(diff), url=url)
    assert (first.status, first.reason.split(": ", 1)[1]) == ("rejected", "no trailer (T): truncated transfer")
    assert loads(url)[-1] == ("rejected", sha(partial))   # what was hashed is what was judged

    due = inbox_mod.due_files(("jumin",), None, url=url)
    assert due == [str(diff)]                              # the completed file is new bytes
    assert inbox_mod.ingest_in_order(due, due[0], url=url).status == "loaded"
    assert loads(url)[-1] == ("loaded", sha(whole))
    assert inbox_mod.due_files(("jumin",), None, url=url) == []
    (tmp_path / "clean").mkdir()
    clean = tmp_path / "clean" / diff.name
    clean.write_bytes(whole)
    assert ingest_file(clean, url=clean_url).status == "loaded"
    assert core_state(url) == core_state(clean_url)        # 5 move events, not 10
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from core.person_event where event_code = '05'").fetchone()[0] == 5


def test_a_file_rewritten_while_loading_loads_the_bytes_it_was_hashed_as(new_database, inbox, tmp_path,
                                                                         monkeypatch):
    ps = people(8)
    url, clean_url = new_database(), new_database()
    path = jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps[:4]])
    hashed = path.read_bytes()
    rewritten = jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]).read_bytes()
    change_inbox_file_after_the_copy(monkeypatch, path, rewritten)

    result = ingest_file(path, url=url)
    assert (result.status, result.loaded) == ("loaded", 4)
    assert loads(url) == [("loaded", sha(hashed))]
    (tmp_path / "clean").mkdir()
    assert ingest_file(jumin_file(tmp_path / "clean", "20261001", "full", [p.jumin_row() for p in ps[:4]]),
                       url=clean_url).status == "loaded"
    assert core_state(url) == core_state(clean_url)
    # the rewritten content is other bytes: due, and judged on its own
    assert inbox_mod.due_files(("jumin",), None, url=url) == [str(path)]


def test_the_private_copy_goes_and_a_killed_loads_copy_is_swept(db_url, inbox, tmp_path):
    folder = loading.receiving_dir()
    ended = subprocess.Popen(["true"])  # a load killed on this host: its process is gone
    ended.wait()
    stale = folder / f"{socket.gethostname()}-{ended.pid}-left.csv"
    stale.write_bytes(b"H,JUMIN")
    mine = folder / f"{socket.gethostname()}-{os.getpid()}-busy.csv"  # a live load's copy stays
    mine.write_bytes(b"H,JUMIN")
    ps = people(3)
    assert ingest_file(jumin_file(inbox, "20261001", "full", [p.jumin_row() for p in ps]),
                       url=db_url).status == "loaded"
    assert sorted(p.name for p in folder.iterdir()) == [mine.name]
    mine.unlink()
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
