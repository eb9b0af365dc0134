"""Progress of long work (進捗表示): a bar on a terminal, plain lines in logs.

One small API for every long command (`kenshin synth`, `ingest`, `bench`,
`purge` ...)::

    from kenshin.platform import progress

    with progress.task("staging jumin_20261001_full.csv", total=rows, unit="rows") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))

On a terminal (stderr is a TTY) the bar is drawn by `rich` (a well-kept
library: bar, counts, rate and time left, redrawn in place; several tasks at
once share one display). Anywhere else (Airflow task logs, CI, a pipe) a task
writes plain log lines instead: when it starts, at most every
`progress.log_every_seconds` (include/config/platform.yaml) while it runs, and
when it ends, each with the count, the rate and the elapsed time.

Descriptions name steps and files, never personal data (they reach logs).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator

log = logging.getLogger("kenshin.progress")

_lock = threading.Lock()
_live = None          # the shared rich Progress while at least one task is drawn
_live_users = 0


def _settings() -> dict:
    from kenshin.platform import config

    return config.load("platform").get("progress", {})


def interactive() -> bool:
    """Draw bars: stderr is a terminal (KENSHIN_PROGRESS=plain|bar overrides)."""
    forced = os.environ.get("KENSHIN_PROGRESS", "").lower()
    if forced in ("plain", "bar"):
        return forced == "bar"
    return sys.stderr.isatty()


class Task:
    """One unit of long work; `advance(n)` as it goes."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.completed = 0
        self.started = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.completed += n

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.completed / elapsed if elapsed > 0 else 0.0

    def line(self, state: str) -> str:
        """`description: state 1,234/5,000 rows (24 %), 812 rows/s, 1.5 s` (no values)."""
        of = f"/{self.total:,}" if self.total is not None else ""
        share = f" ({100 * self.completed / self.total:.0f} %)" if self.total else ""
        return (f"{self.description}: {state} {self.completed:,}{of} {self.unit}{share}, "
                f"{self.rate():,.0f} {self.unit}/s, {time.monotonic() - self.started:.1f} s")

    def close(self, failed: bool) -> None:
        pass


class _LogTask(Task):
    """Plain lines for logs: start, at most every few seconds, end."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        super().__init__(description, total, unit)
        self.every = float(_settings().get("log_every_seconds", 10))
        self.last = self.started
        log.info("%s: started%s", description, f", {total:,} {unit}" if total is not None else "")

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            log.info("%s", self.line("at"))

    def close(self, failed: bool) -> None:
        (log.warning if failed else log.info)("%s", self.line("stopped at" if failed else "done"))


class _BarTask(Task):
    """A line of the shared rich display."""

    def __init__(self, description: str, total: int | None, unit: str) -> None:
        super().__init__(description, total, unit)
        global _live, _live_users
        with _lock:
            if _live is None:
                _live = _new_display()
                _live.start()
            _live_users += 1
            self.display = _live
            self.id = _live.add_task(description, total=total, unit=unit)

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        self.display.advance(self.id, n)

    def close(self, failed: bool) -> None:
        global _live, _live_users
        if not failed and self.total is None:
            self.display.update(self.id, total=self.completed)
        with _lock:
            _live_users -= 1
            if _live_users == 0:
                _live.stop()
                _live = None


def _new_display():
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second in the task's own unit (rich's speed column is for bytes)."""

        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} {task.fields['unit']}/s",
                        style="progress.data.speed")

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"), TaskProgressColumn(), RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=Console(file=sys.stderr), transient=False,
    )


@contextlib.contextmanager
def task(description: str, total: int | None = None, unit: str = "rows") -> Iterator[Task]:
    """A unit of long work: a bar on a terminal, log lines elsewhere.
    `total` may be unknown (None): then counts and rate without a share."""
    current = (_BarTask if interactive() else _LogTask)(description, total, unit)
    failed = True
    try:
        yield current
        failed = False
    finally:
        current.close(failed)
