"""A load killed with SIGKILL leaves core unchanged; a rerun loads the file exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from builders import jumin_file, people
from kenshin.ingest.loading import ingest_file

pytestmark = pytest.mark.integration

ROWS = 120_000


@pytest.fixture(scope="module")
def big_snapshot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    return jumin_file(folder, "20261001", "full", [p.jumin_row() for p in people(ROWS)])


def _start_load(path, url):
    code = "import sys; from kenshin.ingest.loading import ingest_file; ingest_file(sys.argv[1], url=sys.argv[2])"
    return subprocess.Popen([sys.executable, "-c", code, str(path), url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())


def _kill_when(proc, url, sql, timeout=60.0):
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute(sql).fetchone()[0]:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
                return
            if proc.poll() is not None:
                pytest.fail("the load finished before it could be killed")
            time.sleep(0.02)
    proc.kill()
    pytest.fail("the load never reached the point to kill it at")


def _counts(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            """select (select count(*) from core.person), (select count(*) from core.person_version),
                      (select count(*) from ops.load_manifest where status = 'loaded')""").fetchone()


def _rerun_loads_once(url, path):
    result = ingest_file(path, url=url)
    assert (result.status, result.rows, result.loaded) == ("loaded", ROWS, ROWS)
    assert _counts(url) == (ROWS, ROWS, 1)
    assert ingest_file(path, url=url).status == "duplicate"
    assert _counts(url) == (ROWS, ROWS, 1)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from landing.jumin").fetchone()[0] == ROWS


def test_sigkill_mid_copy_leaves_core_unchanged(db_url, big_snapshot):
    proc = _start_load(big_snapshot, db_url)
    _kill_when(proc, db_url, "select count(*) from pg_stat_activity where query ilike 'copy landing.jumin%%' "
                             "and state = 'active'")
    time.sleep(0.5)  # the server notices the dead client and rolls back
    assert _counts(db_url) == (0, 0, 0)
    _rerun_loads_once(db_url, big_snapshot)


def test_sigkill_after_staging_is_abandoned_and_reloaded(db_url, big_snapshot):
    proc = _start_load(big_snapshot, db_url)
    _kill_when(proc, db_url, "select count(*) from ops.load_manifest where status = 'staging'")
    assert _counts(db_url) == (0, 0, 0)
    _rerun_loads_once(db_url, big_snapshot)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select status from ops.load_manifest order by load_id").fetchall() == [
            ("abandoned",), ("loaded",), ("duplicate",)]
