"""The SQL repository of the component register (部件); its queries are ``_queries``'."""

from __future__ import annotations

from gridgov.adapters._queries import ComponentQueries
from gridgov.adapters._sql_engine import SqlRepository
from gridgov.cases.components import Component
from gridgov.records import kinds

__all__ = ["SqlComponentRepository"]


class SqlComponentRepository(ComponentQueries, SqlRepository[Component]):
    """Components in a SQL store; see :class:`gridgov.ports.ComponentRepository`."""

    declared = kinds.COMPONENTS
