"""Which inbox files a run should process (受信フォルダ).

A file is due when the date in its name falls before the end of the run's data
interval (late files of earlier periods included) and its bytes have not been
processed yet. Order matters for the registry: snapshots and diffs apply in date
order, a full snapshot before the diff of the same day, then the monthly lists.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kenshin import config, db
from kenshin.loading import sha256_of
from kenshin.sources import detect

_KIND_ORDER = {"full": 0, "diff": 1}
_SOURCE_ORDER = {"jumin": 0, "seiho": 1, "kokuho": 2}


def file_date(name: str) -> dt.date | None:
    """The date (or first day of the month) a file's name carries."""
    source = detect(name)
    m = source.pattern.fullmatch(name) if source else None
    if not m:
        return None
    stamp = m.group(1)
    try:
        return dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]) if len(stamp) == 8 else 1)
    except ValueError:
        return None


def _order(path: Path) -> tuple:
    name = path.name
    variant = "full" if name.endswith("_full.csv") else "diff"
    return (file_date(name), _SOURCE_ORDER.get(name.split("_")[0], 9), _KIND_ORDER[variant], name)


def inbox_dir() -> Path:
    path = config.data_dir() / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def due_files(url: str, sources: tuple[str, ...], interval_end: dt.datetime | None,
              inbox: Path | None = None) -> list[str]:
    """Paths due before `interval_end` (Asia/Tokyo business date), not yet processed."""
    inbox = inbox or inbox_dir()
    until = interval_end.astimezone(dt.timezone(dt.timedelta(hours=9))).date() if interval_end else None
    candidates = []
    for path in inbox.glob("*.csv"):
        source = detect(path.name)
        when = file_date(path.name)
        if source is None or source.name not in sources or when is None:
            continue
        if until is None or when < until:
            candidates.append(path)
    if not candidates:
        return []
    with db.connect(url) as conn:
        seen = {row[0] for row in conn.execute(
            "select sha256 from ops.load_manifest where status in ('loaded', 'rejected', 'duplicate')")}
    return [str(p) for p in sorted(candidates, key=_order) if sha256_of(p) not in seen]
