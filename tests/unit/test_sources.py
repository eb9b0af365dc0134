"""Every layout's parser declares what the shared loader needs."""

import pytest

from kenshin.ingest.sources import SOURCE_CLASSES, detect
from kenshin.ingest.sources.base import Source


def test_a_source_missing_its_row_rules_cannot_exist():
    class Incomplete(Source):
        def read_header(self, header, file_name):
            return None

    with pytest.raises(TypeError, match="promote"):
        Incomplete()


@pytest.mark.parametrize("name,source", [
    ("jumin_20261001_full.csv", "jumin"), ("jumin_20261002_diff.csv", "jumin"),
    ("seiho_202610.csv", "seiho"), ("kokuho_202610.csv", "kokuho"), ("kenshin_x.csv", None),
])
def test_sources_are_found_by_file_name(name, source):
    found = detect(name)
    assert (found.name if found else None) == source


def test_landing_columns_are_consistent():
    for cls in SOURCE_CLASSES:
        cols = cls().landing_columns
        assert len(cols) == len(set(cols)), cls.name
        assert cols[:2] == ("load_id", "line_no") and cols[-2:] == ("reject_field", "reject_reason")
