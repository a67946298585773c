"""Which cell a point lies in: 1,000,000 points over 2,000 grid polygons, indexed against a loop.

Run: ``python -m benchmarks.geo [--points 1000000] [--grids 2000] [--loop-sample 1000000]``
(``python -m benchmarks.ledger`` runs it too, after the workbooks, with a sample of 100,000).

Measured in one run, on the same points and polygons (a square district cut into ``--grids``
square grids, each a five-position ring; random points over it and a margin around it):

- ``CellLocator.locate_many``: an STR tree over the polygons, one vectorised query;
- the baseline, a loop over all polygons: for each polygon, shapely's vectorised
  ``intersects_xy`` over every point (the fastest loop without an index). With
  ``--loop-sample N`` below ``--points`` it runs over the first N/2 and the first N points only,
  and its time over every point is extrapolated on the line through those two (a fixed cost per
  polygon plus a cost per point: scaling N's time alone would count the fixed cost again and
  again), which the output says.

Both must place every point (of the sample) in the same grid; the ratio is the loop's time over
the locator's.
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


def measure(points: int, grids_: int, loop_sample: int | None = None) -> list[str]:
    """Measure the locator and the loop; return the lines to print."""
    cells = grids(grids_)
    mapped = [c for c in cells if c.boundary is not None]
    side = math.ceil(math.sqrt(grids_)) * 0.01
    rng = np.random.default_rng(2043)
    xy = rng.uniform(-0.05 * side, 1.05 * side, size=(points, 2))
    began = time.perf_counter()
    locator = CellLocator(cells)
    built = time.perf_counter() - began
    began = time.perf_counter()
    indexed = locator.locate_many(xy.tolist())
    located = time.perf_counter() - began
    sample = points if loop_sample is None else max(2, min(loop_sample, points))
    began = time.perf_counter()
    looped = _loop(mapped, xy[:sample])
    loop = time.perf_counter() - began
    assert indexed[:sample] == looped, "the locator and the loop disagree"
    how = "over every point"
    if sample < points:
        half = sample // 2
        began = time.perf_counter()
        _loop(mapped, xy[:half])
        halved = time.perf_counter() - began
        per_point = (loop - halved) / (sample - half)
        if per_point > 0:
            loop = max(0.0, loop - per_point * sample) + per_point * points
            how = f"over {half:,} and {sample:,} points, extrapolated linearly"
        else:  # noise: a busy machine ran the half slower; scale the whole sample's time
            loop *= points / sample
            how = f"over {sample:,} points, its time scaled by {points / sample:g}"
    placed = sum(code is not None for code in indexed)
    return [
        f"{points:,} points over {len(mapped):,} grid polygons ({placed:,} inside a grid):",
        f"  CellLocator: index built in {built:.2f} s, points located in {located:.2f} s",
        f"  loop over all polygons ({how}): {loop:.2f} s: {loop / located:.1f}x the locator",
    ]


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grids", type=int, default=2000)
    parser.add_argument(
        "--loop-sample", type=int, default=None, help="run the loop on N points, scaled"
    )
    args = parser.parse_args(argv)
    print("\n".join(measure(args.points, args.grids, args.loop_sample)))


if __name__ == "__main__":
    main()
