"""The example scenarios as fixtures: each one's key figures against recorded expectations.

Run with ``GRIDGOV_RECORD=1`` to write the expectations afresh after an intended change, then
review the diff of ``tests/data/expectations/`` like any other change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pendulum
import pytest

from gridgov.bootstrap import open_store
from gridgov.report import collect
from gridgov.scenarios import example_path, ledger_summary, load_scenario, populate, summary_total
from gridgov.scenarios.simulate import simulate
from gridgov.serialization import unstructure
from gridgov.services.cases import EscalationEngine

EXPECTATIONS = Path(__file__).parent / "data" / "expectations"
EXAMPLES = ("minggong",)
RECORD = os.environ.get("GRIDGOV_RECORD") == "1"


def figures_of(name: str) -> dict[str, Any]:
    """Load an example, sweep at 09:00 of its date, and return its key figures."""
    scenario = load_scenario(example_path(name))
    store = open_store("memory://", scheme=scenario.scheme)
    report = populate(store, scenario)
    on = scenario.as_of or pendulum.Date(2026, 11, 28)
    now = pendulum.datetime(on.year, on.month, on.day, 9, tz="Asia/Shanghai")
    escalations = EscalationEngine(store, scenario.workflow()).sweep(now)
    with store() as uow:
        grids = [c for c in scenario.cells if c.level.value == "grid"]
        total = summary_total(ledger_summary(uow, grids, on))
    return {
        "load": unstructure(report),
        "ledger_total": unstructure(total),
        "escalations_at_09": sorted(f"{e.case_id}:{e.kind.value}" for e in escalations),
        "report": unstructure(collect(store, scenario, on=on)),
    }


def check(name: str, actual: dict[str, Any]) -> None:
    """Compare with the recorded expectations, or record them."""
    path = EXPECTATIONS / f"{name}.json"
    text = json.dumps(actual, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if RECORD:
        path.write_text(text, encoding="utf-8")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert expected == json.loads(text)


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_key_figures_match_the_recorded_ones(name: str) -> None:
    """Each example's ledger, load, escalations and report figures are what was recorded."""
    check(name, figures_of(name))


def test_minggong_simulation_figures_match_the_recorded_ones() -> None:
    """Thirty simulated days from 2025-03-01 with seed 2043 give the recorded figures."""
    scenario = load_scenario(example_path("minggong"))
    store = open_store("memory://", scheme=scenario.scheme)
    report = simulate(store, scenario, start=pendulum.Date(2025, 3, 1), days=30, seed=2043)
    check("minggong-simulation-30d", report.figures())
