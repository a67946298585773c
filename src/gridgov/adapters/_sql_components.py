"""The SQL repository of the component register (部件) and the cases' duplicate reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pendulum

from gridgov.adapters._sql_engine import SqlRepository
from gridgov.adapters.support import check_limit, check_sighting_filter, check_time_range
from gridgov.cases.components import Component
from gridgov.cases.duplicates import Sighting, sighting
from gridgov.cases.model import Case
from gridgov.ports import DEFAULT_PAGE_SIZE, Page
from gridgov.records import kinds

if TYPE_CHECKING:
    from gridgov.adapters._sql import SqlUnitOfWork

__all__ = ["SqlComponentRepository", "sql_sightings"]


class SqlComponentRepository(SqlRepository[Component]):
    """Components in a SQL store; see :class:`gridgov.ports.ComponentRepository`."""

    declared = kinds.COMPONENTS

    SUBTREE_SQL = (
        "SELECT id, version, doc FROM gg_components"
        " WHERE cell_code >= ? AND cell_code < ? AND id > ?"
        " ORDER BY id LIMIT ?"
    )

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Component]:
        """Return the components of the subtree, by id."""
        return self._subtree_page(self.SUBTREE_SQL, cell_code, limit=limit, after=after, arity=1)


# Latest first within the window: the index (column, reported_utc, id) read backwards.
_SIGHTINGS_SQL = {
    "gg_cases_category": (
        "SELECT version, doc FROM gg_cases"
        " WHERE category = ? AND reported_utc >= ? AND reported_utc < ?"
        " ORDER BY reported_utc DESC, id DESC LIMIT ?"
    ),
    "gg_cases_component": (
        "SELECT version, doc FROM gg_cases"
        " WHERE component_id IS NOT NULL AND component_id = ?"
        " AND reported_utc >= ? AND reported_utc < ?"
        " ORDER BY reported_utc DESC, id DESC LIMIT ?"
    ),
}


def sql_sightings(
    uow: SqlUnitOfWork,
    *,
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    category: str | None,
    component_id: str | None,
    limit: int,
) -> tuple[Sighting, ...]:
    """Return the sightings of :meth:`gridgov.ports.CaseRepository.sightings` from SQL."""
    low, high = check_time_range(since, until)
    index, group = check_sighting_filter(category, component_id)
    check_limit(limit)
    rows = uow.query(_SIGHTINGS_SQL[index], (group, low, high, limit))
    return tuple(sighting(uow.decode(Case, doc, version)) for version, doc in rows)
