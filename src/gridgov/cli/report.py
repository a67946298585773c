"""``gridgov report``: coverage, case closure and escalations per grid; the HTML page."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gridgov.cli._common import (
    _TZ,
    _day,
    _iso,
    _ledger,
    _missing,
    _print_json,
    _projected,
    _share,
    _status,
    _table,
)

if TYPE_CHECKING:  # imported when ``gridgov report`` runs: see _cmd_report
    from gridgov.report import GridFigures, ReportFigures


def _cmd_report(args: argparse.Namespace) -> int:
    try:
        from gridgov.report import collect, write_page
        from gridgov.report.targets import visit_target
    except ModuleNotFoundError as exc:
        raise _missing(exc, "gridgov report") from None

    with _ledger(args) as (scenario, store, _):
        on = _day(args.on, scenario)
        figures = collect(store, scenario, on=on, min_cases=args.min_cases)
        html = None if args.html is None else write_page(figures, args.html)
    rows: list[tuple[str | int, ...]] = [_report_row(g.name, [g]) for g in figures.grids]
    rows.append(_report_row("合计", figures.grids))
    if args.json:
        _print_json(
            {
                "scenario": figures.title,
                "on": figures.on.isoformat(),
                "coverage_since": figures.month_start.isoformat(),
                "cases_since": _iso(figures.case_since),
                "until": _iso(figures.until),
                "grids": [_grid_json(g) for g in figures.grids],
                "standard": _standard_json(figures),
                "targets": _projected(figures.targets),
                "html": None if html is None else str(html),
            }
        )
    else:
        target = visit_target(figures)
        goal = "" if target is None else f" (target {target:.0%})"
        head = (
            f"{figures.title}: 报告 report on {figures.on.isoformat()}: coverage since "
            f"{figures.month_start.isoformat()}{goal}, cases and escalations since "
            f"{figures.case_since.in_timezone(_TZ).date().isoformat()}"
        )
        header = (
            "网格",
            "探访对象",
            "联系率",
            "达标率",
            "事件",
            "办结",
            "办结率",
            "按时办结",
            "督办",
        )
        print(f"{head}\n{_table(header, rows)}{_provisional_footnote(figures.grids)}")
        if figures.targets:
            print(f"\n{format_targets(figures)}")
    if html is not None:
        _status(f"wrote the HTML report to {html}")
    return 0


def _report_row(name: str, grids: Sequence[GridFigures]) -> tuple[str | int, ...]:
    """Return a row of ``gridgov report``: one grid, or the total of several."""
    covered = sum(g.coverage.covered for g in grids)
    contacted = sum(g.coverage.contacted for g in grids)
    on_cadence = sum(g.coverage.on_cadence for g in grids)
    reported = sum(g.cases.reported for g in grids)
    closed = sum(g.cases.closed for g in grids)
    on_time = sum(g.cases.closed_on_time for g in grids)
    return (
        name,
        covered,
        _share(contacted / covered if covered else 1.0),
        _share(on_cadence / covered if covered else 1.0),
        reported,
        closed,
        _share(closed / reported if reported else None),
        _share(on_time / closed if closed else None),
        sum(g.escalation_total for g in grids),
    )


def _provisional_footnote(grids: Sequence[GridFigures]) -> str:
    """Say how many open cases run on provisional deadlines, if any."""
    count = sum(g.cases.provisional for g in grids)
    if not count:
        return ""
    years = ", ".join(str(y) for y in sorted({y for g in grids for y in g.cases.provisional_years}))
    return (
        f"\n暂定 provisional: {count} open cases have deadlines counted on the statutory holidays "
        f"of {years}, not announced yet"
    )


def _standard_json(figures: ReportFigures) -> dict[str, object] | None:
    """Return the standard indicators per grid, department and post, as the page shows them."""
    from gridgov.report.standard import level_json

    s = figures.standard
    if s is None:
        return None
    return {
        "min_cases": s.min_cases,
        "indicators": [
            {
                "name": i.name,
                "label_zh": i.label_zh,
                "label_en": i.label_en,
                "formula_zh": i.formula_zh,
                "formula_en": i.formula_en,
                "source": i.source,
            }
            for i in s.indicators
        ],
        "scoring": {
            "weights": s.scoring.weights,
            "deductions": s.scoring.deductions,
            "source": s.scoring.source,
        },
        "cells": level_json(s.cells, s.indicators),
        "departments": level_json(s.departments, s.indicators),
        "workers": level_json(s.workers, s.indicators),
    }


def _grid_json(g: GridFigures) -> dict[str, object]:
    c, k = g.coverage, g.cases
    return {
        "code": g.code,
        "name": g.name,
        "coverage": {
            "covered": c.covered,
            "contacted": c.contacted,
            "on_cadence": c.on_cadence,
            "missed": len(c.missed),
        },
        "cases": {
            "reported": k.reported,
            "closed": k.closed,
            "closed_on_time": k.closed_on_time,
            "provisional": k.provisional,
            "provisional_years": list(k.provisional_years),
        },
        "escalations": {
            "total": g.escalation_total,
            "by_level": {level.value: n for level, n in g.escalations.items()},
            "by_kind": {kind.value: n for kind, n in g.escalation_kinds.items()},
        },
        "volunteers": g.volunteers,
        "volunteer_hours": g.volunteer_hours,
    }


def format_targets(figures: ReportFigures) -> str:
    """Return the targets table of ``gridgov report``: per grid, each indicator's share.

    A share below its target is marked ``未达标``; nothing to count is ``暂无数据``.
    """
    from gridgov.report.targets import TOTAL
    from gridgov.targets import Indicator, TargetStatus

    checks = figures.targets
    indicators = [i for i in Indicator if any(c.indicator is i for c in checks)]
    names = {g.code: g.name for g in figures.grids} | {TOTAL: "合计"}
    by_cell: dict[str, dict[Indicator, str]] = {}
    for c in checks:
        shown = (
            TargetStatus.NO_DATA.label_zh
            if c.actual is None
            else _share(c.actual) + ("" if c.met else " 未达标")
        )
        by_cell.setdefault(c.cell_code, {})[c.indicator] = shown
    general = {c.indicator: c.target for c in checks if c.cell_code == TOTAL}
    goals = ", ".join(
        f"{i.label_en} " + (f"{general[i]:.0%}" if i in general else "per cell") for i in indicators
    )
    missed = sum(1 for c in checks if c.status is TargetStatus.NOT_MET)
    rows: list[tuple[str | int, ...]] = [
        (names.get(code, code), *(found.get(i, "—") for i in indicators))
        for code, found in by_cell.items()
    ]
    head = f"目标 targets ({goals}): {missed} not met"
    return f"{head}\n{_table(('网格', *(i.label_zh for i in indicators)), rows)}"
