"""Network simulator for the demo and the tests (`kenshin exchange simulate`):
the integration platform and the previous municipalities behind it.

It reads the request files the platform wrote (`outbox/linkage/shokai_req_*`)
and writes response files (`inbox/shokai_res_YYYYMMDD_NNN.csv`, LAYOUTS.md §6)
from the synthetic history the previous municipalities hold
(`truth/previous_municipalities.parquet`, written by `kenshin synth`). Each
request gets, by a draw from its id: an answer after 1-5 days (`00` with the
records of the fiscal years asked for, or `01` when there are none); `02`
(manual response pending) and the answer 20 days later; `09` (an error); or no
answer at all. Nothing else in the platform knows it is a simulator: it only
reads and writes files in the layouts.

Its own state (which requests it has seen, the responses not yet due) lives in
`exchange/state.json` beside the data.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

from kenshin.platform import config
from kenshin.platform.envelope import write_records
from kenshin.programmes import rules as programmes

# shares of what a request gets (the rest: answered after 1-5 days)
SHARES = {"09": 0.05, "02": 0.07, "silent": 0.05}
MANUAL_DAYS = 20


def _draw(request_id: str, salt: str) -> float:
    return int(hashlib.sha256(f"{salt}:{request_id}".encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def _history(data: Path) -> dict[str, list[tuple]]:
    import pyarrow.parquet as pq

    path = data / "truth" / "previous_municipalities.parquet"
    out: dict[str, list[tuple]] = {}
    if path.exists():
        for row in pq.read_table(path).to_pylist():
            out.setdefault(row["addressee_id"], []).append(
                (row["exam_type"], row["exam_date"], row["result_code"], row["followup_outcome"]))
    return out


def plan(request: list[str], sent: dt.date, history: dict[str, list[tuple]],
         shares: dict[str, float] | None = None, fixed: dict[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """The responses to one request: (day due, D row without the record type).
    `fixed` (tests): addressee id → the outcome ("09", "02", "silent", "answer")
    their requests get, instead of a draw by request id."""
    request_id, aid, previous, fy_from, fy_to = request
    shares = shares or SHARES
    if fixed and aid in fixed:
        outcome = fixed[aid]
    else:
        u, outcome = _draw(request_id, "outcome"), "answer"
        for kind in ("09", "silent", "02"):
            if u < shares[kind]:
                outcome = kind
                break
            u -= shares[kind]
    delay = 1 + int(_draw(request_id, "delay") * 5)
    due = (sent + dt.timedelta(days=delay)).isoformat()
    empty = ["", "", "", ""]
    if outcome == "09":
        return [(due, [request_id, "09", previous, "E001", "", "", ""])]
    if outcome == "silent":
        return []
    answer = [[request_id, "00", previous, t, f"{d:%Y%m%d}", r, o]
              for t, d, r, o in sorted(history.get(aid, []))
              if int(fy_from) <= programmes.fiscal_year(d) <= int(fy_to)] or [[request_id, "01", previous, *empty]]
    if outcome == "02":
        later = (sent + dt.timedelta(days=delay + MANUAL_DAYS)).isoformat()
        return [(due, [request_id, "02", previous, *empty])] + [(later, row) for row in answer]
    return [(due, row) for row in answer]


def simulate(as_of: dt.date, data: Path | None = None, shares: dict[str, float] | None = None,
             fixed: dict[str, str] | None = None) -> dict:
    """Answer the request files not seen yet; write the responses due by `as_of`."""
    data = data or config.data_dir()
    state_path = data / "exchange" / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {"seen": [], "pending": []}
    history = _history(data)
    for path in sorted((data / "outbox" / "linkage").glob("shokai_req_*.csv")):
        if path.name in state["seen"]:
            continue
        sent = dt.datetime.strptime(path.name[11:19], "%Y%m%d").date()
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                if row and row[0] == "D":
                    state["pending"] += [[due, r] for due, r in plan(row[1:6], sent, history, shares, fixed)]
        state["seen"].append(path.name)
    due = sorted(p for p in state["pending"] if p[0] <= as_of.isoformat())
    state["pending"] = [p for p in state["pending"] if p[0] > as_of.isoformat()]
    inbox = data / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for day in sorted({d for d, _ in due}):
        stamp = day.replace("-", "")
        number = 1 + len(list(inbox.glob(f"shokai_res_{stamp}_*.csv")))
        path = inbox / f"shokai_res_{stamp}_{number:03d}.csv"
        write_records(path, ["H", "SHOKAI_RES", f"{day}T09:00:00+09:00"],
                      [["D", *r] for d, r in due if d == day], encoding="utf-8")
        written.append(str(path))
    state_path.parent.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state))
    return {"as_of": as_of.isoformat(), "files": written, "responses": len(due), "pending": len(state["pending"])}
