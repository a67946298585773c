"""The memory repository of the component register (部件) and the cases' duplicate reads."""

from __future__ import annotations

import pendulum

from gridgov.adapters._memory_engine import MemoryRecords, MemoryRepository
from gridgov.adapters._memory_scheduling import _by_id
from gridgov.adapters.support import check_limit, check_sighting_filter, check_time_range
from gridgov.cases.components import Component
from gridgov.cases.duplicates import Sighting, sighting
from gridgov.cases.model import Case
from gridgov.ports import DEFAULT_PAGE_SIZE, Page
from gridgov.records import kinds

__all__ = ["MemoryComponentRepository", "memory_sightings"]


class MemoryComponentRepository(MemoryRepository[Component]):
    """Components in a :class:`MemoryStore`; see :class:`gridgov.ports.ComponentRepository`."""

    declared = kinds.COMPONENTS

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Component]:
        """Return the components of the subtree, by id."""
        check_limit(limit)
        with self._uow._store._lock:
            self._uow._existing("cell", "cell_code", cell_code)
            return _by_id(self._read("gg_components_cell", within=cell_code), 0, after, limit)


def memory_sightings(
    cases: MemoryRecords[Case],
    *,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    category: str | None,
    component_id: str | None,
    limit: int,
) -> tuple[Sighting, ...]:
    """Return the sightings of :meth:`gridgov.ports.CaseRepository.sightings` from memory."""
    low, high = check_time_range(since, until)
    index, group = check_sighting_filter(category, component_id)
    check_limit(limit)
    with cases._uow._store._lock:
        rows = cases._read(index, group, low=(low,), high=(high,), reverse=True)
        found = []
        for _, case in rows:
            found.append(sighting(case))
            if len(found) == limit:
                break
        return tuple(found)
