"""Statistics pictures (統計グラフ) from the published statistics only.

`render(fiscal_year)` reads the `stats` schema as `kenshin_stats` (the pictures
can only show what statistics staff may see) and draws, with matplotlib:

- participation (受診率) by ward and programme: a grid of wards x exam types;
- each process indicator (プロセス指標) against its acceptable (許容値) and
  target (目標値) thresholds, one panel per indicator, one bar per cancer
  screening;
- year-over-year trends of participation, one panel per exam type.

Each is written as PNG, and all of them into one self-contained HTML page
(images embedded as base64, plus a table of every value drawn, for screen
readers and for checking). A suppressed cell (DOMAIN.md: counts 1-9 are null
with a flag, rates computed only from published counts) is drawn as a hatched
grey cell labelled "suppressed", never as zero; every drawn mark carries an id
(`suppressed:...` / `value:...`) that the SVG form of a figure shows.

The thresholds are the dbt seed `indicator_thresholds.csv` (the table chosen by
the dbt var `threshold_table`): policy data of the repository, not statistics.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kenshin.platform import config, db
from kenshin.platform.files import font_path, write_atomic
from kenshin.programmes import rules as programmes
from kenshin.reporting.annual_report import reports_dir
from kenshin.reporting.marts import DBT_PROJECT

SUPPRESSED = "suppressed"
INDICATORS = {  # indicator: (label, the counts its rate is computed from)
    "recall_rate": ("要精検率 recall rate", ("needing_detailed_exam", "screened")),
    "followup_rate": ("精検受診率 follow-up rate", ("detailed_exam_attended", "needing_detailed_exam")),
    "not_attended_rate": ("精検未受診率 not attended", ("detailed_exam_not_attended", "needing_detailed_exam")),
    "unknown_rate": ("精検未把握率 unknown", ("detailed_exam_unknown", "needing_detailed_exam")),
    "detection_rate": ("がん発見率 detection rate", ("cancers_found", "screened")),
    "ppv": ("陽性反応適中度 PPV", ("cancers_found", "needing_detailed_exam")),
}
COUNTS = ("screened", "needing_detailed_exam", "detailed_exam_attended", "detailed_exam_not_attended",
          "detailed_exam_unknown", "cancers_found")
HATCH, GREY = "///", "#d9d9d9"


@dataclass(frozen=True)
class Cell:
    """One value a chart draws: `value` is None when `suppressed` (or not computable)."""

    chart: str
    key: tuple
    label: str
    value: float | None
    suppressed: bool

    @property
    def gid(self) -> str:
        return f"{SUPPRESSED if self.suppressed else 'value'}:{self.chart}:" + ":".join(map(str, self.key))


@dataclass
class Charts:
    fiscal_year: int
    cells: list[Cell] = field(default_factory=list)
    figures: dict = field(default_factory=dict)   # name: matplotlib Figure
    files: list[Path] = field(default_factory=list)


def thresholds() -> dict[tuple[str, str], tuple[float | None, float | None, str]]:
    """(exam type, indicator): (acceptable %, target %, direction) of the selected
    table, the rows for both sexes and every age band (what the all-ages chart shows)."""
    project = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    table = str(project["vars"]["threshold_table"])
    out = {}
    with open(DBT_PROJECT / "seeds" / "indicator_thresholds.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["threshold_table"] == table and not row["sex"] and not row["age_band"]:
                out[(row["exam_type"], row["indicator"])] = (
                    float(row["acceptable_pct"]) if row["acceptable_pct"] else None,
                    float(row["target_pct"]) if row["target_pct"] else None, row["direction"])
    return out


def _read(url: str, fiscal_year: int | None) -> tuple[int | None, list[dict], list[dict]]:
    """The fiscal year drawn (the latest published when None) and the rows of
    participation (all sexes and ages) and process indicators (all sexes and ages)."""
    with db.connect(url, role="kenshin_stats") as conn:
        if conn.execute("select to_regclass('stats.participation') is null "
                        "or to_regclass('stats.process_indicators') is null").fetchone()[0]:
            return None, [], []  # nothing published yet
        if fiscal_year is None:
            fiscal_year = conn.execute("select max(fiscal_year) from stats.participation").fetchone()[0]
        if fiscal_year is None:
            return None, [], []
        cur = conn.execute(
            """select fiscal_year, exam_type, ward_code, target_population, target_population_suppressed,
                      screened, screened_suppressed, participation_rate
                 from stats.participation where sex = 'all' and age_band = 'all' and fiscal_year <= %s
                order by fiscal_year, exam_type, ward_code""", (fiscal_year,))
        names = [d.name for d in cur.description]
        participation = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        cur = conn.execute(
            f"""select exam_type, {", ".join(COUNTS)}, {", ".join(c + "_suppressed" for c in COUNTS)},
                       {", ".join(INDICATORS)}
                  from stats.process_indicators
                 where sex = 'all' and age_band = 'all' and fiscal_year = %s order by exam_type""",
            (fiscal_year,))
        names = [d.name for d in cur.description]
        indicators = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return fiscal_year, participation, indicators


def _number(value) -> float | None:
    return None if value is None else float(value)


def participation_cells(fiscal_year: int, rows: list[dict]) -> list[Cell]:
    wards = config.load("platform")["city"]["ward_codes"]
    cells = []
    for r in rows:
        if r["fiscal_year"] != fiscal_year:
            continue
        suppressed = bool(r["target_population_suppressed"] or r["screened_suppressed"])
        ward = "city" if r["ward_code"] == "all" else r["ward_code"]
        cells.append(Cell("participation", (fiscal_year, r["exam_type"], ward),
                          f"{wards.get(r['ward_code'], '市全体 city')} / {r['exam_type']}",
                          None if suppressed else _number(r["participation_rate"]), suppressed))
    return cells


def indicator_cells(fiscal_year: int, rows: list[dict]) -> list[Cell]:
    cells = []
    for r in rows:
        for indicator, (label, counts) in INDICATORS.items():
            suppressed = r[indicator] is None and any(r[c + "_suppressed"] for c in counts)
            cells.append(Cell("indicators", (fiscal_year, r["exam_type"], indicator),
                              f"{label} / {r['exam_type']}", _number(r[indicator]), suppressed))
    return cells


def trend_cells(rows: list[dict]) -> list[Cell]:
    return [Cell("trends", (r["exam_type"], r["fiscal_year"]), f"{r['exam_type']} FY{r['fiscal_year']}",
                 None if (r["target_population_suppressed"] or r["screened_suppressed"])
                 else _number(r["participation_rate"]),
                 bool(r["target_population_suppressed"] or r["screened_suppressed"]))
            for r in rows if r["ward_code"] == "all"]


def _font() -> list[str]:
    """The Japanese font the letters use (IPAex Mincho), for the programmes' names."""
    from matplotlib import font_manager

    try:
        path = font_path()
    except RuntimeError:
        return ["DejaVu Sans"]
    font_manager.fontManager.addfont(str(path))
    return [font_manager.FontProperties(fname=str(path)).get_name(), "DejaVu Sans"]


