"""Targets as data (gridgov.targets): declared in TOML or settings, checked in the report."""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.bootstrap import open_store
from gridgov.cli import main
from gridgov.errors import ValidationError
from gridgov.grid import GridLevel
from gridgov.ports import Store
from gridgov.report import ReportFigures, collect, render
from gridgov.report.targets import TOTAL
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.services.care import coverage
from gridgov.settings import Settings, indicator_targets
from gridgov.targets import (
    DEFAULT_TARGETS,
    CellTargets,
    Indicator,
    TargetCheck,
    Targets,
    TargetStatus,
    check_target,
)

DAY = pendulum.Date(2026, 11, 28)
COMMUNITY = "610102003006"
GRID = f"{COMMUNITY}001"
SMALL = """
[scenario]
name = "一个网格"

[[cells]]
code = "610102"
name = "新城区"
level = "district"

[[cells]]
code = "610102003"
name = "自强路街道"
level = "street"
parent_code = "610102"

[[cells]]
code = "610102003006"
name = "明宫社区"
level = "community"
parent_code = "610102003"

[[cells]]
code = "610102003006001"
name = "第一网格"
level = "grid"
parent_code = "610102003006"
"""


def small(tmp_path: Path, targets: str) -> Scenario:
    """Load a one-grid scenario whose scenario.toml ends with ``targets``."""
    (tmp_path / "scenario.toml").write_text(SMALL + targets, encoding="utf-8")
    return load_scenario(tmp_path)


def test_a_scenario_declares_its_targets(tmp_path: Path) -> None:
    """[targets] and [targets.cells.CODE] give the general targets and a cell's own."""
    scenario = small(
        tmp_path,
        "[targets]\nsatisfaction = 0.9\nactivity_fill = 0.5\n"
        f"[targets.cells.{GRID}]\nvisit_coverage = 0.95\n",
    )
    expected = Targets(satisfaction=0.9, activity_fill=0.5, cells={GRID: CellTargets(0.95)})
    assert (expected, expected) == (scenario.targets, scenario.settings().targets)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[targets]\nvisit_coverage = 1.2\n",
            "scenario.toml: targets.visit_coverage: expected a share from 0 to 1 (1 is 100%)",
        ),
        ("[targets]\nclosure = 0.9\n", "scenario.toml: targets.closure: unknown key"),
        (
            "[targets]\n[targets.cells.610102003006999]\nsatisfaction = 0.9\n",
            "scenario.toml: targets.cells[610102003006999]: no such cell",
        ),
        (
            f"[targets]\n[targets.cells.{GRID}]\nactivity_fill = -0.1\n",
            f"scenario.toml: targets.cells[{GRID}].activity_fill: expected a share from 0 to 1",
        ),
    ],
)
def test_a_bad_target_is_an_error_naming_the_field(tmp_path: Path, toml: str, message: str) -> None:
    """A share over 100%, an unknown indicator or cell: a ValidationError naming the field."""
    with pytest.raises(ValidationError) as raised:
        small(tmp_path, toml)
    assert str(raised.value).startswith(message)


@given(st.floats(allow_nan=False) | st.integers())
def test_a_target_is_a_share_from_0_to_1(share: float) -> None:
    """Any number from 0 to 1 is a target; any other is refused, naming the indicator."""
    if 0 <= share <= 1:
        assert share == Targets(case_closure_on_time=share).case_closure_on_time
    else:
        with pytest.raises(ValidationError) as raised:
            Targets(case_closure_on_time=share)
        assert "case_closure_on_time" == raised.value.path


def test_the_nearest_cells_targets_win() -> None:
    """A grid takes the general targets, its community's, then its own."""
    targets = Targets(
        case_closure_on_time=0.9,
        cells={COMMUNITY: CellTargets(0.95, satisfaction=0.8), GRID: CellTargets(0.9)},
    )
    assert (
        {
            Indicator.VISIT_COVERAGE: 0.9,
            Indicator.CASE_CLOSURE_ON_TIME: 0.9,
            Indicator.SATISFACTION: 0.8,
        },
        {Indicator.VISIT_COVERAGE: 1.0, Indicator.CASE_CLOSURE_ON_TIME: 0.9},
    ) == (targets.for_cell(GRID), targets.for_cell("610102003007001"))


@pytest.mark.parametrize(
    ("part", "whole", "status"),
    [
        (89, 100, TargetStatus.NOT_MET),
        (90, 100, TargetStatus.MET),
        (27, 30, TargetStatus.MET),  # 27 / 30 is 0.8999...: still 90%
        (0, 0, TargetStatus.NO_DATA),
    ],
)
def test_a_check_is_met_not_met_or_without_data(
    part: int, whole: int, status: TargetStatus
) -> None:
    """Below the target is not met; at it, met; nothing to count, no data."""
    check = check_target(
        GRID, Indicator.SATISFACTION, start=DAY, end=DAY.add(days=1), target=0.9, part=part,
        whole=whole,
    )  # fmt: skip
    assert (status, None if not whole else part / whole) == (check.status, check.actual)


def test_the_store_keeps_its_targets() -> None:
    """Settings(targets=...) is saved and read back; a store without them has the defaults."""
    store = open_store("memory://")
    targets = Targets(satisfaction=0.95, cells={GRID: CellTargets(activity_fill=0.5)})
    with store() as uow:
        before = indicator_targets(uow)
        uow.settings.save(Settings(targets=targets))
        uow.commit()
    with store() as uow:
        after = indicator_targets(uow)
    assert (DEFAULT_TARGETS, targets) == (before, after)


