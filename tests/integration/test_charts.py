"""Statistics pictures from the published statistics: every suppressed cell is
drawn as suppressed (hatched, labelled), none as a zero bar."""

from __future__ import annotations

import datetime as dt
import io
import re

import psycopg
import pytest

from builders import build_cohort, insert_screening
from kenshin.reporting import charts
from kenshin.reporting.marts import build

pytestmark = pytest.mark.integration


def _stats_with_two_years(url: str) -> None:
    """The hand-built cohort (FY2025, colorectal) with ten more women needing a
    detailed exam (found nothing), and a year before it: the first twelve screened
    for colorectal in FY2024 and five women for breast (a suppressed count)."""
    build_cohort(url, extra=(("2", dt.date(1980, 1, 1), "3", "4"),) * 10)
    with psycopg.connect(url) as conn:
        for i in range(1, 13):
            insert_screening(conn, f"{i:010d}", "04", dt.date(2024, 10, 1), 100 + i)
        for i in (6, 7, 8, 9, 10):
            insert_screening(conn, f"{i:010d}", "07", dt.date(2024, 11, 1), 200 + i)
    assert build(url=url)


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


def test_charts_draw_every_suppressed_cell_as_suppressed(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    _stats_with_two_years(db_url)
    result = charts.render(2025, url=db_url)
    assert result.fiscal_year == 2025
    assert sorted(p.name for p in result.files) == [
        "indicators_FY2025.png", "participation_FY2025.png", "statistics_FY2025.html", "trends_FY2025.png"]
    assert all(p.parent == tmp_path / "reports" / "charts" / "FY2025" for p in result.files)
    for png in result.files[:-1]:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # What the stats role sees as suppressed, cell by cell, as the charts key them.
    with psycopg.connect(db_url) as conn:
        conn.execute("set role kenshin_stats")
        expected = {("participation", (fy, e, "city" if w == "all" else w))
                    for fy, e, w in conn.execute(
                        """select fiscal_year, exam_type, ward_code from stats.participation
                            where sex = 'all' and age_band = 'all' and fiscal_year = 2025
                              and (target_population_suppressed or screened_suppressed)""")}
        expected |= {("trends", (e, fy)) for fy, e in conn.execute(
            """select fiscal_year, exam_type from stats.participation where sex = 'all' and age_band = 'all'
                and ward_code = 'all' and (target_population_suppressed or screened_suppressed)""")}
        rows = conn.execute("""select exam_type, needing_detailed_exam_suppressed, cancers_found_suppressed,
                                      screened_suppressed, recall_rate, ppv from stats.process_indicators
                                where sex = 'all' and age_band = 'all' and fiscal_year = 2025""").fetchall()
    assert rows and expected, "the fixture must publish suppressed cells"
    # 13 要精検 of 22 screened are published; the one cancer is suppressed, and so
    # are the rates built on it (detection rate, PPV); the recall rate is drawn.
    assert [r[:4] for r in rows] == [("04", False, True, False)] and rows[0][4] is not None and rows[0][5] is None
    expected |= {("indicators", (2025, "04", "detection_rate")), ("indicators", (2025, "04", "ppv"))}
    with psycopg.connect(db_url) as conn:
        conn.execute("set role kenshin_stats")
        row = conn.execute(f"""select {", ".join(charts.INDICATORS)},
                                      {", ".join(c + "_suppressed" for c in charts.COUNTS)}
                                 from stats.process_indicators where sex = 'all' and age_band = 'all'
                                  and fiscal_year = 2025 and exam_type = '04'""").fetchone()
    flags = dict(zip(charts.COUNTS, row[len(charts.INDICATORS):], strict=True))
    for (indicator, (_, counts)), rate in zip(charts.INDICATORS.items(), row, strict=False):
        if rate is None and any(flags[c] for c in counts):
            expected.add(("indicators", (2025, "04", indicator)))

    drawn = {(c.chart, c.key) for c in result.cells if c.suppressed}
    assert drawn == expected
    assert all(c.value is None for c in result.cells if c.suppressed)
    assert any(not c.suppressed and c.value for c in result.cells)  # and real values beside them
    assert ("trends", ("07", 2024)) in drawn  # five women screened for breast in FY2024

    # In the pictures: each suppressed cell is a hatched mark with its id, never a bar or point.
    svg = "".join(_svg(fig) for fig in result.figures.values())
    for cell in (c for c in result.cells if c.suppressed):
        assert f'id="{cell.gid}"' in svg, cell.gid
        assert f'id="{cell.gid.replace("suppressed:", "value:", 1)}"' not in svg
    assert len(re.findall(r'<g id="suppressed:', svg)) == len(drawn)
    hatched = [p for fig in result.figures.values() for ax in fig.axes for p in ax.patches
               if (p.get_gid() or "").startswith("suppressed:")]
    assert len(hatched) == len(drawn) and all(p.get_hatch() for p in hatched)
    bars = [p for fig in result.figures.values() for ax in fig.axes for p in ax.patches
            if (p.get_gid() or "").startswith("value:indicators")]
    assert "value:indicators:2025:04:recall_rate" in [p.get_gid() for p in bars]
    values = {c.gid: c.value for c in result.cells}
    assert all(p.get_width() == values[p.get_gid()] for p in bars)  # a zero bar only for a published 0

    # The HTML page is self-contained (images inline) and lists each suppressed cell as such.
    page = (tmp_path / "reports" / "charts" / "FY2025" / "statistics_FY2025.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3 and "http" not in page.replace("http-equiv", "")
    listed = re.findall(r'data-id="([^"]+)" data-suppressed="true"', page)
    assert sorted(listed) == sorted(c.gid for c in result.cells if c.suppressed)
    assert not re.search(r'data-suppressed="true"[^>]*>(?:<td>[^<]*</td>){2}<td>0</td>', page)
    assert charts.render(2019, url=db_url) is None  # a year with nothing published draws nothing


def test_nothing_published_yet_draws_nothing(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("KENSHIN_DATA_DIR", str(tmp_path))
    assert charts.render(None, url=db_url) is None
