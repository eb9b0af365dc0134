"""A checkout in a private folder (mode 700, as root's home or any `mktemp -d`)
sets itself up as `make demo` and `make test` do: the embedded cluster starts,
migrates and the dbt manifest is written, whoever runs it. As root the
server runs as the `postgres` user, who cannot enter such a folder: the cluster
then lives in a folder of its own outside the checkout (kenshin.platform.db.cluster_dir)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def checkout_copy(target: Path) -> None:
    """The working tree as a clone would have it (tracked and new files, nothing ignored)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)


def test_a_checkout_in_a_private_folder_sets_itself_up():
    private = Path(tempfile.mkdtemp(prefix="kenshin-private-"))
    assert private.stat().st_mode & 0o777 == 0o700
    clone = private / "kenshin"
    checkout_copy(clone)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KENSHIN_", "AIRFLOW_"))}
    env["PYTHONPATH"] = str(clone / "include")

    def kenshin(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "kenshin.cli", *args], cwd=clone, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    cluster = None
    try:
        url = kenshin("db", "up").strip().splitlines()[-1]
        kenshin("db", "migrate")
        assert Path(kenshin("marts", "parse").strip().splitlines()[-1]).is_relative_to(clone)
        with psycopg.connect(url) as conn:
            assert conn.execute("select count(*) from information_schema.schemata "
                                "where schema_name in ('landing', 'core', 'ops', 'audit')").fetchone()[0] == 4
        location = clone / ".local" / "pg-location"
        if os.geteuid() == 0:
            cluster = Path(location.read_text().strip())
            assert not cluster.is_relative_to(private) and (cluster / "data" / "PG_VERSION").exists()
            assert cluster.stat().st_mode & 0o777 == 0o700
        else:  # the server runs as whoever owns the folder: in the checkout
            cluster = clone / ".local" / "pg"
            assert (cluster / "data" / "PG_VERSION").exists() and not location.exists()
    finally:
        if cluster is not None and (cluster / "data").exists():
            pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
            stop = [str(pg_ctl), "-D", str(cluster / "data"), "-m", "immediate", "stop"]
            subprocess.run(["runuser", "-u", "postgres", "--", *stop] if os.geteuid() == 0 else stop,
                           capture_output=True)
            shutil.rmtree(cluster, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
