"""Scenarios: files describing an area, its workers and its ledger, and what to do with them.

- :func:`load_scenario` reads ``scenario.toml`` (and the households CSV files it names) into a
  validated :class:`Scenario`; :func:`populate` stores it in one unit of work.
- :func:`read_households_csv` and :func:`write_households_csv` stream the bulk household format.
- :mod:`gridgov.scenarios.synthetic` generates deterministic synthetic populations.
- :func:`ledger_summary` counts a grid's households, residents, elders and key populations.
- :func:`example_path` finds the example scenarios shipped with gridgov (``"minggong"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import attrs
import pendulum

from gridgov.clock import ensure_date
from gridgov.errors import NotFoundError
from gridgov.grid import GridCell
from gridgov.households import HouseholdStatus, Tag
from gridgov.ports import UnitOfWork
from gridgov.scenarios.loader import (
    CSV_COLUMNS,
    SCENARIO_FILE,
    LoadReport,
    Scenario,
    ScenarioMeta,
    load_scenario,
    populate,
    read_households_csv,
    write_households_csv,
)

__all__ = [
    "CSV_COLUMNS",
    "SCENARIO_FILE",
    "GridSummary",
    "LoadReport",
    "Scenario",
    "ScenarioMeta",
    "example_path",
    "ledger_summary",
    "load_scenario",
    "populate",
    "read_households_csv",
    "summary_total",
    "write_households_csv",
]


def example_path(name: str = "minggong") -> Path:
    """Return the directory of an example scenario shipped with gridgov.

    A wheel carries the examples as ``gridgov/_examples/<name>``; an editable install or a source
    checkout finds them in the repository's ``examples/<name>``.

    Args:
        name: The example's name.

    Returns:
        The directory holding its ``scenario.toml``.

    Raises:
        NotFoundError: If there is no such example.
    """
    packaged = resources.files("gridgov") / "_examples" / name
    candidates: list[Path] = []
    if isinstance(packaged, Path):
        candidates.append(packaged)
    candidates.append(Path(__file__).resolve().parents[3] / "examples" / name)
    for folder in candidates:
        if (folder / SCENARIO_FILE).is_file():
            return folder
    raise NotFoundError("example scenario", name)


# --- ledger summary --------------------------------------------------------------------------


def _tag_counts(value: Iterable[tuple[Tag, int]]) -> tuple[tuple[Tag, int], ...]:
    return tuple(value)


@attrs.frozen
class GridSummary:
    """The ledger of one cell at a glance (台账汇总): households, residents, elders, key groups.

    Residents, elders and tag counts cover the members of resident and relocated households, the
    people the grid serves (relocated households are still served remotely).

    Args:
        code: The cell's code (empty for a total).
        name: The cell's name.
        resident_households: Households living at their address (在住).
        relocated_households: Households moved away by demolition (拆迁外迁).
        vacant_households: Vacant dwellings (空置).
        moved_out_households: Households that moved out (迁出).
        residents: Members of resident and relocated households.
        aged_60_69: Those residents aged 60 to 69 on the summary's date.
        aged_70_79: Aged 70 to 79.
        aged_80_plus: Aged 80 or more.
        tags: Residents carrying each tag: every built-in tag in declaration order, then any
            other tag found, by code.
    """

    code: str
    name: str
    resident_households: int = 0
    relocated_households: int = 0
    vacant_households: int = 0
    moved_out_households: int = 0
    residents: int = 0
    aged_60_69: int = 0
    aged_70_79: int = 0
    aged_80_plus: int = 0
    tags: tuple[tuple[Tag, int], ...] = attrs.field(default=(), converter=_tag_counts)

    @property
    def households(self) -> int:
        """Return the number of households whatever their status."""
        return (
            self.resident_households
            + self.relocated_households
            + self.vacant_households
            + self.moved_out_households
        )

    @property
    def elders(self) -> int:
        """Return the number of residents aged 60 or more."""
        return self.aged_60_69 + self.aged_70_79 + self.aged_80_plus

    def tag_count(self, tag: Tag) -> int:
        """Return the number of residents carrying ``tag``."""
        return next((n for t, n in self.tags if t == tag), 0)


def _ordered_tags(counts: dict[Tag, int]) -> tuple[tuple[Tag, int], ...]:
    builtins = Tag.builtins()
    others = sorted((t for t in counts if t not in builtins), key=lambda t: t.code)
    return tuple((t, counts.get(t, 0)) for t in (*builtins, *others))


_SERVED = (HouseholdStatus.RESIDENT, HouseholdStatus.RELOCATED)


def ledger_summary(
    uow: UnitOfWork, cells: Iterable[GridCell], on: pendulum.Date, *, page_size: int = 1000
) -> tuple[GridSummary, ...]:
    """Summarise the ledger of each cell's subtree, reading households page by page.

    Args:
        uow: An open unit of work.
        cells: The cells to summarise, typically a community's grids.
        on: The date ages are computed on.
        page_size: Households read per query.

    Returns:
        One summary per cell, in the order given.

    Raises:
        NotFoundError: If a cell is not stored.
        ValidationError: If ``on`` is not a date in the supported range.
    """
    ensure_date(on, "on")
    summaries = []
    for cell in cells:
        counts = dict.fromkeys(HouseholdStatus, 0)
        residents = band_60 = band_70 = band_80 = 0
        tags: dict[Tag, int] = {}
        after: str | None = None
        while True:
            page = uow.households.in_subtree(cell.code, limit=page_size, after=after)
            for household in page.items:
                counts[household.status] += 1
                if household.status not in _SERVED:
                    continue
                residents += len(household.members)
                for member in household.members:
                    age = member.age_on(on)
                    if age is not None and age >= 60:
                        if age >= 80:
                            band_80 += 1
                        elif age >= 70:
                            band_70 += 1
                        else:
                            band_60 += 1
                    for tag in member.tags:
                        tags[tag] = tags.get(tag, 0) + 1
            after = page.next_cursor
            if after is None:
                break
        summaries.append(
            GridSummary(
                cell.code,
                cell.name,
                resident_households=counts[HouseholdStatus.RESIDENT],
                relocated_households=counts[HouseholdStatus.RELOCATED],
                vacant_households=counts[HouseholdStatus.VACANT],
                moved_out_households=counts[HouseholdStatus.MOVED_OUT],
                residents=residents,
                aged_60_69=band_60,
                aged_70_79=band_70,
                aged_80_plus=band_80,
                tags=_ordered_tags(tags),
            )
        )
    return tuple(summaries)


def summary_total(summaries: Sequence[GridSummary], *, name: str = "合计") -> GridSummary:
    """Add up summaries of disjoint cells into a total row.

    Args:
        summaries: The summaries, e.g. from :func:`ledger_summary`.
        name: The name of the total.

    Returns:
        A summary with an empty code whose every count is the sum of the others'.
    """
    tags: dict[Tag, int] = {}
    for s in summaries:
        for tag, n in s.tags:
            tags[tag] = tags.get(tag, 0) + n
    return GridSummary(
        "",
        name,
        resident_households=sum(s.resident_households for s in summaries),
        relocated_households=sum(s.relocated_households for s in summaries),
        vacant_households=sum(s.vacant_households for s in summaries),
        moved_out_households=sum(s.moved_out_households for s in summaries),
        residents=sum(s.residents for s in summaries),
        aged_60_69=sum(s.aged_60_69 for s in summaries),
        aged_70_79=sum(s.aged_70_79 for s in summaries),
        aged_80_plus=sum(s.aged_80_plus for s in summaries),
        tags=_ordered_tags(tags),
    )
