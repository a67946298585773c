"""A static HTML report: one self-contained ``index.html`` of KPIs, charts and a map per grid.

Besides, the standard indicators per grid, department and post, with their league tables and
formulas (:mod:`gridgov.report._standard_html`).

The page has no script, loads nothing (its CSS is in a ``<style>`` element, its charts and map are
inline SVG) and holds aggregates and cell names only: no resident, no worker, no address, no
case text. Labels are in Chinese and English. ``gridgov report --html DIR`` writes it from the
command line; :func:`write_report` from Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pendulum

from gridgov.cases import EscalationKind
from gridgov.grid import GridLevel
from gridgov.ports import Store
from gridgov.report._standard_html import standard_section
from gridgov.report._svg import Area, Series, bar_chart, map_svg
from gridgov.report.figures import (
    ESCALATION_LEVELS,
    GridFigures,
    ReportFigures,
    VenueFill,
    collect,
)
from gridgov.report.standard import DEFAULT_MIN_CASES
from gridgov.report.targets import targets_section, visit_target
from gridgov.scenarios import Scenario
from gridgov.services.kpis import CaseFigures

__all__ = [
    "COVERAGE_BANDS",
    "REPORT_FILE",
    "coverage_colour",
    "render",
    "write_page",
    "write_report",
]

REPORT_FILE = "index.html"
"""The name of the page :func:`write_report` writes."""

COVERAGE_BANDS: tuple[tuple[float, str, str], ...] = (
    (1.0, "#1a9850", "100%"),
    (0.95, "#91cf60", "95–99%"),
    (0.9, "#d9ef8b", "90–94%"),
    (0.8, "#fee08b", "80–89%"),
    (0.6, "#fc8d59", "60–79%"),
    (0.0, "#d73027", "< 60%"),
)
"""The map's colours: the lowest share of each band, its fill and its legend."""