def _suppressed_mark(ax, cell: Cell, x: float, y: float, w: float, h: float, fontsize: float = 7) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x, y), w, h, facecolor=GREY, hatch=HATCH, edgecolor="#7f7f7f", linewidth=0.5,
                           gid=cell.gid))
    ax.text(x + w / 2, y + h / 2, SUPPRESSED, ha="center", va="center", fontsize=fontsize, color="#404040")


def draw_participation(cells: list[Cell], fiscal_year: int):
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    wards = config.load("platform")["city"]["ward_codes"]
    names = {code: t.name for code, t in programmes.exam_types().items()}
    exams = sorted({c.key[1] for c in cells})
    rows = [w for w in wards if any(c.key[2] == w for c in cells)] + ["city"]
    fig = Figure(figsize=(max(6.0, 1.15 * len(exams) + 2.5), 0.55 * len(rows) + 2.2), layout="constrained")
    ax = fig.add_subplot()
    cmap, norm = colormaps["Blues"], Normalize(0, 100)
    by_key = {(c.key[2], c.key[1]): c for c in cells}
    for i, ward in enumerate(rows):
        for j, exam in enumerate(exams):
            cell = by_key.get((ward, exam))
            if cell is None:
                continue
            if cell.suppressed:
                _suppressed_mark(ax, cell, j, i, 1, 1)
            elif cell.value is None:
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor="white", edgecolor="#bfbfbf", gid=cell.gid))
                ax.text(j + 0.5, i + 0.5, "n/a", ha="center", va="center", fontsize=7)
            else:
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor=cmap(norm(cell.value)), edgecolor="white",
                                       gid=cell.gid))
                ax.text(j + 0.5, i + 0.5, f"{cell.value:.1f}%", ha="center", va="center", fontsize=8,
                        color="white" if cell.value > 60 else "black")
    ax.set_xlim(0, len(exams))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([j + 0.5 for j in range(len(exams))],
                  [f"{e}\n{names.get(e, '')}" for e in exams], fontsize=7, rotation=30, ha="right")
    ax.set_yticks([i + 0.5 for i in range(len(rows))], [wards.get(w, "市全体 city") for w in rows], fontsize=8)
    ax.set_title(f"受診率 participation by ward and programme, FY{fiscal_year} (%)")
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="participation %", shrink=0.8)
    return fig


