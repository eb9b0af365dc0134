"""The published statistics explain themselves in the database: every `stats`
table and column carries the YAML's description (English with the Japanese
term) as a comment, which statistics staff see in psql's \\d+ or their SQL
client's browser, and a rebuild and publication keep them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg
import pytest
import yaml

from builders import build_cohort
from kenshin.reporting.marts import DBT_PROJECT, build

pytestmark = pytest.mark.integration

UNDESCRIBED = """
select c.relname || '.' || a.attname
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
 where n.nspname = 'stats' and c.relkind = 'r' and coalesce(col_description(c.oid, a.attnum), '') = ''
 order by 1
"""


def _yaml_descriptions() -> dict[str, str]:
    """table.column -> description, as the stats models' YAML states them."""
    doc = yaml.safe_load((DBT_PROJECT / "models" / "stats" / "_stats.yml").read_text(encoding="utf-8"))
    return {f"{m['name']}.{c['name']}": c["description"] for m in doc["models"] for c in m.get("columns", [])}


def test_every_stats_column_has_its_description_as_a_comment_for_the_stats_role(db_url, logins):
    build_cohort(db_url)
    assert build(url=db_url)
    statistician = logins("stats01", "kenshin_stats", register=False)
    with psycopg.connect(statistician) as conn:
        tables = conn.execute("select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
                              "join pg_namespace n on n.oid = c.relnamespace "
                              "where n.nspname = 'stats' and c.relkind = 'r' order by 1").fetchall()
        assert [t for t, _ in tables] == ["ministry_report", "participation", "process_indicators"]
        assert all(comment for _, comment in tables), tables
        assert conn.execute(UNDESCRIBED).fetchall() == []
        published = dict(conn.execute(
            """select c.relname || '.' || a.attname, col_description(c.oid, a.attnum)
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                 join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                where n.nspname = 'stats' and c.relkind = 'r'""").fetchall())
    # the comment is the YAML's description, word for word (Japanese term included)
    described = _yaml_descriptions()
    assert published["process_indicators.screened"] == "受診者数."
    for column, comment in published.items():
        assert comment.strip() == described[column].strip(), column

    # what `psql -c '\d+ stats.process_indicators'` shows the statistics staff
    psql = sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    shown = subprocess.run([str(psql), statistician, "-X", "-c", r"\d+ stats.process_indicators"],
                           capture_output=True, text=True, check=True).stdout
    assert "受診者数." in shown and "精検未把握率 (%)" in shown
    listed = subprocess.run([str(psql), statistician, "-X", "-c", r"\dt+ stats.*"],
                            capture_output=True, text=True, check=True).stdout
    assert "プロセス指標" in listed

    # a second build and publication (the monthly one) keeps them
    assert build(url=db_url)
    with psycopg.connect(statistician) as conn:
        assert conn.execute(UNDESCRIBED).fetchall() == []


def test_a_stats_column_without_a_description_is_found(db_url):
    """The check above can fail: a column whose comment is gone is listed."""
    build_cohort(db_url)
    assert build(url=db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute("comment on column stats.participation.screened is null")
        assert conn.execute(UNDESCRIBED).fetchall() == [("participation.screened",)]
