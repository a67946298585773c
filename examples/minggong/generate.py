"""Generate the Minggong ledger: 2,043 synthetic households into households.csv.

Run ``python examples/minggong/generate.py [OUTPUT_DIR]``; the output directory defaults to this
one. The population is seeded and its ages are as of a fixed date, so the file never changes:
a test regenerates it and compares the bytes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pendulum

from gridgov.grid import GridLevel
from gridgov.scenarios import load_scenario, write_households_csv
from gridgov.scenarios.synthetic import generate_households, relocate

HERE = Path(__file__).resolve().parent
AS_OF = pendulum.Date(2026, 11, 28)
SEED = 2043
HOUSEHOLDS = 2043
# Most households of the two demolition areas have moved away; a few have not yet.
RELOCATED_SHARE = 0.85


def main(argv: Sequence[str]) -> int:
    """Write households.csv into ``argv[0]`` (or this directory) and print a one-line report."""
    out_dir = Path(argv[0]) if argv else HERE
    scenario = load_scenario(HERE, households=False)
    buildings = [c for c in scenario.cells if c.level is GridLevel.BUILDING]
    demolition = [c.code for c in scenario.cells if c.level is GridLevel.GRID and "拆迁" in c.name]
    households = relocate(
        generate_households(buildings, HOUSEHOLDS, seed=SEED, as_of=AS_OF),
        demolition,
        seed=SEED,
        share=RELOCATED_SHARE,
    )
    target = out_dir / "households.csv"
    count = write_households_csv(households, target)
    print(f"wrote {count} households to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
