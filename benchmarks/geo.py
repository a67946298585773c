"""Which cell a point lies in: 1,000,000 points over 2,000 grid polygons, indexed against a loop.

Run: ``python -m benchmarks.geo [--points 1000000] [--grids 2000]``

Measured in one run, on the same points and polygons (a square district cut into ``--grids``
square grids, each a five-position ring; random points over it and a margin around it):

- ``CellLocator.locate_many``: an STR tree over the polygons, one vectorised query;
- the baseline, a loop over all polygons: for each polygon, shapely's vectorised
  ``contains_xy`` over every point (the fastest loop without an index).

Both must place every point in the same grid; the ratio is the loop's time over the locator's.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import shapely

from gridgov.geo import CellLocator
from gridgov.grid import Boundary, GridCell, GridLevel


def grids(count: int) -> list[GridCell]:
    """Return ``count`` unit-square grids laid out in a square district (with its parents)."""
    side = math.ceil(math.sqrt(count))
    out = [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "街道", GridLevel.STREET, "610102"),
        GridCell("610102003006", "社区", GridLevel.COMMUNITY, "610102003"),
    ]
    for n in range(count):
        x, y = (n % side) * 0.01, (n // side) * 0.01
        ring = ((x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01), (x, y))
        code = f"610102003006{n:03d}" if n < 1000 else f"6101020030{n // 1000:02d}{n % 1000:03d}"
        out.append(GridCell(code, f"网格{n}", GridLevel.GRID, code[:12], Boundary(((ring,),))))
    return out


def _loop(cells: list[GridCell], xy: np.ndarray) -> list[str | None]:
    found: list[str | None] = [None] * len(xy)
    for cell in sorted(cells, key=lambda c: c.code, reverse=True):  # the lower code last
        assert cell.boundary is not None
        polygon = shapely.polygons(cell.boundary.polygons[0][0])
        inside = shapely.intersects_xy(polygon, xy[:, 0], xy[:, 1])
        for i in np.flatnonzero(inside).tolist():
            found[i] = cell.code
    return found


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=2000)
    args = parser.parse_args(argv)
    cells = grids(args.grids)
    mapped = [c for c in cells if c.boundary is not None]
    side = math.ceil(math.sqrt(args.grids)) * 0.01
    rng = np.random.default_rng(2043)
    xy = rng.uniform(-0.05 * side, 1.05 * side, size=(args.points, 2))
    began = time.perf_counter()
    locator = CellLocator(cells)
    built = time.perf_counter() - began
    began = time.perf_counter()
    indexed = locator.locate_many(xy.tolist())
    located = time.perf_counter() - began
    began = time.perf_counter()
    looped = _loop(mapped, xy)
    loop = time.perf_counter() - began
    assert indexed == looped, "the locator and the loop disagree"
    placed = sum(code is not None for code in indexed)
    print(f"{args.points:,} points over {len(mapped):,} grid polygons ({placed:,} inside a grid):")
    print(f"  CellLocator: index built in {built:.2f} s, points located in {located:.2f} s")
    print(f"  loop over all polygons: {loop:.2f} s: {loop / located:.1f}x the locator")


if __name__ == "__main__":
    main()
