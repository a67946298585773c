"""The synthetic city both gridgov and the baselines load: one community's cells and households."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pendulum

from gridgov.grid import GridCell, GridLevel
from gridgov.households import Household
from gridgov.scenarios.synthetic import generate_households

AS_OF = pendulum.Date(2026, 11, 28)
COMMUNITIES = 10
GRIDS_PER_COMMUNITY = 8
BUILDINGS_PER_GRID = 25
# The grid whose subtree the benchmarks query: one worker's daily view.
QUERY_CELL = "610102003001003"


def cells() -> list[GridCell]:
    """Return a street of ten communities, eight grids each, 25 buildings per grid."""
    out = [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    ]
    for c in range(1, COMMUNITIES + 1):
        community = f"610102003{c:03d}"
        out.append(GridCell(community, f"社区{c}", GridLevel.COMMUNITY, "610102003"))
        for g in range(1, GRIDS_PER_COMMUNITY + 1):
            grid = f"{community}{g:03d}"
            out.append(GridCell(grid, f"网格{c}-{g}", GridLevel.GRID, community))
            out.extend(
                GridCell(f"{grid}{b:03d}", f"{b}号楼", GridLevel.BUILDING, grid)
                for b in range(1, BUILDINGS_PER_GRID + 1)
            )
    return out


def households(count: int, seed: int = 2043) -> list[Household]:
    """Return ``count`` synthetic households spread over every building."""
    buildings = [c for c in cells() if c.level is GridLevel.BUILDING]
    return list(generate_households(buildings, count, seed=seed, as_of=AS_OF))


@contextmanager
def timed(into: dict[str, float], name: str) -> Iterator[None]:
    """Record the wall time of the block under ``name``."""
    start = time.perf_counter()
    yield
    into[name] = time.perf_counter() - start


def best_of(runs: int, work: Callable[[], object]) -> float:
    """Return the best wall time of ``runs`` calls of ``work``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)
