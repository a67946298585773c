"""Generate the Minggong ledger: 2,043 households, 45 days of care contacts, a week's registrations.

Run ``python examples/minggong/generate.py [OUTPUT_DIR]``; the output directory defaults to this
one. Everything is seeded and dated from a fixed day, so the files never change: a test
regenerates them and compares the bytes.

The contact history ends with the account's story: 田大爷, 71 and living alone in 铁一村, says on
the phone that all is fine; the worker, not reassured, calls again and he admits he is ill.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pendulum

from gridgov.access import Redaction
from gridgov.care import ContactMethod
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.grid import GridLevel
from gridgov.households import Household, LivingArrangement, Sex
from gridgov.scenarios import load_scenario, write_households_csv
from gridgov.scenarios.contacts_csv import write_contacts_csv
from gridgov.scenarios.history import generate_contacts
from gridgov.scenarios.programme import generate_registrations, write_registrations_csv
from gridgov.scenarios.synthetic import generate_households, relocate

HERE = Path(__file__).resolve().parent
AS_OF = pendulum.Date(2026, 11, 28)
SEED = 2043
HOUSEHOLDS = 2043
# Most households of the two demolition areas have moved away; a few have not yet.
RELOCATED_SHARE = 0.85
HISTORY_DAYS = 45  # enough for last month's coverage and a quarter's visits to show gaps
TIE_YI_CUN = "610102003006001"  # 铁一村网格
# Registrations per occurrence in the coming week: the free clinic draws more than its 20 places
# and the painting class more than its 8, so both have a waitlist.
DEMAND = {
    "autism-painting": 10,
    "picture-books": 13,
    "party-lesson": 24,
    "legal-education": 18,
    "science-day-clinic": 26,
}


def story(households: list[Household], worker: str) -> list[ContactAttempt]:
    """Return the two calls of the account, with the first 71-year-old living alone in 铁一村."""
    men_alone = [
        h
        for h in households
        if len(h.members) == 1
        and h.members[0].sex is Sex.MALE
        and h.members[0].living_arrangement is LivingArrangement.ALONE
        and 70 <= (h.members[0].age_on(AS_OF) or 0) <= 72
    ]
    # The account's 田大爷 is 71 and lives in 铁一村: the closest match in the synthetic ledger.
    h = min(
        men_alone,
        key=lambda h: (
            not h.cell_code.startswith(TIE_YI_CUN),
            abs((h.members[0].age_on(AS_OF) or 0) - 71),
            h.id,
        ),
    )
    r = h.members[0]
    day = pendulum.datetime(2026, 11, 27, tz="Asia/Shanghai")
    calls = (
        (day.at(10, 0), Outcome.EVASIVE, "说一切都好，语气不对"),
        (day.at(10, 40), Outcome.UNWELL, "承认生病"),
    )
    return [
        ContactAttempt(
            f"c.story.{i}", r.id, h.id, h.cell_code, ContactMethod.PHONE, outcome, worker, at, note
        )
        for i, (at, outcome, note) in enumerate(calls, start=1)
    ]


def main(argv: Sequence[str]) -> int:
    """Write households.csv into ``argv[0]`` (or this directory) and print a one-line report."""
    out_dir = Path(argv[0]) if argv else HERE
    scenario = load_scenario(HERE, households=False)
    buildings = [c for c in scenario.cells if c.level is GridLevel.BUILDING]
    demolition = [c.code for c in scenario.cells if c.level is GridLevel.GRID and "拆迁" in c.name]
    households = list(
        relocate(
            generate_households(buildings, HOUSEHOLDS, seed=SEED, as_of=AS_OF),
            demolition,
            seed=SEED,
            share=RELOCATED_SHARE,
        )
    )
    target = out_dir / "households.csv"
    count = write_households_csv(households, target, redaction=Redaction.FULL)
    print(f"wrote {count} households to {target}")
    workers = {a.cell_code: w.id for w in scenario.workers for a in w.assignments}
    history = generate_contacts(
        households,
        start=AS_OF.subtract(days=HISTORY_DAYS),
        end=AS_OF.subtract(days=1),  # the story takes the last day
        workers=workers,
        seed=SEED,
    )
    contacts = sorted(
        [*history, *story(households, workers[TIE_YI_CUN])], key=lambda c: (c.at, c.id)
    )
    target = out_dir / "contacts.csv"
    count = write_contacts_csv(contacts, target)
    print(f"wrote {count} contacts to {target}")
    week_start = pendulum.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tz="Asia/Shanghai")
    registrations = generate_registrations(
        scenario.activities,
        households,
        start=week_start,
        end=week_start.add(days=7),
        demand=DEMAND,
        seed=SEED,
        calendar=scenario.venues[0].opening,
    )
    target = out_dir / "registrations.csv"
    count = write_registrations_csv(registrations, target)
    print(f"wrote {count} registrations to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
