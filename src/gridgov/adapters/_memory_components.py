"""The memory repository of the component register (部件); its queries are ``_queries``'."""

from __future__ import annotations

from gridgov.adapters._memory_engine import MemoryRepository
from gridgov.adapters._queries import ComponentQueries
from gridgov.cases.components import Component
from gridgov.records import kinds

__all__ = ["MemoryComponentRepository"]


class MemoryComponentRepository(ComponentQueries, MemoryRepository[Component]):
    """Components in a :class:`MemoryStore`; see :class:`gridgov.ports.ComponentRepository`."""

    declared = kinds.COMPONENTS
