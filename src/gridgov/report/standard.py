"""The standard indicators of a report at CJ/T 292's three levels: region, department, post.

CJ/T 292 evaluates digital urban management by region (here: each grid), by functional
department, and by post (here: each worker cases are assigned to). :func:`standard_figures`
gathers, for each level, every indicator of :data:`gridgov.services.kpis.INDICATORS` with its
counts, the composite score (:class:`~gridgov.services.kpis.Scoring`) and a league table that
ranks only the entries with at least ``min_cases`` cases, so that one fast case does not top it.

Figures come from :func:`gridgov.services.cases.case_kpis` over the report's case period, so the
report, ``gridgov report --json`` and the KPI service agree. A worker is shown by id and the
cells of their post, never by name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import attrs
import pendulum

from gridgov.errors import NotFoundError, ValidationError
from gridgov.grid import GridTree
from gridgov.ports import UnitOfWork
from gridgov.services.cases import case_kpis
from gridgov.services.kpis import (
    DEFAULT_SCORING,
    INDICATORS,
    CaseFigures,
    Indicator,
    Scoring,
    league_table,
)
from gridgov.settings import stored_settings

__all__ = ["DEFAULT_MIN_CASES", "LevelRow", "StandardFigures", "standard_figures"]

DEFAULT_MIN_CASES = 10
"""The cases an entry needs to be ranked in a report's league tables, unless told otherwise."""


@attrs.frozen
class LevelRow:
    """One grid, department or post of a level, with its figures and its place.

    Args:
        key: The grid's code, the department's id or the worker's id.
        name: The grid's or department's name; for a worker, their id and the names of their
            post's cells (``"grid-01（铁一村网格）"``).
        figures: Its case figures over the report's case period.
        score: Its composite score, or ``None`` without a weighted indicator.
        rank: Its place in the league table, or ``None`` below the minimum of cases.
    """

    key: str
    name: str
    figures: CaseFigures
    score: float | None
    rank: int | None

    def value(self, indicator: Indicator) -> float | None:
        """Return the value of ``indicator`` for this entry."""
        return indicator.value(self.figures)


@attrs.frozen
class StandardFigures:
    """The standard indicators at the three levels, each in league-table order.

    Args:
        min_cases: The cases an entry needs to be ranked.
        scoring: The weights and deductions of the composite score.
        cells: One row per grid (the region level).
        departments: One row per functional department holding or returning cases.
        workers: One row per worker cases are assigned to (the post level).
        indicators: The indicators shown, in order.
    """

    min_cases: int
    scoring: Scoring
    cells: tuple[LevelRow, ...]
    departments: tuple[LevelRow, ...]
    workers: tuple[LevelRow, ...]
    indicators: tuple[Indicator, ...] = INDICATORS


def _ranked(
    figures: Mapping[str, CaseFigures],
    names: Mapping[str, str],
    scoring: Scoring,
    min_cases: int,
) -> tuple[LevelRow, ...]:
    """Return the rows of a level in league-table order: ranked first, then the others by key."""
    return tuple(
        LevelRow(r.key, names.get(r.key, r.key), figures[r.key], r.value, r.rank)
        for r in league_table(dict(figures), scoring=scoring, min_cases=min_cases)
    )


def _combined(kpis: Iterable[Mapping[str, CaseFigures]]) -> dict[str, CaseFigures]:
    """Return the figures of each key over several subtrees (disjoint roots) together."""
    parts: dict[str, list[CaseFigures]] = defaultdict(list)
    for level in kpis:
        for key, figures in level.items():
            parts[key].append(figures)
    return {k: v[0] if len(v) == 1 else CaseFigures.combined(v) for k, v in sorted(parts.items())}


def _post(uow: UnitOfWork, tree: GridTree, worker_id: str) -> str:
    """Return a worker's id and the names of the cells they are assigned to: their post."""
    try:
        worker = uow.workers.get(worker_id)
    except NotFoundError:
        return worker_id
    cells = sorted({a.cell_code for a in worker.assignments})
    names = "、".join(tree.get(c).name if c in tree else c for c in cells)
    return f"{worker_id}（{names}）" if names else worker_id


def standard_figures(
    uow: UnitOfWork,
    tree: GridTree,
    grids: Mapping[str, CaseFigures],
    *,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    min_cases: int = DEFAULT_MIN_CASES,
    scoring: Scoring = DEFAULT_SCORING,
) -> StandardFigures:
    """Gather the standard indicators per grid, department and post over ``[since, until)``.

    Args:
        uow: The unit of work (only read).
        tree: The cells: grid and post names come from it.
        grids: Each grid's figures over the period, by code (the report has them already).
        since: The case period's first instant.
        until: The instant after it.
        min_cases: The cases an entry needs to be ranked (from 1).
        scoring: The composite score's weights and deductions.

    Raises:
        ValidationError: If ``min_cases`` is not a whole number from 1.
    """
    if not isinstance(min_cases, int) or isinstance(min_cases, bool) or min_cases < 1:
        raise ValidationError("min_cases", "expected a whole number from 1")
    every = [case_kpis(uow, root.code, since=since, until=until) for root in tree.roots]
    departments = _combined(k.by_department for k in every)
    workers = _combined(k.by_worker for k in every)
    settings = stored_settings(uow)
    names = {d.id: d.name_zh for d in (settings.departments if settings else ())}
    cell_names = {code: tree.get(code).name for code in grids if code in tree}
    return StandardFigures(
        min_cases=min_cases,
        scoring=scoring,
        cells=_ranked(grids, cell_names, scoring, min_cases),
        departments=_ranked(departments, names, scoring, min_cases),
        workers=_ranked(workers, {w: _post(uow, tree, w) for w in workers}, scoring, min_cases),
    )


def level_json(
    rows: Sequence[LevelRow], indicators: Sequence[Indicator]
) -> list[dict[str, object]]:
    """Return a level's rows as JSON values: counts, each indicator, score and rank."""
    return [
        {
            "key": r.key,
            "name": r.name,
            "rank": r.rank,
            "score": r.score,
            "reported": r.figures.reported,
            "due_for_closure": r.figures.closure_base,
            "closed": r.figures.closed,
            "closed_on_time": r.figures.closed_on_time,
            "dispatched": r.figures.dispatched,
            "returned": r.figures.returned,
            "reworked": r.figures.reworked,
            "rework_rounds": r.figures.rework_rounds,
            "duplicates": r.figures.duplicates,
            "indicators": {i.name: r.value(i) for i in indicators},
        }
        for r in rows
    ]
