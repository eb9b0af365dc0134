"""Matching quality on a synthetic clinic month, against the generator's truth.

A small city (the full-scale figures are in `make bench`): every screening file
of the month goes through `kenshin ingest`'s code path on a ledger built from the
month's registry files, and the automatic links are compared with the truth.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kenshin.ingest.inbox import load_order
from kenshin.ingest.loading import ingest_file
from kenshin.lab.evaluation import clinic_quality
from kenshin.lab.synth import generate

pytestmark = pytest.mark.integration


def test_synthetic_month_links_precisely_and_completely(db_url, tmp_path):
    generate(6000, 3, tmp_path, dt.date(2026, 10, 1), 31)
    inbox = tmp_path / "inbox"
    # the registry, and the welfare and NHI lists: whether a PSA or welfare-check
    # record's person was a target on the exam date is checked after the link
    registry = [p for p in inbox.glob("*.csv") if p.name.startswith(("jumin_", "seiho_", "kokuho_"))
                and p.name != "jumin_20261101_full.csv"]
    for path in sorted(registry, key=load_order):
        assert ingest_file(path, url=db_url).status == "loaded", path.name
    for path in sorted(inbox.glob("kenshin_*_202610.csv")):
        assert ingest_file(path, url=db_url).status == "loaded", path.name
    q = clinic_quality(tmp_path / "truth", url=db_url)
    assert q.records > 300
    assert q.non_residents_linked == 0
    assert q.precision >= 0.9995, q
    assert q.recall >= 0.99, q
    assert q.review_share <= 0.01, q
