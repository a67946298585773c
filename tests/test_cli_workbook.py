"""``gridgov export xlsx``: the Minggong ledger as a workbook, masked by role, audited."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest

from gridgov.access import AuditKind
from gridgov.cli import main
from gridgov.households import Household
from gridgov.ports import UnitOfWork
from gridgov.testing import leaked

pytest.importorskip("python_calamine", reason="pip install 'gridgov[xlsx]'")
pytest.importorskip("openpyxl", reason="pip install 'gridgov[xlsx]'")

from openpyxl import load_workbook

from gridgov.ledger import (
    CASE_KPI_SHEET,
    COVERAGE_SHEET,
    HOUSEHOLDS_SHEET,
    RESIDENTS_SHEET,
    WORKLIST_SHEET,
)


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Load Minggong once into a SQLite file."""
    path = tmp_path_factory.mktemp("ledger") / "minggong.db"
    assert 0 == run("load", "--db", f"sqlite:///{path}", "--quiet")[0]
    return path


@pytest.fixture
def db(loaded: Path, tmp_path: Path) -> str:
    """Return the URL of a private copy of the loaded store."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(loaded, copy)
    return f"sqlite:///{copy}"


@contextlib.contextmanager
def opened(url: str) -> Iterator[UnitOfWork]:
    """Open a unit of work on the store at ``url`` (Minggong's code scheme)."""
    from gridgov.bootstrap import open_store
    from gridgov.scenarios import example_path, load_scenario

    store = open_store(url, scheme=load_scenario(example_path(), households=False).scheme)
    try:
        with store() as uow:
            yield uow
    finally:
        store.close()


def households(url: str) -> list[Household]:
    """Return every stored household."""
    with opened(url) as uow:
        found: list[Household] = []
        after = None
        while True:
            page = uow.households.in_subtree("610102", after=after)
            found += page.items
            if (after := page.next_cursor) is None:
                return found


def texts(path: Path) -> list[str]:
    """Return every cell of every sheet of a workbook as text."""
    book = load_workbook(path, read_only=True)
    return [str(v) for s in book.worksheets for row in s.iter_rows(values_only=True) for v in row]


def test_a_default_export_is_masked_in_every_cell(db: str, tmp_path: Path) -> None:
    """Without --full, no cell of any sheet holds a name, an ID or a phone number."""
    out = tmp_path / "all.xlsx"
    code, stdout, _ = run("export", "xlsx", "--db", db, "--out", str(out), "--json")
    ledger = households(db)
    secrets = [
        *(m.name for h in ledger for m in h.members if len(m.name) > 1),
        *(m.national_id.value for h in ledger for m in h.members if m.national_id),
        *(m.phone.value for h in ledger for m in h.members if m.phone),
        *(h.forwarding.phone.value for h in ledger if h.forwarding and h.forwarding.phone),
    ]
    summary = json.loads(stdout)
    assert (0, "masked", [], 2043) == (
        code,
        summary["redaction"],
        leaked(texts(out), secrets),
        summary["sheets"][HOUSEHOLDS_SHEET],
    )
    assert [HOUSEHOLDS_SHEET, RESIDENTS_SHEET, WORKLIST_SHEET, COVERAGE_SHEET, CASE_KPI_SHEET] == (
        load_workbook(out, read_only=True).sheetnames
    )


def test_a_full_export_is_audited_and_imports_unchanged(db: str, tmp_path: Path) -> None:
    """--full by the secretary: recorded in the audit trail; importing it changes nothing."""
    out = tmp_path / "ledger.xlsx"
    code, _, err = run(
        "export", "xlsx", "--db", db, "--out", str(out), "--sheets", "ledger",
        "--full", "--as-worker", "secretary",
    )  # fmt: skip
    again, stdout, _ = run("import-ledger", str(out), "--db", db, "--dry-run", "--json")
    imported = json.loads(stdout)
    with opened(db) as uow:
        trail = uow.audit.between(
            since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
    assert (0, 0, 2043, 0, [(AuditKind.EXPORTED, "query:xlsx", "secretary")]) == (
        code,
        again,
        imported["unchanged"],
        imported["changed"],
        [(e.kind, e.subject, e.principal_id) for e in trail],
    )
    assert "--full: this export holds personal data" in err


def test_a_grid_workers_export_holds_their_grid_only(db: str, tmp_path: Path) -> None:
    """Acting as grid-01: the ledger, worklists and figures of their grid, nothing else."""
    out = tmp_path / "mine.xlsx"
    code, _, _ = run("export", "xlsx", "--db", db, "--out", str(out), "--as-worker", "grid-01")
    with opened(db) as uow:
        grid = uow.workers.get("grid-01").assignments[0].cell_code
    book = load_workbook(out, read_only=True)
    cells = {
        title: {str(row[column]) for row in book[title].iter_rows(min_row=2, values_only=True)}
        for title, column in [
            (HOUSEHOLDS_SHEET, 1),
            (WORKLIST_SHEET, 3),
            (COVERAGE_SHEET, 0),
            (CASE_KPI_SHEET, 0),
        ]
    }
    mine = sum(1 for h in households(db) if h.cell_code.startswith(grid))
    assert (0, {True}, mine) == (
        code,
        {c.startswith(grid) for found in cells.values() for c in found},
        sum(1 for _ in book[HOUSEHOLDS_SHEET].iter_rows(min_row=2)),
    )


def test_a_workbook_needs_out_and_known_sheets(db: str) -> None:
    """No --out, or an unknown part in --sheets: a usage error, exit 2."""
    no_out = run("export", "xlsx", "--db", db)
    bad = run("export", "xlsx", "--db", db, "--out", "x.xlsx", "--sheets", "ledger,cases")
    assert (2, 2) == (no_out[0], bad[0])
    assert "--out" in no_out[2]
