"""``gridgov grid``: splits, merges and retirements from the command line."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from gridgov import Address, GridCell, GridLevel, Household, Resident, open_store
from gridgov.cli import main

COMMUNITY = "610102003006"
G1, G2, M = f"{COMMUNITY}001", f"{COMMUNITY}002", f"{COMMUNITY}009"


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _store(tmp_path: Path) -> str:
    """Return the URL of a store with two grids, a household in each."""
    url = f"sqlite:///{tmp_path / 'grid.db'}"
    store = open_store(url)
    with store() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(G1, "一", GridLevel.GRID, COMMUNITY),
            GridCell(G2, "二", GridLevel.GRID, COMMUNITY),
        ]:
            uow.cells.add(cell)
        for hid, home in (("h1", G1), ("h2", G2)):
            uow.households.add(
                Household(hid, home, Address("1号楼"), members=(Resident(f"{hid}-1", "田林"),))
            )
        uow.commit()
    store.close()
    return url


def test_a_merge_prints_what_it_changed_as_json(tmp_path: Path) -> None:
    """Both grids retire, the merged one is created, both households move; nobody staffs it."""
    url = _store(tmp_path)
    code, out, err = run(
        "grid", "merge", G1, G2, "--into", f"{M}=合并网格", "--on", "2026-12-01",
        "--at", "2026-11-28T09:00+08:00", "--db", url, "--json",
    )  # fmt: skip
    expected = {
        "cases": [],
        "created": [M],
        "households": 2,
        "registrations": 0,
        "retired": [G1, G2],
        "tasks": 0,
        "unstaffed": [M],
        "venues": [],
        "workers": [],
    }
    assert (0, expected, "") == (code, json.loads(out), err)


def test_a_refused_split_exits_2_naming_the_field_and_stores_nothing(tmp_path: Path) -> None:
    """A household's building in no part: exit 2, and the grid is still active."""
    url = _store(tmp_path)
    code, out, err = run(
        "grid", "split", G1, "--into", f"{COMMUNITY}010=北", "--into", f"{COMMUNITY}011=南",
        "--on", "2026-12-01", "--db", url,
    )  # fmt: skip
    store = open_store(url)
    with store() as uow:
        valid_to = uow.cells.get(G1).valid_to
    store.close()
    assert (2, "", "gridgov: error: into: household 'h1': its building is in no part\n", None) == (
        code,
        out,
        err,
        valid_to,
    )
