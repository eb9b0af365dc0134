"""Which inbox files a run should process (受信フォルダ).

A file is due when the date in its name falls before the end of the run's data
interval (late files of earlier periods included) and its bytes have not been
processed yet. Order matters for the registry: snapshots and diffs apply in date
order, a full snapshot before the diff of the same day, then the monthly lists.

The scan never raises for what lies in the inbox: every entry ends as a
manifest row, a load or one of `unrecognised` (a name no layout has, with its
bytes' hash), `unreadable` (permission denied, an I/O error) or `not a file`
(a directory, a dangling symbolic link), recorded once per entry and content.
Hidden entries (a leading dot) are transfers in progress (files.atomic_path
writes `.name.part`) and are left alone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kenshin.ingest.loading import EntryProblem, entry_sha256, ingest_file, record_entry
from kenshin.ingest.sources import detect
from kenshin.platform import config, db, vocabulary

_KIND_ORDER = {"full": 0, "diff": 1}
_SOURCE_ORDER = {"jumin": 0, "seiho": 1, "kokuho": 2, "kenshin": 3, "seiken": 4}


def file_date(name: str) -> dt.date | None:
    """The date (or first day of the month) a file's name carries."""
    source = detect(name)
    m = source.pattern.fullmatch(name) if source else None
    if not m:
        return None
    stamp = m.group("stamp")
    try:
        return dt.date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8]) if len(stamp) == 8 else 1)
    except ValueError:
        return None


def due_date(name: str) -> dt.date | None:
    """The business date from which a file is due (None: its name has no valid date)."""
    source, when = detect(name), file_date(name)
    return source.available_from(when) if source and when else None


def load_order(path: Path) -> tuple:
    name = path.name
    variant = "full" if name.endswith("_full.csv") else "diff"  # only the registry has two
    return (file_date(name) or dt.date.max, _SOURCE_ORDER.get(name.split("_")[0], 9), _KIND_ORDER[variant], name)


def inbox_dir() -> Path:
    path = config.data_dir() / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def due_files(sources: tuple[str, ...], interval_end: dt.datetime | None, inbox: Path | None = None, *, url: str | None = None) -> list[str]:
    """Paths due before `interval_end` (Asia/Tokyo business date), not yet
    processed. On the way every entry of the inbox this run is for that cannot
    load is recorded: a name of `sources`' layouts that is no readable file,
    and any name no layout has (either DAG's scan records it, once)."""
    inbox = inbox or inbox_dir()
    until = interval_end.astimezone(vocabulary.business_tz()).date() if interval_end else None
    candidates: list[tuple[Path, str]] = []
    unrecognised: list[tuple[Path, str]] = []
    for path in sorted(inbox.iterdir()):
        if path.name.startswith("."):
            continue
        source = detect(path.name)
        if source is not None:
            if source.name not in sources:
                continue
            when = due_date(path.name)
            # A name whose date does not exist is due at once: the loader rejects
            # it with a reason in ops instead of it lying in the inbox unnoticed.
            if not (when is None or until is None or when < until):
                continue
        try:
            sha, _ = entry_sha256(path)
        except EntryProblem as problem:
            record_entry(path, source.name if source else "unknown", problem.status, problem.reason, url=url)
            continue
        if source is None:
            unrecognised.append((path, sha))
            continue
        candidates.append((path, sha))
    if unrecognised:
        _record_unrecognised(unrecognised, url=url)
    if not candidates:
        return []
    with db.connect(url) as conn:
        seen = {row[0] for row in conn.execute(
            "select sha256 from ops.load_manifest where status in ('loaded', 'rejected', 'duplicate')")}
    return [str(p) for p, sha in sorted(candidates, key=lambda c: load_order(c[0])) if sha not in seen]


def _record_unrecognised(entries: list[tuple[Path, str]], *, url: str | None = None) -> None:
    """Entries whose name no layout has, each recorded once per name and bytes:
    `duplicate` when the bytes were loaded under another name (as the loader
    says of any name), `unrecognised` otherwise."""
    with db.connect(url) as conn:
        known = set(conn.execute(
            "select file_name, sha256 from ops.load_manifest where file_name = any(%s) and sha256 is not null",
            ([p.name for p, _ in entries],)).fetchall())
    for path, sha in entries:
        if (path.name, sha) not in known:
            ingest_file(path, url=url)


def ingest_in_order(files: list[str], path: str, run_id: str | None = None, *, url: str | None = None):
    """Load `path`, first loading every file before it in `files` that is not
    processed yet. Mapped tasks may run in any order; this keeps the ledger's
    date order whichever runs first (each file is still processed once: the
    loader's per-file lock and the manifest see to that). Returns the LoadResult
    of `path`, from the manifest when a predecessor's task already loaded it."""
    from kenshin.ingest.loading import result_from_manifest

    for earlier in files[: files.index(path)]:
        if result_from_manifest(Path(earlier), url=url) is None:
            ingest_file(earlier, url=url, run_id=run_id)
    return result_from_manifest(Path(path), url=url) or ingest_file(path, url=url, run_id=run_id)
