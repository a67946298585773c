"""A report's figures against the deployment's targets: the checks, and their section of the page.

:func:`assess` takes the figures :func:`gridgov.report.figures.collect` gathered (coverage
from :func:`gridgov.services.care.coverage`, case figures from
:func:`gridgov.services.cases.case_kpis`, activity fill from the scheduling services) and sets
each grid's indicators beside its targets (:meth:`gridgov.targets.Targets.for_cell`), then all
grids' together beside the general targets. Nothing is counted again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

import pendulum

from gridgov.targets import Indicator, TargetCheck, Targets, TargetStatus, check_target

if TYPE_CHECKING:  # figures imports this module to fill ReportFigures.targets
    from gridgov.report.figures import GridFigures, ReportFigures, VenueFill
    from gridgov.services.kpis import CaseFigures

__all__ = ["TOTAL", "assess", "targets_section", "visit_target"]

TOTAL = ""
"""The cell code of the checks of all a report's grids together."""


def assess(figures: ReportFigures, targets: Targets) -> tuple[TargetCheck, ...]:
    """Return each grid's indicators against its targets, then all grids' together.

    The periods are the report's: visit coverage and activity fill over the month up to the
    report's day, case closure and satisfaction over the case period (its 90 days). A grid's
    activity fill counts the venues lying in it; its satisfaction counts the cases called back.
    An indicator without a target is not checked; one with nothing to count is ``no_data``.

    Args:
        figures: The report's figures.
        targets: The targets.

    Returns:
        The checks, grid by grid in the report's order and by indicator, the total last.
    """
    checks: list[TargetCheck] = []
    for grid in figures.grids:
        fills = [v for v in figures.month if v.cell_code.startswith(grid.code)]
        checks += _checks(figures, grid.code, targets.for_cell(grid.code), [grid], fills)
    checks += _checks(figures, TOTAL, targets.for_cell(TOTAL), figures.grids, figures.month)
    return tuple(checks)


def _checks(
    figures: ReportFigures,
    code: str,
    levels: dict[Indicator, float],
    grids: Sequence[GridFigures],
    fills: Sequence[VenueFill],
) -> list[TargetCheck]:
    month = (figures.month_start, figures.on.add(days=1))
    cases = (figures.case_since.in_timezone(figures.tz).date(), figures.on.add(days=1))
    found: list[TargetCheck] = []
    for indicator, target in levels.items():
        start, end = month if indicator in _MONTHLY else cases
        part, whole = _counts(indicator, grids, fills)
        found.append(
            check_target(
                code, indicator, start=start, end=end, target=target, part=part, whole=whole
            )
        )
    return found


_MONTHLY = frozenset({Indicator.VISIT_COVERAGE, Indicator.ACTIVITY_FILL})


def _counts(
    indicator: Indicator, grids: Sequence[GridFigures], fills: Sequence[VenueFill]
) -> tuple[int, int]:
    if indicator is Indicator.VISIT_COVERAGE:
        return sum(g.coverage.contacted for g in grids), sum(g.coverage.covered for g in grids)
    if indicator is Indicator.ACTIVITY_FILL:
        return sum(v.confirmed for v in fills), sum(v.capacity for v in fills)
    rate = "on_time_rate" if indicator is Indicator.CASE_CLOSURE_ON_TIME else "satisfaction_rate"
    return _parts((g.cases for g in grids), rate)


def _parts(cases: Iterable[CaseFigures], rate: str) -> tuple[int, int]:
    part = whole = 0
    for figures in cases:
        p, w = figures.parts(rate)
        part, whole = part + p, whole + w
    return part, whole


def visit_target(figures: ReportFigures) -> float | None:
    """Return the general visit coverage target the figures were checked against, if any."""
    return next(
        (
            c.target
            for c in figures.targets
            if c.cell_code == TOTAL and c.indicator is Indicator.VISIT_COVERAGE
        ),
        None,
    )


# --- the page's section ---------------------------------------------------------------------


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _period(start: pendulum.Date, end: pendulum.Date) -> str:
    return f"{start.isoformat()} – {end.subtract(days=1).isoformat()}"


def targets_section(figures: ReportFigures) -> str:
    """Return the page's section of targets: a row per grid, a column per indicator checked.

    Each cell shows the actual share and the target; one not met is marked ``未达标 not met``,
    one without anything to count ``暂无数据 no data``. Rows carry their grid's code
    (``data-code``, ``total`` for all grids), cells their indicator (``data-kpi``) and status
    (``data-status``), as the page's other tables do. ``""`` when no target is set.
    """
    checks = figures.targets
    if not checks:
        return ""
    indicators = [i for i in Indicator if any(c.indicator is i for c in checks)]
    names = {g.code: g.name for g in figures.grids} | {TOTAL: "合计 total"}
    by_cell: dict[str, dict[Indicator, TargetCheck]] = {}
    for c in checks:
        by_cell.setdefault(c.cell_code, {})[c.indicator] = c
    head = "".join(
        f'<th scope="col">{escape(i.label_zh)}<br><span class="en">{escape(i.label_en)}</span></th>'
        for i in indicators
    )
    rows = []
    for code, found in by_cell.items():
        cells = "".join(_cell(found.get(i)) for i in indicators)
        total = ' class="total"' if code == TOTAL else ""
        rows.append(
            f'<tr{total} data-code="{escape(code or "total")}"><th scope="row">'
            f"{escape(names.get(code, code))}</th>{cells}</tr>"
        )
    missed = sum(1 for c in checks if c.status is TargetStatus.NOT_MET)
    periods = "; ".join(
        f"{i.label_en} {_period(c.start, c.end)}"
        for i in indicators
        for c in [next(c for c in checks if c.indicator is i)]
    )
    return "\n".join(
        [
            '<section id="targets">',
            '<h2>目标完成 <span class="en">targets</span></h2>',
            f'<p class="note">{missed} 项未达标 not met. {escape(periods)}.</p>',
            '<table id="targets-table">',
            "<caption>各网格指标与目标 indicators against their targets</caption>",
            f'<thead><tr><th scope="col">网格 grid</th>{head}</tr></thead>',
            "<tbody>",
            *rows,
            "</tbody>",
            "</table>",
            "</section>",
        ]
    )


def _cell(check: TargetCheck | None) -> str:
    if check is None:
        return "<td>—</td>"
    target = f"目标 target {_share(check.target)}"
    if check.status is TargetStatus.NO_DATA:
        return (
            f'<td data-status="no_data" data-kpi="{check.indicator.value}">暂无数据 no data'
            f"<br><small>{target}</small></td>"
        )
    flag = "" if check.met else ' <strong class="not-met">未达标 not met</strong>'
    return (
        f'<td data-status="{check.status.value}" data-kpi="{check.indicator.value}">'
        f"{_share(check.actual)}{flag}<br><small>{target} · {check.part}/{check.whole}</small>"
        "</td>"
    )
