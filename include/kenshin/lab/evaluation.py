"""Matching quality against the synthetic city's ground truth (bench and demo only).

The truth (`truth/clinic_records.parquet`, written by `kenshin synth`) says
which addressee each clinic record belongs to (null for a non-resident). This
module reads the matcher's outcomes from `ops.record_match` and prints
precision of the automatic links, recall, the review share and whether any
non-resident was linked. Never used by the pipeline itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import pyarrow.parquet as pq

from kenshin.platform import db


@dataclass
class Quality:
    records: int
    linked: int
    linked_correct: int
    review: int
    returned: int
    residents: int
    non_residents_linked: int
    precision: float
    recall: float
    review_share: float

    def as_dict(self) -> dict:
        return asdict(self)


def clinic_quality(truth_dir: Path, *, source: str = "kenshin", url: str | None = None) -> Quality:
    """Compare automatic links (method other than `review`) of every loaded
    clinic file with the truth, record by record (file and line)."""
    truth = pq.read_table(Path(truth_dir) / "clinic_records.parquet").to_pydict()
    expected = {(f, line): aid for f, line, aid in zip(truth["file"], truth["line"], truth["addressee_id"],
                                                          strict=True)}
    with psycopg.connect(url or db.database_url()) as conn:
        rows = conn.execute(
            """select m.file_name, r.line_no, r.outcome, r.addressee_id, r.method
                 from ops.record_match r join ops.load_manifest m using (load_id)
                where m.source = %s and m.status = 'loaded'""", (source,)).fetchall()
    linked = correct = review = returned = non_resident_linked = 0
    for file_name, line_no, outcome, addressee_id, method in rows:
        want = expected.get((file_name, line_no))
        if outcome == "linked" and method != "review":
            linked += 1
            correct += addressee_id == want
            non_resident_linked += want is None
        elif outcome == "review":
            review += 1
        else:
            returned += 1
    scored = {(f, line) for f, line, *_ in rows}
    residents = sum(1 for key, aid in expected.items() if aid is not None and key in scored)
    return Quality(
        records=len(rows), linked=linked, linked_correct=correct, review=review, returned=returned,
        residents=residents, non_residents_linked=non_resident_linked,
        precision=correct / linked if linked else 1.0, recall=correct / residents if residents else 1.0,
        review_share=review / len(rows) if rows else 0.0,
    )