def draw_indicators(cells: list[Cell], fiscal_year: int):
    from matplotlib.figure import Figure

    names = {code: t.name for code, t in programmes.exam_types().items()}
    limits = thresholds()
    exams = sorted({c.key[1] for c in cells})
    fig = Figure(figsize=(13, 2.2 + 0.45 * len(exams) * 2), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    by_key = {(c.key[1], c.key[2]): c for c in cells}
    for ax, (indicator, (label, _)) in zip(axes, INDICATORS.items(), strict=True):
        values = [by_key[(e, indicator)].value for e in exams if (e, indicator) in by_key]
        marks = [v for e in exams for v in limits.get((e, indicator), (None, None, ""))[:2]]
        top = max([v for v in values + marks if v is not None] + [1.0]) * 1.25
        for i, exam in enumerate(exams):
            cell = by_key.get((exam, indicator))
            if cell is None:
                continue
            if cell.suppressed:
                _suppressed_mark(ax, cell, 0, i - 0.4, top, 0.8)
            elif cell.value is None:
                ax.text(top / 2, i, "n/a (no denominator)", ha="center", va="center", fontsize=7, gid=cell.gid)
            else:
                ax.barh(i, cell.value, height=0.6, color="#4c72b0", gid=cell.gid)
                ax.text(cell.value, i, f" {cell.value:g}", va="center", fontsize=7)
            acceptable, target, direction = limits.get((exam, indicator), (None, None, ""))
            sign = "≥" if direction == "min" else "≤"
            if acceptable is not None:
                ax.plot([acceptable] * 2, [i - 0.45, i + 0.45], color="#dd8452", linewidth=2,
                        label=f"許容値 acceptable ({sign})")
            if target is not None:
                ax.plot([target] * 2, [i - 0.45, i + 0.45], color="#55a868", linewidth=2, linestyle="--",
                        label=f"目標値 target ({sign})")
        ax.set_xlim(0, top)
        ax.set_ylim(len(exams) - 0.5, -0.5)
        ax.set_yticks(range(len(exams)), [f"{e} {names.get(e, '')}" for e in exams], fontsize=7)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("%", fontsize=7)
    handles = {h.get_label(): h for ax in axes for h in ax.get_lines()}
    if handles:  # one legend for all panels: per panel it hid the bars
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=4, fontsize=8)
    fig.suptitle(f"プロセス指標 process indicators against their thresholds, FY{fiscal_year} (all ages and sexes)")
    return fig


