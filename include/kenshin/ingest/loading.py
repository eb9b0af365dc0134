"""The ingestion mechanism every source shares (取込): manifest → stage → gate → promote.

0. The file is copied once into a private receiving folder while it is
   hashed and its encoding sniffed: every later step reads the copy, so the
   bytes hashed are the bytes staged (a sender still writing the inbox file
   cannot make one load of two contents). An entry that cannot be read, or is
   no file, is recorded (`unreadable`, `not a file`), as is a name no layout
   has (`unrecognised`); none of them raises.
1. The file's sha256 is looked up: bytes already loaded (under any name) are
   recorded as `duplicate` and load nothing.
2. The envelope is checked (header of the right source, trailer present and
   equal to the number of D records); otherwise the whole file is `rejected`.
3. Staging transaction: a manifest row and every data line COPYed into the
   source's landing table, each with the row rule that failed, if any.
4. The Great Expectations gate validates the accepted landing rows of the load.
   A failed gate rejects the file and leaves core untouched.
5. Promotion transaction: late row rules, quarantine, promotion into core and
   the manifest's final counts commit together, or not at all.

Staging commits before the gate because GX reads through its own connection;
core and the manifest's `loaded` state change only in step 5, so a load killed
at any point leaves core as it was, and a rerun loads the file exactly once.
Rows in file = loaded + quarantined + review holds for every loaded file and is
enforced by a CHECK on ops.load_manifest. A fault of the loader itself on one
file's content rejects that file with the exception's type (never its message,
which may quote a value), so the files after it still load; only a fault of
the machine (a lost connection, a full disk) propagates and the task is retried.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import errno
import hashlib
import logging
import multiprocessing
import os
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy.exc

from kenshin.ingest.rejections import ENTRY_STATUSES, NOT_A_FILE, UNREADABLE, UNRECOGNISED
from kenshin.ingest.sources import detect
from kenshin.ingest.sources.base import FileMeta, PromotionRefused, RowError, Source, copy_field
from kenshin.platform import config, db, progress
from kenshin.platform.envelope import (
    BOM,
    FileRejected,
    Utf8Sniffer,
    decode_line,
    iter_records,
    read_envelope,
)

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    """What happened to one file; `summary()` is the CLI's JSON object."""

    file: str
    source: str
    status: str  # loaded | rejected | duplicate, or unrecognised | unreadable | not a file (ENTRY_STATUSES)
    rows: int = 0
    loaded: int = 0
    quarantined: int = 0
    review: int = 0
    reason: str | None = None
    load_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    path: str | None = None

    def summary(self) -> dict[str, Any]:
        keys = ("file", "source", "status", "rows", "loaded", "quarantined", "review", "reason", "load_id")
        return {k: v for k, v in asdict(self).items() if k in keys}


def run_totals(summaries: list[dict[str, Any]]) -> dict[str, int]:
    """Totals of a run's per-file summaries (what a DAG reports when it publishes)."""
    totals = {k: sum(r[k] for r in summaries) for k in ("rows", "loaded", "quarantined", "review")}
    totals["files"] = len(summaries)
    return totals


UNRECOGNISED_REASON = "file name matches no layout (LAYOUTS.md)"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EntryProblem(Exception):
    """An inbox entry that is no readable regular file: its manifest status and
    reason (names the kind of entry or the system's error, never a content)."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def entry_problem(path: Path, exc: OSError | None = None) -> EntryProblem:
    """What an entry that could not be opened as a file is (`not a file` or `unreadable`)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return EntryProblem(UNREADABLE, "no longer in the inbox when it was read")
    except OSError as err:
        return EntryProblem(UNREADABLE, f"cannot be read: {os.strerror(err.errno or errno.EIO)}")
    if stat.S_ISLNK(st.st_mode) and not path.exists():
        return EntryProblem(NOT_A_FILE, "a symbolic link to nothing (dangling)")
    if path.is_dir():
        return EntryProblem(NOT_A_FILE, "a directory, not a file")
    if not path.is_file():
        return EntryProblem(NOT_A_FILE, "not a regular file")
    code = exc.errno if exc is not None and exc.errno else errno.EIO
    return EntryProblem(UNREADABLE, f"cannot be read: {os.strerror(code)}")