_NOBODY = "#cccccc"  # a grid without covered elders
_REACHED = "#2f6db5"
_CADENCE = "#93bde8"
_ON_TIME = "#2e8b57"
_LEVEL_COLOURS = {
    GridLevel.GRID: "#f2b134",
    GridLevel.COMMUNITY: "#e07b39",
    GridLevel.STREET: "#c0392b",
    GridLevel.DISTRICT: "#7b241c",
}
_LEVEL_EN = {
    GridLevel.GRID: "grid",
    GridLevel.COMMUNITY: "community",
    GridLevel.STREET: "street",
    GridLevel.DISTRICT: "district",
}
_KIND_EN = {
    EscalationKind.REMIND: "reminder",
    EscalationKind.FORMAL_REMINDER: "formal reminder",
    EscalationKind.SUPERVISE: "supervision",
    EscalationKind.RAISE_LEVEL: "raised a level",
    EscalationKind.REASSIGN: "reassigned",
    EscalationKind.DEADLINE_MISSED: "deadline missed",
}
_PERCENT_TICKS = tuple((x / 4, f"{x * 25}%") for x in range(5))

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; color: #1d2630;
  background: #fff; line-height: 1.5; font-size: 15px;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "Helvetica Neue", Arial, sans-serif;
}
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d8dee6; }
.en { color: #5a6675; font-weight: normal; }
p.note { color: #5a6675; margin: 4px 0 12px; font-size: 13px; }
ul.tiles {
  display: flex; flex-wrap: wrap; gap: 12px; list-style: none; padding: 0; margin: 16px 0;
}
ul.tiles li { flex: 1 1 160px; border: 1px solid #d8dee6; border-radius: 6px; padding: 10px 14px; }
ul.tiles .v { display: block; font-size: 26px; font-weight: bold; }
ul.tiles .k { display: block; font-size: 13px; color: #5a6675; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
caption { text-align: left; font-weight: bold; padding: 4px 0; white-space: nowrap; }
th, td { border-bottom: 1px solid #e3e8ee; padding: 4px 8px; }
thead th { background: #f3f6f9; text-align: center; vertical-align: bottom; }
tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total th, tr.total td { font-weight: bold; border-top: 2px solid #b8c2cc; }
tr.unranked th, tr.unranked td { color: #8a95a3; }
thead th[title] { cursor: help; text-decoration: underline dotted; }
ol.formulas { font-size: 13px; color: #5a6675; padding-left: 20px; }
.wide { overflow-x: auto; }
strong.not-met { color: #c0392b; }
td small { color: #5a6675; }
figure.pair {
  display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 24px;
  align-items: start; margin: 8px 0;
}
figure.pair > figcaption { grid-column: 1 / -1; color: #5a6675; font-size: 13px; }
svg.chart { max-width: 100%; height: auto; font-size: 13px; }
svg.chart text { fill: #1d2630; }
svg.chart text.tick, svg.chart text.value { font-size: 11px; fill: #5a6675; }
svg.chart text.value, svg.chart text.map-label {
  paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round;
}
svg.chart line.grid { stroke: #e3e8ee; }
svg.chart line.target { stroke: #c0392b; stroke-width: 2; stroke-dasharray: 6 4; }
svg.chart path.cell { stroke: #fff; stroke-width: 2; }
svg.chart text.map-label { font-size: 12px; pointer-events: none; }
ul.legend {
  list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 12px; font-size: 13px;
}
ul.legend span { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
  vertical-align: -1px; }
footer { margin-top: 40px; color: #5a6675; font-size: 12px; }
@media (max-width: 820px) { figure.pair { grid-template-columns: 1fr; } }
@media print {
  body { padding: 0; } h2 { break-after: avoid; } figure.pair { break-inside: avoid; }
}
"""


def write_report(
    store: Store,
    scenario: Scenario,
    out_dir: Path,
    *,
    on: pendulum.Date,
    tz: str = "Asia/Shanghai",
    min_cases: int = DEFAULT_MIN_CASES,
) -> Path:
    """Write the report of ``scenario`` on ``on`` as ``out_dir/index.html``.

    The figures are gathered by :func:`gridgov.report.figures.collect`: the store is only read.

    Args:
        store: The store holding the scenario.
        scenario: The scenario: its name, grids and care policy.
        out_dir: The directory to write into; created if missing.
        on: The report's day: the month, the 90 days and the coming week are counted from it.
        tz: The time zone days begin in.
        min_cases: The cases a grid, department or post needs to be ranked in the league
            tables of the standard indicators.

    Returns:
        The path of the page written.

    Raises:
        ValidationError: If the scenario's cells do not form a tree, or ``min_cases`` is not a
            whole number from 1.
        OSError: If the directory or the file cannot be written.
    """
    return write_page(collect(store, scenario, on=on, tz=tz, min_cases=min_cases), out_dir)


def write_page(figures: ReportFigures, out_dir: Path) -> Path:
    """Write the page of figures already gathered as ``out_dir/index.html``.

    Args:
        figures: The figures, from :func:`gridgov.report.figures.collect`.
        out_dir: The directory to write into; created if missing.

    Returns:
        The path of the page written.

    Raises:
        OSError: If the directory or the file cannot be written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(render(figures), encoding="utf-8", newline="\n")
    return path


def coverage_colour(share: float, *, covered: int = 1) -> str:
    """Return the map's fill for a share reached at least once (grey when nobody is covered)."""
    if not covered:
        return _NOBODY
    return next(colour for low, colour, _ in COVERAGE_BANDS if share >= low - 1e-9)


def render(figures: ReportFigures) -> str:
    """Return the page of a report's figures.

    Args:
        figures: The figures, from :func:`gridgov.report.figures.collect`.

    Returns:
        The HTML text of the whole page.
    """
    title = f"{figures.title} 网格工作报告 grid governance report"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="gridgov">',
        f"<title>{escape(title)} {figures.on.isoformat()}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(figures.title)} 网格工作报告 <span class='en'>grid governance report</span>"
        "</h1>",
        f'<p class="note">截至 as of <time datetime="{figures.on.isoformat()}">'
        f"{figures.on.isoformat()}</time> · {len(figures.grids)} 个网格 grids · "
        f"时区 time zone {escape(figures.tz)}</p>",
        "</header>",
        "<main>",
        _tiles(figures),
        _kpi_section(figures),
        targets_section(figures),
        _coverage_section(figures),
        _cases_section(figures),
        standard_section(figures),
        _escalation_section(figures),
        _map_section(figures),
        _activity_section(figures),
        "</main>",
        _footer(),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


# --- formatting ---------------------------------------------------------------------------------


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _hours(hours: float) -> str:
    return f"{hours:g}"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _period(start: pendulum.Date, last: pendulum.Date) -> str:
    return f"{start.isoformat()} – {last.isoformat()}"


def _td(kpi: str, text: str | int) -> str:
    return f'<td data-kpi="{kpi}">{escape(str(text))}</td>'


def _head(*labels: tuple[str, str]) -> str:
    cells = "".join(
        f'<th scope="col">{escape(zh)}<br><span class="en">{escape(en)}</span></th>'
        for zh, en in labels
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _row(code: str, name: str, cells: Sequence[str], *, total: bool = False) -> str:
    css = ' class="total"' if total else ""
    head = f'<th scope="row">{escape(name)}</th>'
    return f'<tr data-code="{escape(code)}"{css}>{head}{"".join(cells)}</tr>'


def _table(table_id: str, caption: str, head: str, rows: Sequence[str]) -> str:
    return (
        f'<div class="wide"><table id="{table_id}"><caption>{escape(caption)}</caption>{head}'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


# --- totals -------------------------------------------------------------------------------------


class _Totals:
    """The sums of the grid rows."""

    def __init__(self, grids: Sequence[GridFigures]) -> None:
        self.covered = sum(g.coverage.covered for g in grids)
        self.contacted = sum(g.coverage.contacted for g in grids)
        self.on_cadence = sum(g.coverage.on_cadence for g in grids)
        self.missed = sum(len(g.coverage.missed) for g in grids)
        self.cases = CaseFigures.combined(g.cases for g in grids)
        self.escalations = {
            level: sum(g.escalations.get(level, 0) for g in grids) for level in ESCALATION_LEVELS
        }
        self.kinds = {
            kind: sum(g.escalation_kinds.get(kind, 0) for g in grids) for kind in EscalationKind
        }
        self.volunteers = sum(g.volunteers for g in grids)
        self.hours = round(sum(g.volunteer_hours for g in grids), 2)

    @property
    def contacted_share(self) -> float:
        return 1.0 if not self.covered else self.contacted / self.covered

    @property
    def on_cadence_share(self) -> float:
        return 1.0 if not self.covered else self.on_cadence / self.covered


_TOTAL = ("total", "合计 total")


# --- sections -----------------------------------------------------------------------------------


def _tiles(f: ReportFigures) -> str:
    t = _Totals(f.grids)
    week_capacity = sum(v.capacity for v in f.week)
    week_confirmed = sum(v.confirmed for v in f.week)
    tiles = [
        ("contacted_share", _pct(t.contacted_share), "本月探访覆盖率", "elders reached this month"),
        ("on_time_rate", _pct(t.cases.on_time_rate), "按期结案率", "closed on time of those due"),
        ("escalations", str(sum(t.escalations.values())), "督办与上提", "escalations, 90 days"),
        ("week_fill", _pct(_ratio(week_confirmed, week_capacity)), "本周活动报名率", "week's fill"),
        ("volunteer_hours", _hours(f.volunteer_hours), "本月志愿服务时长", "volunteer hours"),
    ]
    items = "".join(
        f'<li data-kpi="{kpi}"><span class="v">{escape(v)}</span>'
        f'<span class="k">{escape(zh)} {escape(en)}</span></li>'
        for kpi, v, zh, en in tiles
    )
    return f'<ul class="tiles" id="tiles">{items}</ul>'


def _kpi_section(f: ReportFigures) -> str:
    t = _Totals(f.grids)
    head = _head(
        ("网格", "grid"),
        ("探访对象", "covered elders"),
        ("已联系", "reached"),
        ("联系率", "reached share"),
        ("按频次", "on cadence"),
        ("达标率", "on-cadence share"),
        ("受理", "cases"),
        ("结案", "closed"),
        ("结案率", "closure rate"),
        ("按期结案", "on time"),
        ("按期结案率", "on-time closure rate"),
        ("督办", "escalations"),
        ("志愿时长", "volunteer hours"),
    )
    rows = [
        _row(
            g.code,
            g.name,
            [
                _td("covered", g.coverage.covered),
                _td("contacted", g.coverage.contacted),
                _td("contacted_share", _pct(g.coverage.contacted_share)),
                _td("on_cadence", g.coverage.on_cadence),
                _td("on_cadence_share", _pct(g.coverage.on_cadence_share)),
                _td("reported", g.cases.reported),
                _td("closed", g.cases.closed),
                _td("closure_rate", _pct(g.cases.closure_rate)),
                _td("closed_on_time", g.cases.closed_on_time),
                _td("on_time_rate", _pct(g.cases.on_time_rate)),
                _td("escalations", g.escalation_total),
                _td("volunteer_hours", _hours(g.volunteer_hours)),
            ],
        )
        for g in f.grids
    ]
    rows.append(
        _row(
            *_TOTAL,
            [
                _td("covered", t.covered),
                _td("contacted", t.contacted),
                _td("contacted_share", _pct(t.contacted_share)),
                _td("on_cadence", t.on_cadence),
                _td("on_cadence_share", _pct(t.on_cadence_share)),
                _td("reported", t.cases.reported),
                _td("closed", t.cases.closed),
                _td("closure_rate", _pct(t.cases.closure_rate)),
                _td("closed_on_time", t.cases.closed_on_time),
                _td("on_time_rate", _pct(t.cases.on_time_rate)),
                _td("escalations", sum(t.escalations.values())),
                _td("volunteer_hours", _hours(t.hours)),
            ],
            total=True,
        )
    )
    last = f.on
    return "\n".join(
        [
            '<section id="kpis">',
            '<h2>各网格主要指标 <span class="en">KPIs per grid</span></h2>',
            f'<p class="note">探访覆盖与志愿时长：本月 {_period(f.month_start, last)}；'
            f"事件与督办：近 90 天 {_period(f.case_since.date(), last)}。"
            f"Coverage and volunteer hours for the month {_period(f.month_start, last)}; "
            f"cases and escalations over the 90 days {_period(f.case_since.date(), last)}. "
            "The total row sums the grids.</p>",
            _table("kpi-table", "各网格主要指标 KPIs per grid", head, rows),
            "</section>",
        ]
    )


def _coverage_section(f: ReportFigures) -> str:
    t = _Totals(f.grids)
    target = visit_target(f)
    goal = "none" if target is None else f"{target:.0%}"
    names = [g.name for g in f.grids]
    chart = bar_chart(
        chart_id="coverage-chart",
        title="本月探访覆盖率 visiting coverage per grid",
        summary=(
            f"Share of covered elders reached at least once and on cadence per grid, "
            f"{_period(f.month_start, f.on)}, against the {goal} target: "
            + "; ".join(
                f"{g.name} {_pct(g.coverage.contacted_share)} reached, "
                f"{_pct(g.coverage.on_cadence_share)} on cadence"
                for g in f.grids
            )
        ),
        categories=names,
        series=[
            Series(
                "联系率 reached at least once",
                _REACHED,
                tuple(g.coverage.contacted_share for g in f.grids),
                tuple(_pct(g.coverage.contacted_share) for g in f.grids),
            ),
            Series(
                "达标率 on cadence",
                _CADENCE,
                tuple(g.coverage.on_cadence_share for g in f.grids),
                tuple(_pct(g.coverage.on_cadence_share) for g in f.grids),
            ),
        ],
        maximum=1.0,
        ticks=_PERCENT_TICKS,
        target=None if target is None else (target, f"目标 target {goal}"),
    )
    head = _head(
        ("网格", "grid"),
        ("探访对象", "covered"),
        ("已联系", "reached"),
        ("联系率", "share"),
        ("按频次", "on cadence"),
        ("达标率", "share"),
        ("未达标", "short"),
    )
    rows = [
        _row(
            g.code,
            g.name,
            [
                _td("covered", g.coverage.covered),
                _td("contacted", g.coverage.contacted),
                _td("contacted_share", _pct(g.coverage.contacted_share)),
                _td("on_cadence", g.coverage.on_cadence),
                _td("on_cadence_share", _pct(g.coverage.on_cadence_share)),
                _td("missed", len(g.coverage.missed)),
            ],
        )
        for g in f.grids
    ]
    rows.append(
        _row(
            *_TOTAL,
            [
                _td("covered", t.covered),
                _td("contacted", t.contacted),
                _td("contacted_share", _pct(t.contacted_share)),
                _td("on_cadence", t.on_cadence),
                _td("on_cadence_share", _pct(t.on_cadence_share)),
                _td("missed", t.missed),
            ],
            total=True,
        )
    )
    return "\n".join(
        [
            '<section id="coverage">',
            '<h2>探访覆盖 <span class="en">visiting coverage</span></h2>',
            '<figure class="pair">',
            chart,
            _table("coverage-table", "探访覆盖 coverage", head, rows),
            f"<figcaption>本月 {_period(f.month_start, f.on)}：联系率为至少联系一次的探访对象占比"
            f"（目标 {goal}），达标率为按所在等级频次联系的占比。Reached: covered elders "
            f"contacted at least once this month (the target is {goal}); on cadence: "
            "contacted as often as their tier requires.</figcaption>",
            "</figure>",
            "</section>",
        ]
    )


def _cases_section(f: ReportFigures) -> str:
    t = _Totals(f.grids)
    chart = bar_chart(
        chart_id="cases-chart",
        title="按期结案率 on-time closure per grid",
        summary=(
            "Cases closed with their handling on time, of the cases due for closure, per grid "
            "over 90 days: "
            + "; ".join(
                f"{g.name} {_pct(g.cases.on_time_rate)} "
                f"({g.cases.closed_on_time} of {g.cases.closure_base} due)"
                for g in f.grids
            )
        ),
        categories=[g.name for g in f.grids],
        series=[
            Series(
                "按期结案率 closed on time",
                _ON_TIME,
                tuple(g.cases.on_time_rate for g in f.grids),
                tuple(
                    _pct(g.cases.on_time_rate) if g.cases.closure_base else "— 无应结案 none due"
                    for g in f.grids
                ),
            )
        ],
        maximum=1.0,
        ticks=_PERCENT_TICKS,
    )
    head = _head(
        ("网格", "grid"),
        ("受理", "reported"),
        ("应结案", "due for closure"),
        ("结案", "closed"),
        ("结案率", "closure rate"),
        ("按期结案", "on time"),
        ("按期结案率", "on-time closure rate"),
    )

    def cells(c: CaseFigures) -> list[str]:
        return [
            _td("reported", c.reported),
            _td("due_for_closure", c.closure_base),
            _td("closed", c.closed),
            _td("closure_rate", _pct(c.closure_rate)),
            _td("closed_on_time", c.closed_on_time),
            _td("on_time_rate", _pct(c.on_time_rate)),
        ]

    rows = [_row(g.code, g.name, cells(g.cases)) for g in f.grids]
    rows.append(_row(*_TOTAL, cells(t.cases), total=True))
    return "\n".join(
        [
            '<section id="cases">',
            '<h2>事件办理 <span class="en">cases</span></h2>',
            '<figure class="pair">',
            chart,
            _table("cases-table", "事件办理 cases, 90 days", head, rows),
            f"<figcaption>近 90 天 {_period(f.case_since.date(), f.on)} 上报的事件"
            "（不含不予受理），按事件所在网格统计。应结案数：已处置及超期未处置的事件，"
            "不含挂账；结案率 = 结案数 / 应结案数；按期结案率 = 按期结案数 / 应结案数"
            "（CJ/T 292）。Cases reported in the 90 days "
            "(rejected ones excluded) by the grid they lie in. Due for closure: handled, or "
            "overdue without being handled, parked ones left out; closure rate = closed / due; "
            "on-time closure rate = closed with handling on time / due (CJ/T 292)."
            "</figcaption>",
            "</figure>",
            _provisional_note(t),
            "</section>",
        ]
    )


def _escalation_section(f: ReportFigures) -> str:
    t = _Totals(f.grids)
    series = [
        Series(
            f"{level.label_zh}级 {_LEVEL_EN[level]}",
            _LEVEL_COLOURS[level],
            tuple(float(g.escalations.get(level, 0)) for g in f.grids),
            tuple(str(g.escalations.get(level, 0)) for g in f.grids),
        )
        for level in ESCALATION_LEVELS
    ]
    most = max((g.escalation_total for g in f.grids), default=0)
    step = max(1, -(-most // 5))
    ticks = [(float(x), str(x)) for x in range(0, max(most, 1) + step, step)]
    chart = bar_chart(
        chart_id="escalation-chart",
        title="督办与上提 escalations by level",
        summary=(
            "Escalations of the cases reported in each grid over 90 days, stacked by the level "
            "that holds the case after them: "
            + "; ".join(
                f"{g.name} {g.escalation_total}"
                + "".join(f", {_LEVEL_EN[lv]} {n}" for lv, n in g.escalations.items())
                for g in f.grids
            )
        ),
        categories=[g.name for g in f.grids],
        series=series,
        maximum=ticks[-1][0],
        ticks=ticks,
        totals=[str(g.escalation_total) for g in f.grids],
    )
    head = _head(
        ("网格", "grid"),
        *((f"{lv.label_zh}级", _LEVEL_EN[lv]) for lv in ESCALATION_LEVELS),
        ("合计", "total"),
    )
    rows = [
        _row(
            g.code,
            g.name,
            [_td(lv.value, g.escalations.get(lv, 0)) for lv in ESCALATION_LEVELS]
            + [_td("total", g.escalation_total)],
        )
        for g in f.grids
    ]
    rows.append(
        _row(
            *_TOTAL,
            [_td(lv.value, t.escalations[lv]) for lv in ESCALATION_LEVELS]
            + [_td("total", sum(t.escalations.values()))],
            total=True,
        )
    )
    kinds = [
        f'<tr data-kind="{kind.value}"><th scope="row">{escape(kind.label_zh)} '
        f'<span class="en">{escape(_KIND_EN[kind])}</span></th>'
        f"{_td('count', t.kinds[kind])}</tr>"
        for kind in EscalationKind
    ]
    kind_table = (
        '<div class="wide"><table id="escalation-kinds-table"><caption>按方式 by kind</caption>'
        f"{_head(('方式', 'kind'), ('次数', 'count'))}<tbody>{''.join(kinds)}</tbody></table></div>"
    )
    return "\n".join(
        [
            '<section id="escalations">',
            '<h2>督办与上提 <span class="en">escalations</span></h2>',
            '<figure class="pair">',
            chart,
            "<div>",
            _table("escalation-table", "按层级 by level", head, rows),
            kind_table,
            "</div>",
            f"<figcaption>近 90 天 {_period(f.case_since.date(), f.on)} 上报事件的督办记录（提醒、"
            "催办、督办、上提、改派、超期），按督办后承办的层级统计：提醒计在被提醒的层级，上提计在"
            "上提到的层级。Escalations in the histories of the cases reported in the 90 days, by "
            "the level holding the case after each: a reminder counts at the level reminded, a "
            "raise at the level the case went up to.</figcaption>",
            "</figure>",
            "</section>",
        ]
    )


def _map_section(f: ReportFigures) -> str:
    areas = [
        Area(
            code=g.code,
            name=g.name,
            boundary=g.boundary,
            colour=coverage_colour(g.coverage.contacted_share, covered=g.coverage.covered),
            title=(
                f"{g.name}: 本月探访覆盖率 coverage {_pct(g.coverage.contacted_share)} "
                f"({g.coverage.contacted}/{g.coverage.covered})"
            ),
            label=_pct(g.coverage.contacted_share) if g.coverage.covered else "—",
        )
        for g in f.grids
        if g.boundary is not None
    ]
    body = (
        map_svg(
            map_id="grid-map",
            title="网格地图：本月探访覆盖率 map of the grids by coverage",
            summary=(
                f"{len(areas)} grids drawn from their boundaries, coloured by the share of "
                "covered elders reached this month: "
                + "; ".join(f"{a.name} {a.label}" for a in areas)
            ),
            areas=areas,
        )
        if areas
        else '<p class="note">没有网格绘有边界。No grid has a boundary.</p>'
    )
    legend = "".join(
        f'<li><span style="background:{colour}"></span>{escape(label)}</li>'
        for _, colour, label in COVERAGE_BANDS
    )
    legend += f'<li><span style="background:{_NOBODY}"></span>无探访对象 nobody covered</li>'
    parts = [
        '<section id="map">',
        '<h2>网格地图 <span class="en">map of the grids</span></h2>',
        '<p class="note">按边界绘制（等距圆柱投影），颜色表示本月探访覆盖率。Drawn from the '
        "grids' boundaries (equirectangular), coloured by the share of covered elders reached "
        "this month.</p>",
        body,
        f'<ul class="legend" aria-label="图例 legend">{legend}</ul>',
    ]
    if f.unmapped:
        items = "".join(
            f'<li data-code="{escape(g.code)}">{escape(g.name)} · '
            f"{_pct(g.coverage.contacted_share)}</li>"
            for g in f.unmapped
        )
        parts.append(
            '<p class="note">以下网格没有边界，未绘入地图 Grids without a boundary, not on the '
            f'map:</p><ul id="unmapped">{items}</ul>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _fill_rows(label: tuple[str, str], fills: Sequence[VenueFill]) -> list[str]:
    rows = []
    for v in fills:
        period = _period(v.start.date(), v.end.subtract(days=1).date())
        rows.append(
            f'<tr data-venue="{escape(v.venue_id)}" data-period="{label[1]}">'
            f'<th scope="row">{escape(v.name)}</th>'
            f'<td class="period">{escape(label[0])} {period}</td>'
            + _td("occurrences", v.occurrences)
            + _td("confirmed", v.confirmed)
            + _td("capacity", v.capacity)
            + _td("fill", _pct(v.fill))
            + _td("waitlisted", v.waitlisted)
            + _td("open_occurrences", v.open_occurrences)
            + "</tr>"
        )
    return rows


def _activity_section(f: ReportFigures) -> str:
    head = _head(
        ("场所", "venue"),
        ("时段", "period"),
        ("场次", "occurrences"),
        ("已报名", "confirmed"),
        ("名额", "places"),
        ("报名率", "fill"),
        ("候补", "waitlisted"),
        ("不限名额场次", "unlimited"),
    )
    rows = _fill_rows(("本周", "week"), f.week) + _fill_rows(("本月", "month"), f.month)
    fill = (
        _table("fill-table", "活动报名率 activity fill per venue", head, rows)
        if rows
        else '<p class="note">没有活动场所。No venue.</p>'
    )
    volunteers = (
        '<div class="wide"><table id="volunteer-table"><caption>本月志愿服务 volunteering '
        f"this month, {_period(f.month_start, f.on)}</caption>"
        f"{_head(('志愿者', 'volunteers'), ('时长（小时）', 'hours'))}<tbody><tr>"
        f"{_td('volunteers', f.volunteers)}{_td('volunteer_hours', _hours(f.volunteer_hours))}"
        "</tr></tbody></table></div>"
    )
    return "\n".join(
        [
            '<section id="activities">',
            '<h2>活动与志愿服务 <span class="en">activities and volunteering</span></h2>',
            fill,
            '<p class="note">报名率 = 已报名（含已签到）÷ 限额场次的名额，已取消的场次不计。'
            "Fill: places taken (confirmed or attended) over the places of the occurrences that "
            "limit them; cancelled occurrences are left out.</p>",
            volunteers,
            '<p class="note">已完成班次记入的志愿服务时长，来自各场所本月的班次。Hours credited '
            "for completed shifts of the venues' shifts this month.</p>",
            "</section>",
        ]
    )


def _footer() -> str:
    try:
        made_by = f"gridgov {version('gridgov')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        made_by = "gridgov"
    return (
        f"<footer><p>由 {escape(made_by)} 生成。本报告只含汇总数字与网格名称，不含任何个人信息。"
        f"Made by {escape(made_by)}: aggregates and cell names only, no personal data.</p>"
        "</footer>"
    )


def _provisional_note(t: _Totals) -> str:
    """Say how many open cases run on deadlines counted on provisional holidays, if any."""
    if not t.cases.provisional:
        return ""
    years = "、".join(str(y) for y in t.cases.provisional_years)
    years_en = ", ".join(str(y) for y in t.cases.provisional_years)
    return (
        f'<p class="note" id="provisional">暂定：{t.cases.provisional} 件在办事件的办理时限按 '
        f"{years} 年的法定节假日暂计（当年放假安排尚未公布），公布后可能调整。"
        f"Provisional: {t.cases.provisional} open cases have deadlines counted on the statutory "
        f"holidays of {years_en}, whose arrangement is not announced yet; they may move once "
        "it is.</p>"
    )
