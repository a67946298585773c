"""Load households into the memory store and query one grid's subtree, against plain dicts.

Run: ``python -m benchmarks.memory_store [--households 200000]``

The baseline does the same work with plain dicts and lists: it rejects duplicate household and
resident ids, and keeps the same indexes the store keeps (households per cell, residents by id,
by tag and by birth date), then answers the same subtree query in the same order. The ratio is
gridgov's time over the baseline's: the cost of transactions, versions and integrity checks.
"""

from __future__ import annotations

import argparse
import gc

from benchmarks._population import QUERY_CELL, best_of, cells, households
from gridgov.adapters.memory import MemoryStore
from gridgov.households import Household, Tag


def gridgov_load(population: list[Household]) -> MemoryStore:
    """Load the population into a fresh memory store in one unit of work."""
    store = MemoryStore()
    with store() as uow:
        for cell in cells():
            uow.cells.add(cell)
        uow.households.add_many(population)
        uow.commit()
    return store


def gridgov_query(store: MemoryStore) -> list[Household]:
    """Page through one grid's subtree."""
    out: list[Household] = []
    with store() as uow:
        after = None
        while True:
            page = uow.households.in_subtree(QUERY_CELL, limit=1000, after=after)
            out.extend(page.items)
            after = page.next_cursor
            if after is None:
                return out


class Baseline:
    """The same load and query with dicts and lists, no transactions or versions."""

    def __init__(self) -> None:
        self.cells = {c.code for c in cells()}
        self.households: dict[str, Household] = {}
        self.by_cell: dict[str, list[str]] = {}
        self.owner: dict[str, str] = {}
        self.tagged: dict[Tag, list[tuple[str, str, str]]] = {}
        self.born: dict[object, list[tuple[str, str]]] = {}

    def load(self, population: list[Household]) -> None:
        """Check and index every household."""
        for h in population:
            if h.id in self.households or h.cell_code not in self.cells:
                raise ValueError(h.id)
            self.households[h.id] = h
            self.by_cell.setdefault(h.cell_code, []).append(h.id)
            for m in h.members:
                if m.id in self.owner:
                    raise ValueError(m.id)
                self.owner[m.id] = h.id
                for tag in m.tags:
                    self.tagged.setdefault(tag, []).append((h.cell_code, h.id, m.id))
                self.born.setdefault(m.birth_date, []).append((m.id, h.id))

    def query(self) -> list[Household]:
        """Return the subtree's households by cell then id."""
        return [
            self.households[hid]
            for code in sorted(c for c in self.by_cell if c.startswith(QUERY_CELL))
            for hid in sorted(self.by_cell[code])
        ]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    population = households(args.households)
    residents = sum(len(h.members) for h in population)
    gc.collect()

    store_holder: list[MemoryStore] = []
    baseline_holder: list[Baseline] = []

    def load_gridgov() -> None:
        store_holder[:] = [gridgov_load(population)]

    def load_baseline() -> None:
        b = Baseline()
        b.load(population)
        baseline_holder[:] = [b]

    t: dict[str, float] = {}
    t["gridgov load"] = best_of(args.runs, load_gridgov)
    t["baseline load"] = best_of(args.runs, load_baseline)
    got = gridgov_query(store_holder[0])
    expected = baseline_holder[0].query()
    if [h.id for h in got] != [h.id for h in expected]:
        raise SystemExit("the store and the baseline disagree on the subtree")
    rounds = max(args.runs, 5)
    t["gridgov query"] = best_of(
        rounds, lambda: [gridgov_query(store_holder[0]) for _ in range(20)]
    )
    t["baseline query"] = best_of(rounds, lambda: [baseline_holder[0].query() for _ in range(20)])

    print(
        f"{args.households:,} households, {residents:,} residents; subtree of {QUERY_CELL}: "
        f"{len(got):,} households (query timed 20 times)"
    )
    for what in ("load", "query"):
        ours, base = t[f"gridgov {what}"], t[f"baseline {what}"]
        print(
            f"{what:>6}: gridgov {ours:8.3f} s   dict-and-list {base:8.3f} s   "
            f"ratio {ours / base:5.2f}x  (target <= 3x)"
        )


if __name__ == "__main__":
    main()
