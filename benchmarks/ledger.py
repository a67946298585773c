"""Ledger workbooks: gridgov's import of 100,000 rows against the reader's bare read of them.

Run: ``python -m benchmarks.ledger [--rows 100000] [--runs 3] [--no-openpyxl] [--no-geo]``

One workbook is written first (not timed): a title row, the header, and ``--rows`` resident
rows in households of one to four (户号, 姓名, 身份证号 as text, 性别, 出生日期 as an Excel
serial, 联系电话, 网格, 楼栋, 单元, 门牌号, 人员类别 in Chinese, 备注). Then, in one run:

- python-calamine's bare read: open the workbook and take every row's values (the chosen reader);
- openpyxl's bare read in read-only mode, values only (the reader not chosen);
- ``read_ledger``: the header found, every cell normalised and checked, the households built;
- ``import_ledger`` into an empty in-memory store (the read, then one unit of work adding them);
- ``import_ledger`` of the same workbook again: every household found unchanged, none rewritten.

Each is the best of ``--runs`` (openpyxl's read, the slowest, runs once); the ratios are
gridgov's times over calamine's bare read (target: at most 2x for the read).

Then, unless ``--no-geo`` (or without the ``geo`` extra), the ledger's other half, addresses
and points to cells: :mod:`benchmarks.geo` with 1,000,000 points over 2,000 grid polygons, the
loop over all polygons measured on the first 100,000 and 200,000 points
(``--geo-loop-sample``) and extrapolated linearly to all of them.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from gridgov.bootstrap import open_store
from gridgov.codes import id_check_character
from gridgov.grid import GridCell, GridLevel
from gridgov.ledger import import_ledger, read_ledger, serial_from_date
from gridgov.ports import Store

COMMUNITY = "610102003006"
GRIDS = [f"{COMMUNITY}{n:03d}" for n in range(1, 9)]
HEADER = ["序号", "户号", "姓名", "身份证号", "性别", "出生日期", "联系电话", "网格"]
HEADER += ["楼栋", "单元", "门牌号", "人员类别", "备注"]
TAGS = ["", "", "独居、高龄", "空巢", "低保", "党员、志愿者", "", "高龄"]


def write_workbook(path: Path, rows: int) -> int:
    """Write the benchmark's workbook; return how many households it holds."""
    import datetime as dt

    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民信息")
    sheet.append(["明宫社区居民信息台账"])
    sheet.append(HEADER)
    household = 0
    member = 4
    for n in range(rows):
        if member >= 1 + household % 4:
            household += 1
            member = 0
        member += 1
        born = dt.date(1930, 1, 1) + dt.timedelta(days=(n * 37) % 25000)
        body = f"610102{born:%Y%m%d}{n // 25000 % 1000:03d}"  # unique up to 25,000,000 rows
        grid = GRIDS[household % len(GRIDS)]
        sheet.append(
            [
                n + 1,
                f"H{household:06d}",
                f"居民{n}",
                body + id_check_character(body),
                "男" if int(body[16]) % 2 else "女",
                serial_from_date(born),
                f"139{n:08d}",
                grid,
                f"{household // 40 + 1}号楼",
                household % 4 + 1,
                f"{household % 6 + 1}0{household % 3 + 1}",
                TAGS[n % len(TAGS)],
                "",
            ]
        )
    book.save(path)
    return household


def store() -> Store:
    """Return an empty in-memory store holding the community's cells."""
    opened = open_store("memory://")
    with opened() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "街道", GridLevel.STREET, "610102"))
        uow.cells.add(GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"))
        for n, code in enumerate(GRIDS, start=1):
            uow.cells.add(GridCell(code, f"第{n}网格", GridLevel.GRID, COMMUNITY))
        uow.commit()
    return opened


def bare_calamine(path: Path) -> int:
    """Read every row's values with python-calamine; return how many rows."""
    book = CalamineWorkbook.from_path(str(path))
    return sum(1 for _ in book.get_sheet_by_name("居民信息").iter_rows())


def bare_openpyxl(path: Path) -> int:
    """Read every row's values with openpyxl in read-only mode; return how many rows."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        return sum(1 for _ in book["居民信息"].iter_rows(values_only=True))
    finally:
        book.close()


def _best(runs: int, measure: Callable[[], object]) -> float:
    """Return the best wall-clock time of ``runs`` calls of ``measure``."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        measure()
        times.append(time.perf_counter() - began)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="best of N (openpyxl: once)")
    parser.add_argument("--no-openpyxl", action="store_true", help="skip openpyxl's read")
    parser.add_argument("--no-geo", action="store_true", help="skip points to cells")
    parser.add_argument("--geo-points", type=int, default=1_000_000)
    parser.add_argument("--geo-grids", type=int, default=2000)
    parser.add_argument("--geo-loop-sample", type=int, default=200_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.xlsx"
        households = write_workbook(path, args.rows)
        size = path.stat().st_size / 1e6
        read_rows = bare_calamine(path)
        calamine = _best(args.runs, lambda: bare_calamine(path))
        openpyxl = None
        if not args.no_openpyxl:
            began = time.perf_counter()
            assert bare_openpyxl(path) == read_rows
            openpyxl = time.perf_counter() - began
        with store()() as uow:
            cells = uow.cells.tree()
        read = read_ledger(path, cells=cells)
        assert read.ok, read.problems[:3]
        assert len(read.households) == households
        reading = _best(args.runs, lambda: read_ledger(path, cells=cells))
        filled: list[Store] = []

        def first() -> None:
            target = store()
            result = import_ledger(path, target)
            assert len(result.added) == households
            filled.append(target)

        def again() -> None:
            result = import_ledger(path, filled[0])
            assert result.unchanged == households

        importing = _best(args.runs, first)
        repeating = _best(args.runs, again)
    print(
        f"{args.rows:,} rows ({households:,} households, {read.residents:,} residents), "
        f"{size:.1f} MB workbook, best of {args.runs}:"
    )
    print(f"  python-calamine bare read: {calamine:.2f} s")
    if openpyxl is not None:
        print(
            f"  openpyxl read-only bare read (once): {openpyxl:.2f} s: "
            f"{openpyxl / calamine:.1f}x calamine"
        )
    print(f"  gridgov read_ledger (checked households): {reading:.2f} s: {reading / calamine:.2f}x")
    print(f"  gridgov import_ledger, empty store: {importing:.2f} s: {importing / calamine:.2f}x")
    print(
        f"  gridgov import_ledger again, unchanged: {repeating:.2f} s: {repeating / calamine:.2f}x"
    )
    if not args.no_geo:
        try:
            from benchmarks import geo
        except ModuleNotFoundError as exc:  # the geo extra is not installed
            print(f"points to cells skipped: {exc}")
            return
        print("\n".join(geo.measure(args.geo_points, args.geo_grids, args.geo_loop_sample)))


if __name__ == "__main__":
    main()