def draw_trends(cells: list[Cell], fiscal_year: int):
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    names = {code: t.name for code, t in programmes.exam_types().items()}
    exams = sorted({c.key[0] for c in cells})
    years = sorted({c.key[1] for c in cells})
    columns = min(4, max(1, len(exams)))
    rows = -(-len(exams) // columns) or 1
    fig = Figure(figsize=(3.3 * columns, 2.4 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[len(exams):]:
        ax.set_visible(False)
    for ax, exam in zip(axes, exams, strict=False):
        series = sorted((c for c in cells if c.key[0] == exam), key=lambda c: c.key[1])
        shown = [c for c in series if c.value is not None]
        ax.plot([c.key[1] for c in shown], [c.value for c in shown], marker="o", color="#4c72b0",
                gid=f"line:trends:{exam}")
        for c in shown:
            ax.plot([c.key[1]], [c.value], marker="o", color="#4c72b0", gid=c.gid)
        top = max([c.value for c in shown] + [10.0]) * 1.2
        for c in series:
            if c.value is None and not c.suppressed:  # no target population that year
                ax.text(c.key[1], 0, "n/a", ha="center", va="bottom", fontsize=7)
            if c.suppressed:
                ax.add_patch(Rectangle((c.key[1] - 0.4, 0), 0.8, top, facecolor=GREY, hatch=HATCH,
                                       edgecolor="#7f7f7f", linewidth=0.5, gid=c.gid))
                ax.text(c.key[1], top / 2, SUPPRESSED, rotation=90, ha="center", va="center", fontsize=7)
        ax.set_ylim(0, top)
        ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
        ax.set_xticks(years, [f"FY{y}" for y in years], fontsize=7)
        ax.set_title(f"{exam} {names.get(exam, '')}", fontsize=8)
        ax.set_ylabel("participation %", fontsize=7)
    fig.suptitle(f"受診率の推移 participation year over year, up to FY{fiscal_year} (city)")
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _html(fiscal_year: int, pictures: list[tuple[str, str, bytes]], cells: list[Cell]) -> str:
    parts = [f"""<!doctype html><html lang="ja"><head><meta charset="utf-8">
<title>Screening statistics FY{fiscal_year}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1400px}} img{{max-width:100%}}
table{{border-collapse:collapse;font-size:12px}} td,th{{border:1px solid #ccc;padding:2px 6px}}
.suppressed{{background:repeating-linear-gradient(45deg,#eee,#eee 4px,#ccc 4px,#ccc 8px)}}</style>
</head><body><h1>健康増進事業 統計 — screening statistics, FY{fiscal_year}</h1>
<p>From the published statistics (<code>stats</code>, read as kenshin_stats), generated
{dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=9))):%Y-%m-%d %H:%M} JST.
Counts from 1 to 9 are suppressed (with complementary cells); a suppressed value is shown
hatched and labelled “suppressed”, never as zero.</p>"""]
    for name, title, png in pictures:
        parts.append(f'<h2>{html.escape(title)}</h2><img id="{name}" alt="{html.escape(title)}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode()}">')
    parts.append("<h2>Values drawn</h2><table><tr><th>chart</th><th>cell</th><th>value</th></tr>")
    for c in cells:
        value = SUPPRESSED if c.suppressed else ("n/a" if c.value is None else f"{c.value:g}")
        parts.append(f'<tr data-id="{html.escape(c.gid)}" data-suppressed="{str(c.suppressed).lower()}"'
                     f'{" class=suppressed" if c.suppressed else ""}><td>{c.chart}</td>'
                     f"<td>{html.escape(c.label)} ({', '.join(map(str, c.key))})</td><td>{value}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def charts_dir(fiscal_year: int) -> Path:
    path = reports_dir() / "charts" / f"FY{fiscal_year}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def render(fiscal_year: int | None = None, out: Path | None = None, *, url: str | None = None) -> Charts | None:
    """Draw the pictures of one fiscal year (the latest published when None);
    write PNGs and the HTML page. None when nothing is published for it."""
    import matplotlib

    fiscal_year, participation, indicators = _read(url or db.database_url(), fiscal_year)
    if fiscal_year is None or not (indicators or any(r["fiscal_year"] == fiscal_year for r in participation)):
        return None  # nothing published (for that fiscal year)
    result = Charts(fiscal_year)
    with matplotlib.rc_context({"font.family": _font(), "hatch.linewidth": 0.6, "svg.hashsalt": "kenshin"}):
        kinds = (("participation", "受診率 participation by ward and programme",
                  participation_cells(fiscal_year, participation), draw_participation),
                 ("indicators", "プロセス指標 process indicators against thresholds",
                  indicator_cells(fiscal_year, indicators), draw_indicators),
                 ("trends", "受診率の推移 participation year over year", trend_cells(participation), draw_trends))
        pictures = []
        for name, title, cells, draw in kinds:
            if not cells:
                continue
            fig = draw(cells, fiscal_year)
            result.cells += cells
            result.figures[name] = fig
            pictures.append((name, title, _png(fig)))
    folder = out or charts_dir(fiscal_year)
    folder.mkdir(parents=True, exist_ok=True)
    for name, _, png in pictures:
        path = folder / f"{name}_FY{fiscal_year}.png"
        write_atomic(path, png)
        result.files.append(path)
    page = folder / f"statistics_FY{fiscal_year}.html"
    write_atomic(page, _html(fiscal_year, pictures, result.cells).encode("utf-8"))
    result.files.append(page)
    return result
