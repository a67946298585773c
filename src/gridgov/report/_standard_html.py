"""The report's section of standard indicators: per grid, department and post, with league tables.

Each indicator's column heading carries its formula in a ``title`` tooltip, and the section
ends with the formulas as footnotes (a printed page has no tooltips). A row below the minimum
of cases shows its figures but no rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gridgov.report.figures import ReportFigures
from gridgov.report.standard import LevelRow, StandardFigures
from gridgov.services.kpis import Indicator

__all__ = ["standard_section"]

_LEVELS = (
    ("cells", "standard-cells", "网格（区域）", "grids (region)"),
    ("departments", "standard-departments", "职能部门", "departments"),
    ("workers", "standard-workers", "岗位（网格员）", "posts (workers)"),
)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def _th(zh: str, en: str, *, title: str = "", note: int | None = None) -> str:
    tip = f' title="{escape(title)}"' if title else ""
    # A plain mark, not a link: the page references nothing, not even itself.
    mark = f"<sup>{note}</sup>" if note is not None else ""
    return f'<th scope="col"{tip}>{escape(zh)}{mark}<br><span class="en">{escape(en)}</span></th>'


def _head(indicators: Sequence[Indicator]) -> str:
    cells = [
        _th("排名", "rank", title="league rank; — below the minimum of cases"),
        _th("名称", "name"),
        _th("受理", "reported"),
        _th("应结案", "due for closure", title="应结案数 − 缓办/挂账数 (due − deferred)"),
        *(
            _th(i.label_zh, i.label_en, title=f"{i.formula_zh}｜{i.formula_en}", note=n)
            for n, i in enumerate(indicators, start=1)
        ),
        _th("综合得分", "score", title="weighted rates × 100 − deductions (Scoring)"),
    ]
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def _row(row: LevelRow, indicators: Sequence[Indicator]) -> str:
    f = row.figures
    cells = [
        f'<td data-kpi="rank">{"—" if row.rank is None else row.rank}</td>',
        f'<th scope="row">{escape(row.name)}</th>',
        f'<td data-kpi="reported">{f.reported}</td>',
        f'<td data-kpi="due_for_closure">{f.closure_base}</td>',
        *(f'<td data-kpi="{i.name}">{_pct(row.value(i))}</td>' for i in indicators),
        f'<td data-kpi="score">{"—" if row.score is None else f"{row.score:g}"}</td>',
    ]
    unranked = "" if row.rank is not None else ' class="unranked"'
    return f'<tr data-code="{escape(row.key)}"{unranked}>{"".join(cells)}</tr>'


def _table(s: StandardFigures, level: str, table_id: str, zh: str, en: str) -> str:
    rows: Sequence[LevelRow] = getattr(s, level)
    body = "".join(_row(r, s.indicators) for r in rows) or (
        f'<tr><td colspan="{len(s.indicators) + 5}">无 none</td></tr>'
    )
    return (
        f'<div class="wide"><table id="{table_id}" class="standard">'
        f"<caption>{escape(zh)} {escape(en)}</caption>{_head(s.indicators)}"
        f"<tbody>{body}</tbody></table></div>"
    )


def _formulas(s: StandardFigures) -> str:
    items = "".join(
        f'<li id="formula-{n}"><b>{escape(i.label_zh)}</b> {escape(i.label_en)}: '
        f"{escape(i.formula_zh)}；{escape(i.formula_en)}. <i>{escape(i.source)}</i></li>"
        for n, i in enumerate(s.indicators, start=1)
    )
    weights = ", ".join(f"{k} × {w:g}" for k, w in s.scoring.weights.items())
    deductions = ", ".join(f"{k} − {p:g}" for k, p in s.scoring.deductions.items()) or "none"
    return (
        f'<ol class="formulas">{items}</ol>'
        f'<p class="note" id="scoring">综合得分 score = 100 × weighted mean of ({escape(weights)}) '
        f"less ({escape(deductions)}) per count. {escape(s.scoring.source)}</p>"
    )


def standard_section(f: ReportFigures) -> str:
    """Return the section of standard indicators, or nothing when they were not gathered."""
    s = f.standard
    if s is None:
        return ""
    return "\n".join(
        [
            '<section id="standard">',
            '<h2>标准考核指标 <span class="en">standard indicators (CJ/T 292)</span></h2>',
            f'<p class="note">近 90 天上报的事件，按网格、职能部门与岗位（CJ/T 292 的区域、部门、'
            f"岗位三级）。排名须至少 {s.min_cases} 件事件，不足者列于表末、不排名。"
            f"重复件（合并、标记重复）不计入任何指标。"
            f"Cases reported in the 90 days, per grid, functional department and post (CJ/T "
            f"292's region, department and post). A row needs {s.min_cases} cases to be ranked; "
            "those with fewer follow, unranked. Duplicates (merged or marked) count in no "
            "indicator. Hover a heading for its formula.</p>",
            *(_table(s, level, tid, zh, en) for level, tid, zh, en in _LEVELS),
            _formulas(s),
            "</section>",
        ]
    )