def entry_sha256(path: Path) -> tuple[str, int]:
    """sha256 and size of an inbox entry's bytes; EntryProblem for an entry
    that is no readable regular file (checked before opening: opening a FIFO
    would wait for a writer)."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise entry_problem(path)
        return sha256_of(path), st.st_size
    except OSError as exc:
        raise entry_problem(path, exc) from None


@dataclass
class Received:
    """A private copy of an inbound file, and what reading it once learnt."""

    copy: Path
    sha256: str
    size: int
    bom: bool
    utf8_japanese: bool


def receiving_dir() -> Path:
    path = config.data_dir() / "receiving"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _sweep_receiving(folder: Path) -> None:
    """Copies left by a killed load of this host (its process is gone): they
    hold the same personal data as the inbox file and serve nothing now."""
    host = socket.gethostname()
    for old in folder.glob(f"{host}-*"):
        try:
            pid = int(old.name.split("-")[1])
            os.kill(pid, 0)
        except ProcessLookupError:
            old.unlink(missing_ok=True)
        except (ValueError, IndexError, PermissionError, OSError):
            continue


@contextlib.contextmanager
def received(path: Path):
    """Copy `path` once into the receiving folder, hashing and sniffing the
    bytes as they pass; yields a Received and removes the copy afterwards.
    Raises EntryProblem for an entry that is no readable regular file."""
    folder = receiving_dir()
    _sweep_receiving(folder)
    try:
        # before opening: opening a FIFO would wait for a writer
        if not stat.S_ISREG(path.stat().st_mode):
            raise entry_problem(path)
        src = open(path, "rb")  # noqa: SIM115 (closed below: its errors differ from the copy's)
    except OSError as exc:
        raise entry_problem(path, exc) from None
    h, sniffer, size, bom = hashlib.sha256(), Utf8Sniffer(), 0, False
    fd, name = tempfile.mkstemp(prefix=f"{socket.gethostname()}-{os.getpid()}-", suffix=".csv", dir=folder)
    copy = Path(name)
    try:
        with src, os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = src.read(1 << 20)
                except OSError as exc:
                    raise entry_problem(path, exc) from None
                if not chunk:
                    break
                if not size:
                    bom = chunk.startswith(BOM)
                h.update(chunk)
                sniffer.feed(chunk)
                out.write(chunk)
                size += len(chunk)
            sniffer.feed(b"", final=True)
        yield Received(copy, h.hexdigest(), size, bom, sniffer.utf8_japanese)
    finally:
        copy.unlink(missing_ok=True)


def source_name(source: Source | None) -> str:
    return source.name if source else "unknown"


def _lock_key(sha: str) -> int:
    return int(sha[:15], 16)


def ingest_file(path: str | os.PathLike, *, run_id: str | None = None, url: str | None = None) -> LoadResult:
    """Load one inbound file through the whole mechanism. Never raises for what
    is in the inbox (an entry that is no readable file, a name no layout has,
    bad bytes, or a fault of the loader on them): each ends as a manifest row.
    Only a fault of the machine (_ENVIRONMENT_FAULTS) propagates: the caller retries."""
    path = Path(path)
    name = path.name
    source = detect(name)
    url = url or db.database_url()
    try:
        with received(path) as rec, db.connect(url, autocommit=True) as conn:
            # One load per source (or per sender, for sources whose senders' files
            # commute) at a time, and one per file bytes across sources.
            lock = source.lock_name(name) if source else "kenshin:source:unknown"
            conn.execute("select pg_advisory_lock(hashtext(%s))", (lock,))
            conn.execute("select pg_advisory_lock(%s)", (_lock_key(rec.sha256),))
            try:
                return _ingest_locked(conn, url, path, source, rec, run_id)
            except _ENVIRONMENT_FAULTS:
                raise  # nothing was decided about the file: the task is retried
            except Exception as exc:
                return _loader_fault(conn, path, source, rec, run_id, exc)
            finally:
                # a lost connection released its locks with it
                with contextlib.suppress(psycopg.OperationalError, psycopg.InterfaceError):
                    conn.execute("select pg_advisory_unlock_all()")
    except EntryProblem as problem:
        return record_entry(path, source_name(source), problem.status, problem.reason, run_id=run_id, url=url)


# Faults of the machine, not of a file's content: a lost database connection
# (ours or the gate's), a full disk, no memory. They propagate so that the load
# is retried; anything else raised while loading one file rejects that file.
_ENVIRONMENT_FAULTS = (psycopg.OperationalError, psycopg.InterfaceError, sqlalchemy.exc.OperationalError,
                       OSError, MemoryError)


def record_entry(path: Path, source: str, status: str, reason: str, *, sha: str | None = None,
                 size: int | None = None, run_id: str | None = None, conn: psycopg.Connection | None = None,
                 url: str | None = None) -> LoadResult:
    """The manifest row of an inbox entry that is no load (ENTRY_STATUSES), once
    per entry and content: a rerun finding the same entry unchanged adds none.
    Written on `conn` when given (a load that holds the file's lock), else on a
    connection of its own."""
    name = path.name
    reason = f"{name}: {reason}"
    with contextlib.nullcontext(conn) if conn is not None else db.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """insert into ops.load_manifest (file_name, source, sha256, size_bytes, status, reason, run_id,
                                              finished_at)
               values (%s, %s, %s, %s, %s, %s, %s, now())
               on conflict do nothing returning load_id""",
            (name, source, sha, size, status, reason, run_id)).fetchone()
        if row is not None:
            log.warning("%s file=%s load=%s %s", status, name, row[0], reason)
        else:
            row = conn.execute(
                """select load_id from ops.load_manifest
                    where file_name = %s and status = %s and reason = %s and sha256 is not distinct from %s
                    order by load_id limit 1""", (name, status, reason, sha)).fetchone()
    return LoadResult(name, source, status, reason=reason, load_id=row[0] if row else None, path=str(path))


def _loader_fault(conn: psycopg.Connection, path: Path, source: Source | None, rec: Received,
                  run_id: str | None, exc: Exception) -> LoadResult:
    """A fault of the loader itself on this file's content: the file is rejected
    naming the exception's type and the step's load (never its message, which
    may quote a value), so the files after it still load and a rerun does not
    trip on it again. The landing rows of a load it interrupted stay for a
    developer, as a gate failure's do."""
    log.error("loader fault file=%s %s", path.name, type(exc).__name__)
    reason = f"{path.name}: loader fault ({type(exc).__name__}); kept for a developer, nothing promoted"
    try:
        rows = _count_data_lines(rec.copy)
    except Exception:  # the count is for the page only
        rows = 0
    staging = conn.execute(
        "select load_id from ops.load_manifest where sha256 = %s and status = 'staging' "
        "order by load_id desc limit 1", (rec.sha256,)).fetchone()
    if staging:
        return _rejected(conn, path, source_name(source), rows, reason, load_id=staging[0])
    return _rejected(conn, path, source_name(source), rows, reason, new=(rec.sha256, rec.size, run_id))


def _ingest_locked(conn: psycopg.Connection, url: str, path: Path, source: Source | None, rec: Received,
                   run_id: str | None) -> LoadResult:
    name, sha, size, copy = path.name, rec.sha256, rec.size, rec.copy
    _abandon_interrupted(conn, sha)
    earlier = conn.execute(
        "select load_id from ops.load_manifest where sha256 = %s and status = 'loaded'", (sha,)
    ).fetchone()
    if earlier:
        load_id = _manifest(conn, name, source_name(source), sha, size, "duplicate", run_id,
                            reason=f"same bytes as load {earlier[0]}", duplicate_of=earlier[0])
        log.info("duplicate file=%s same as load %s", name, earlier[0])
        return LoadResult(name, source_name(source), "duplicate", reason=f"same bytes as load {earlier[0]}",
                          load_id=load_id, path=str(path))
    if source is None:
        return record_entry(path, "unknown", UNRECOGNISED, UNRECOGNISED_REASON, sha=sha, size=size,
                            run_id=run_id, conn=conn)
    try:
        if source.encoding == "cp932" and not rec.bom and rec.utf8_japanese:
            # CP932 would decode most of it into mojibake that then loads
            raise FileRejected(name, "encoding: UTF-8 without a byte order mark, expected CP932 "
                                     "(LAYOUTS.md: UTF-8 only after a BOM)")
        envelope = read_envelope(copy, name, source.kind, source.encoding)
        meta = source.read_header(envelope.header, name)
        source.check_order(conn, meta, name)
    except FileRejected as exc:
        rows = _count_data_lines(copy)
        return _rejected(conn, path, source.name, rows, str(exc), new=(sha, size, run_id))

    t0 = time.monotonic()
    try:
        with conn.transaction():
            load_id = _manifest(conn, name, source.name, sha, size, "staging", run_id,
                                encoding=envelope.encoding, meta=meta, rows=envelope.data_count)
            _stage(conn, copy, name, source, meta, load_id, envelope.encoding, envelope.data_count)
            source.stage_rejects(conn, load_id)
    except psycopg.errors.DataError as exc:
        # COPY refused the staged text: the staging rolled back. Only the primary
        # message is kept (its CONTEXT line would quote the whole row).
        reason = f"{name}: staging refused: {exc.diag.message_primary}"
        return _rejected(conn, path, source.name, envelope.data_count, reason, new=(sha, size, run_id))
    t1 = time.monotonic()
    log.info("staged file=%s load=%s rows=%s in %.1f s", name, load_id, envelope.data_count, t1 - t0)

    from kenshin.ingest.gate import (
        run_gate,  # GX is heavy to import: only when a file gets this far
    )

    gate = run_gate(source, source.suite_name(meta), load_id, source.gate_parameters(conn, load_id, meta), url=url)
    t2 = time.monotonic()
    log.info("gate file=%s load=%s passed=%s in %.1f s", name, load_id, gate.success, t2 - t1)
    if not gate.success:
        return _rejected(conn, path, source.name, envelope.data_count, "gate failed: " + "; ".join(gate.failed),
                         load_id=load_id, gate_passed=False)

    try:
        with conn.transaction():
            source.late_rejects(conn, load_id)
            conn.execute(
                f"""insert into ops.quarantine (load_id, line_no, field, reason)
                    select load_id, line_no, reject_field, reject_reason from {source.table}
                     where load_id = %s and reject_reason is not null""", (load_id,))
            staged = conn.execute(f"select count(*) from {source.table} where load_id = %s",
                                  (load_id,)).fetchone()[0]
            counts = source.promote(conn, load_id, meta)
            loaded = source.loaded_count(conn, load_id)
            quarantined, review = _quarantined_and_review(conn, load_id)
            # Every line of the file is accounted for by what was written, not by subtraction.
            if staged != envelope.data_count or loaded + quarantined + review != envelope.data_count:
                raise PromotionRefused(f"reconciliation failed: {envelope.data_count} lines, {staged} staged, "
                                       f"{loaded} loaded, {quarantined} quarantined, {review} in review")
            conn.execute(
                """update ops.load_manifest
                      set status = 'loaded', gate_passed = true, rows_loaded = %s, rows_quarantined = %s,
                          rows_review = %s, finished_at = now()
                    where load_id = %s""", (loaded, quarantined, review, load_id))
    except (PromotionRefused, psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        # The promotion rolled back; core is as it was. Only the primary message
        # is kept: a database error's DETAIL can quote the values of a row.
        diag = getattr(exc, "diag", None)
        why = (diag.message_primary if diag is not None and diag.message_primary else str(exc).splitlines()[0])
        return _rejected(conn, path, source.name, envelope.data_count, f"{name}: promotion refused: {why}",
                         load_id=load_id, gate_passed=True)
    source.after_load(conn, load_id)
    log.info("loaded file=%s load=%s loaded=%s quarantined=%s review=%s promoted in %.1f s",
             name, load_id, loaded, quarantined, review, time.monotonic() - t2)
    return LoadResult(name, source.name, "loaded", rows=envelope.data_count, loaded=loaded,
                      quarantined=quarantined, review=review, load_id=load_id, counts=counts,
                      path=str(path))


def _rejected(conn: psycopg.Connection, path: Path, source_name: str, rows: int, reason: str, *,
              new: tuple[str, int, str | None] | None = None, load_id: int | None = None,
              gate_passed: bool | None = None) -> LoadResult:
    """The one way a file ends rejected: the manifest says why, the log names the
    file and load, and the result carries the same reason (file, line and field,
    never a value). A file refused before its load began gets its manifest row
    here (`new`: sha256, size, run id); a load refused at the gate or at
    promotion has one (`load_id`) and records whether the gate passed."""
    if new is not None:
        sha, size, run_id = new
        load_id = _manifest(conn, path.name, source_name, sha, size, "rejected", run_id, reason=reason, rows=rows)
    else:
        conn.execute("update ops.load_manifest set status = 'rejected', reason = %s, gate_passed = %s, "
                     "finished_at = now() where load_id = %s", (reason, gate_passed, load_id))
    log.warning("rejected file=%s load=%s %s", path.name, load_id, reason)
    return LoadResult(path.name, source_name, "rejected", rows=rows, reason=reason, load_id=load_id,
                      path=str(path))


def _quarantined_and_review(conn: psycopg.Connection, load_id: int) -> tuple[int, int]:
    return conn.execute(
        """select (select count(*) from ops.quarantine where load_id = %(load)s),
                  (select count(*) from ops.review_item where load_id = %(load)s and status = 'open')""",
        {"load": load_id}).fetchone()


def result_from_manifest(path: Path, *, url: str | None = None) -> LoadResult | None:
    """The outcome of the newest terminal load of these bytes, if any (None
    also for an entry that cannot be read: loading it records why)."""
    try:
        sha, _ = entry_sha256(path)
    except EntryProblem:
        return None
    with db.connect(url) as conn:
        row = conn.execute(
            """select file_name, source, status, coalesce(rows_in_file, 0), coalesce(rows_loaded, 0),
                      coalesce(rows_quarantined, 0), rows_review, reason, load_id
                 from ops.load_manifest where sha256 = %s and file_name = %s
                  and status in ('loaded', 'rejected')
                order by load_id desc limit 1""", (sha, path.name)).fetchone()
    if row is None:
        return None
    return LoadResult(*row, path=str(path))


def _manifest(conn: psycopg.Connection, name: str, source: str, sha: str, size: int, status: str,
              run_id: str | None, *, reason: str | None = None, duplicate_of: int | None = None,
              encoding: str | None = None, meta: FileMeta | None = None, rows: int | None = None) -> int:
    done = status in ("rejected", "duplicate")
    return conn.execute(
        """insert into ops.load_manifest (file_name, source, sha256, size_bytes, encoding, file_date, period,
                                          sender, status, reason, rows_in_file, duplicate_of, run_id, finished_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, case when %s then now() end)
           returning load_id""",
        (name, source, sha, size, encoding, meta.file_date if meta else None, meta.period if meta else None,
         meta.sender if meta else None, status, reason, rows, duplicate_of, run_id, done),
    ).fetchone()[0]


def _abandon_interrupted(conn: psycopg.Connection, sha: str) -> None:
    """Loads of these bytes left in `staging` by a killed run: their landing rows
    go and the manifest says why (the caller holds the file's advisory lock)."""
    stale = conn.execute(
        "select load_id, source from ops.load_manifest where sha256 = %s and status = 'staging'", (sha,)
    ).fetchall()
    for load_id, source_name in stale:
        source = detect_by_name(source_name)
        with conn.transaction():
            if source:
                conn.execute(f"delete from {source.table} where load_id = %s", (load_id,))
            conn.execute(
                "update ops.load_manifest set status = 'abandoned', finished_at = now(), "
                "reason = 'interrupted before promotion; loaded again by a later run' where load_id = %s",
                (load_id,))
        log.warning("abandoned interrupted load=%s", load_id)


def detect_by_name(source_name: str) -> Source | None:
    from kenshin.ingest.sources import SOURCE_CLASSES

    for cls in SOURCE_CLASSES:
        if cls.name == source_name:
            return cls()
    return None


def _count_data_lines(path: Path) -> int:
    return sum(1 for _, record in iter_records(path) if record.startswith(b"D"))


def _split(text: str) -> list[str]:
    # Most records hold no quotes: a plain split is exact for them and far
    # faster than a csv reader per line; quoted records go through csv.
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader([text]))
    except csv.Error:
        raise RowError("record", "not a valid CSV record") from None


# Fingerprints of lines already promoted, in a staging worker process
# (set once per worker by _init_worker: shipping them with every chunk would
# pickle the whole set again each time).
_worker_known: set[bytes] = set()


def _init_worker(known: set[bytes]) -> None:
    global _worker_known
    _worker_known = known


def _format_chunk(source: Source, meta: FileMeta, encoding: str, load_id: int,
                  lines: list[tuple[int, bytes]], known: set[bytes] | None = None) -> str:
    """Landing rows in COPY text format for a chunk of (line number, raw line).

    A line whose fingerprint is in `known` (default: this worker's set) was
    validated and promoted before, byte for byte: it lands narrow, with only
    what identifies it, and none of the row rules run again."""
    known = _worker_known if known is None else known
    fingerprint = source.fingerprinter(meta, encoding)
    no_values = ["\\N"] * len(source.value_columns)
    no_raw = ["\\N"] * len(source.raw_columns)
    no_reject = ["\\N", "\\N"]
    no_fingerprint = ["\\N", "f"] if source.fingerprinted else []
    prefix = f"{load_id}\t"
    raw_of, row_values = source.raw, source.row_values
    out: list[str] = []
    for line_no, raw_line in lines:
        seen = no_fingerprint
        if fingerprint is not None:
            digest = fingerprint(raw_line)
            if digest in known:
                raw = [copy_field(v) for v in source.unchanged_raw(_split(decode_line(raw_line, encoding)))]
                out.append(prefix + str(line_no) + "\t"
                           + "\t".join(raw + no_values + [copy_field(digest), "t"] + no_reject))
                continue
            seen = [copy_field(digest), "f"]
        text = decode_line(raw_line, encoding)
        if text is None:
            raw, values, reject = no_raw, no_values, ["record", f"not valid {encoding} text"]
        elif "\x00" in text:  # PostgreSQL text cannot hold NUL
            raw, values, reject = no_raw, no_values, ["record", "contains a NUL character"]
        else:
            try:
                fields = _split(text)
            except RowError as exc:
                out.append(prefix + str(line_no) + "\t"
                           + "\t".join(no_raw + no_values + seen + [exc.field, exc.reason]))
                continue
            raw = raw_of(fields)
            # a record may hold a line break inside quotes (RFC 4180)
            escape = "\\" in text or "\t" in text or "\r" in text or "\n" in text
            if escape or None in raw:
                raw = [copy_field(v) for v in raw]
            try:
                # normalized values always escape: NFKC makes ＼ a backslash
                values = [copy_field(v) for v in row_values(fields, meta)]
                reject = no_reject
            except RowError as exc:
                values, reject = no_values, [exc.field, exc.reason]
        out.append(prefix + str(line_no) + "\t" + "\t".join(raw + values + seen + reject))
    return "\n".join(out) + "\n" if out else ""


def _chunks(path: Path, data_count: int, size: int) -> Iterator[list[tuple[int, bytes]]]:
    """The data records (the header is the first record, the trailer the one
    after the last data record), each with the file line it starts on."""
    chunk: list[tuple[int, bytes]] = []
    for index, (line_no, raw_line) in enumerate(iter_records(path)):
        if 0 < index <= data_count:
            chunk.append((line_no, raw_line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _stage(conn: psycopg.Connection, path: Path, name: str, source: Source, meta: FileMeta, load_id: int,
           encoding: str, data_count: int) -> None:
    """COPY every data line into the landing table, each with its row-rule outcome.

    Row rules are pure Python per line (Japanese normalization, era dates,
    encryption of the individual number); a large file spreads them over
    worker processes (`loading.staging_workers`) while this process feeds COPY,
    keeping the chunks in file order and at most a few in flight (bounded memory).
    """
    settings = config.load("platform")["loading"]
    size = int(settings["copy_chunk_rows"])
    workers = int(settings["staging_workers"])
    cols = ", ".join(source.landing_columns)
    chunks = _chunks(path, data_count, size)
    known = source.known_fingerprints(conn, meta) if source.fingerprinter(meta, encoding) else set()
    with (progress.task(f"staging {name}", total=data_count, unit="rows") as bar,
          conn.cursor().copy(f"copy {source.table} ({cols}) from stdin") as copy):
        if workers <= 1 or data_count <= size:
            for chunk in chunks:
                copy.write(_format_chunk(source, meta, encoding, load_id, chunk, known))
                bar.advance(len(chunk))
            return
        context = multiprocessing.get_context("spawn")  # no inherited sockets or locks
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                                                    initargs=(known,)) as pool:
            pending: collections.deque = collections.deque()
            for chunk in chunks:
                pending.append((len(chunk), pool.submit(_format_chunk, source, meta, encoding, load_id, chunk)))
                if len(pending) > 2 * workers:
                    rows, future = pending.popleft()
                    copy.write(future.result())
                    bar.advance(rows)
            while pending:
                rows, future = pending.popleft()
                copy.write(future.result())
                bar.advance(rows)


def record_outcomes(result: LoadResult, *, url: str | None = None) -> Iterator[dict[str, Any]]:
    """One dict per data record of a processed file (`kenshin ingest --report`)."""
    if result.status in ("duplicate", *ENTRY_STATUSES):
        return
    if result.status == "rejected" and not _was_staged(result, url):
        for line_no, line in iter_records(result.path):
            if line.startswith(b"D"):
                yield {"file": result.file, "line_no": line_no, "outcome": "rejected",
                       "reason": result.reason, "addressee_id": None}
        return
    source = detect_by_name(result.source)
    with db.connect(url) as conn:
        rows = conn.execute(
            f"""select l.line_no, q.field, q.reason, r.reason,
                       {"m.addressee_id" if source.has_review else "landing.ascii_digits(l.addressee_id)"}
                  from {source.table} l
                  left join ops.quarantine q on q.load_id = l.load_id and q.line_no = l.line_no
                  left join ops.review_item r on r.load_id = l.load_id and r.line_no = l.line_no
                                              and r.status = 'open'
                  {"left join ops.record_match m on m.load_id = l.load_id and m.line_no = l.line_no"
                   if source.has_review else ""}
                 where l.load_id = %s order by l.line_no""", (result.load_id,))
        for line_no, field_name, reason, review_reason, addressee_id in rows:
            if result.status == "rejected":
                outcome, why = "rejected", result.reason
            elif reason:
                outcome, why = "quarantined", f"{field_name}: {reason}"
            elif review_reason:
                outcome, why = "review", review_reason
            else:
                outcome, why = "loaded", None
            yield {"file": result.file, "line_no": line_no, "outcome": outcome, "reason": why,
                   "addressee_id": addressee_id if outcome == "loaded" else None}


def _was_staged(result: LoadResult, url: str | None) -> bool:
    if result.load_id is None:
        return False
    with db.connect(url) as conn:
        row = conn.execute("select encoding from ops.load_manifest where load_id = %s",
                           (result.load_id,)).fetchone()
    return bool(row and row[0])