# --- the report ---------------------------------------------------------------------------------

TARGETS = Targets(
    visit_coverage=0.9,
    case_closure_on_time=0.8,
    satisfaction=0.9,
    activity_fill=0.5,
    cells={"610102003006007": CellTargets(visit_coverage=0.85)},
)


@pytest.fixture(scope="module")
def minggong() -> Iterator[tuple[Scenario, Store]]:
    """Return Minggong in a memory store."""
    scenario = load_scenario(example_path())
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    yield scenario, store
    store.close()


@pytest.fixture(scope="module")
def figures(minggong: tuple[Scenario, Store]) -> ReportFigures:
    """Return Minggong's report figures on its day, checked against TARGETS."""
    scenario, store = minggong
    return collect(store, scenario, on=DAY, targets=TARGETS)


def by(figures: ReportFigures, indicator: Indicator) -> dict[str, TargetCheck]:
    """Return the checks of one indicator by cell."""
    return {c.cell_code: c for c in figures.targets if c.indicator is indicator}


def test_visit_coverage_is_checked_per_grid_against_the_service(
    minggong: tuple[Scenario, Store], figures: ReportFigures
) -> None:
    """Each grid's reached / covered is the coverage service's, against its own target."""
    scenario, store = minggong
    grids = scenario.tree().at_level(GridLevel.GRID)
    with store() as uow:
        found = [
            coverage(uow, g.code, start=DAY.start_of("month"), end=DAY.add(days=1)) for g in grids
        ]
    target = {g.code: 0.85 if g.code.endswith("007") else 0.9 for g in grids}
    expected = {
        c.cell_code: (
            c.contacted,
            c.covered,
            target[c.cell_code],
            TargetStatus.MET if c.contacted >= target[c.cell_code] * c.covered else
            TargetStatus.NOT_MET,
        )
        for c in found
    }  # fmt: skip
    checks = by(figures, Indicator.VISIT_COVERAGE)
    actual = {code: (c.part, c.whole, c.target, c.status) for code, c in checks.items()}
    expected[TOTAL] = (
        sum(c.contacted for c in found),
        sum(c.covered for c in found),
        0.9,
        TargetStatus.NOT_MET,
    )
    assert expected == actual
    assert {TargetStatus.MET, TargetStatus.NOT_MET} <= {c.status for c in checks.values()}


def test_satisfaction_is_no_data_where_no_case_was_called_back(figures: ReportFigures) -> None:
    """Satisfied / called back is the case figures'; a grid without call-backs has no data."""
    checks = by(figures, Indicator.SATISFACTION)
    expected = {g.code: g.cases.parts("satisfaction_rate") for g in figures.grids}
    no_data = {code for code, (_, whole) in expected.items() if not whole}
    assert (expected, True, no_data) == (
        {code: (c.part, c.whole) for code, c in checks.items() if code != TOTAL},
        0 < len(no_data) < len(expected),
        {code for code, c in checks.items() if c.status is TargetStatus.NO_DATA},
    )


def test_activity_fill_counts_the_venues_of_the_month(figures: ReportFigures) -> None:
    """The total's fill is the month's places taken over places; its period is the month."""
    total = by(figures, Indicator.ACTIVITY_FILL)[TOTAL]
    taken = sum(v.confirmed for v in figures.month)
    places = sum(v.capacity for v in figures.month)
    assert (taken, places, DAY.start_of("month"), DAY.add(days=1), True) == (
        total.part,
        total.whole,
        total.start,
        total.end,
        math.isclose(total.actual or 0, taken / places),
    )


def test_the_page_flags_each_target_not_met(figures: ReportFigures) -> None:
    """The targets table marks as many cells 未达标 not met as there are checks not met."""
    page = render(figures)
    section = page[page.index('<section id="targets">') :]
    section = section[: section.index("</section>")]
    missed = sum(1 for c in figures.targets if c.status is TargetStatus.NOT_MET)
    no_data = sum(1 for c in figures.targets if c.status is TargetStatus.NO_DATA)
    assert (True, missed, no_data) == (
        missed > 0,
        section.count('data-status="not_met"'),
        section.count("暂无数据 no data"),
    )
    assert section.count("未达标 not met") == missed + 1  # the note above the table counts them


def test_the_page_labels_the_visit_target_as_set(minggong: tuple[Scenario, Store]) -> None:
    """The coverage chart's target line is the store's target, not a fixed 100%."""
    scenario, store = minggong
    page = render(collect(store, scenario, on=DAY, targets=Targets(visit_coverage=0.95)))
    assert ("目标 target 95%" in page, "目标 target 100%" in page) == (True, False)


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_report_json_lists_the_checks(tmp_path: Path) -> None:
    """``gridgov report --json`` holds each check: the default 100% visit target, not met."""
    db = f"sqlite:///{tmp_path / 'g.db'}"
    assert 0 == run("load", "--db", db, "--quiet")[0]
    code, out, _ = run("report", "--db", db, "--json")
    checks = json.loads(out)["targets"]
    total = next(c for c in checks if c["cell_code"] == "")
    assert (0, 8, "visit_coverage", 1.0, "not_met", "2026-11-01") == (
        code,
        len(checks),
        total["indicator"],
        total["target"],
        total["status"],
        total["start"],
    )
