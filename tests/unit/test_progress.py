"""kenshin.platform.progress: a bar on a terminal, plain lines with counts and rate in logs."""

from __future__ import annotations

import logging
import os
import pty
import subprocess
import sys

from kenshin.platform import progress


def test_plain_lines_in_logs_name_the_step_with_counts_and_rate(monkeypatch, caplog):
    monkeypatch.setenv("KENSHIN_PROGRESS", "plain")
    caplog.set_level(logging.INFO, logger="kenshin.progress")
    with progress.task("staging jumin_20261001_full.csv", total=5, unit="rows") as bar:
        for _ in range(5):
            bar.advance()
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "staging jumin_20261001_full.csv: started, 5 rows"
    assert lines[-1].startswith("staging jumin_20261001_full.csv: done 5/5 rows (100 %), ")
    assert "rows/s" in lines[-1]


def test_a_failure_says_where_the_work_stopped(monkeypatch, caplog):
    monkeypatch.setenv("KENSHIN_PROGRESS", "plain")
    caplog.set_level(logging.INFO, logger="kenshin.progress")
    try:
        with progress.task("ingest", unit="files") as bar:
            bar.advance(2)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert caplog.records[-1].levelname == "WARNING"
    assert caplog.records[-1].getMessage().startswith("ingest: stopped at 2 files, ")


def test_kenshin_synth_draws_a_bar_on_a_terminal_and_writes_lines_to_a_pipe(tmp_path):
    kenshin = os.path.join(os.path.dirname(sys.executable), "kenshin")
    args = [kenshin, "synth", "--residents", "200", "--days", "2", "--out"]
    env = {k: v for k, v in os.environ.items() if k != "KENSHIN_PROGRESS"}
    piped = subprocess.run([*args, str(tmp_path / "piped")], capture_output=True, text=True, env=env, check=True)
    assert "synthetic city (200 residents): done 2/2 days (100 %)" in piped.stderr
    assert "\x1b[" not in piped.stderr  # no terminal control codes in logs

    pid, fd = pty.fork()
    if pid == 0:  # the child: kenshin on a pseudo-terminal
        os.execve(kenshin, [*args, str(tmp_path / "tty")], {**env, "COLUMNS": "160"})
    screen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    os.waitpid(pid, 0)
    text = screen.decode("utf-8", "replace")
    assert "━" in text and "2/2" in text and "days/s" in text
