"""The in-memory adapter: transactional, indexed, thread-safe; the fake for unit tests.

Committed data lives in :class:`MemoryStore`, one table per declared record kind
(:data:`gridgov.records.kinds.KINDS`) with the indexes its declaration names, as a database
would keep them (cell code ranges, tags, birth dates, resident ids, contacts by resident and by
cell and time, open care tasks, cases by next check, ...): see
:mod:`gridgov.adapters._memory_index`. A unit of work stages its writes and applies them at
commit under a lock, after checking that every record it wrote is still at the version it
started from (first committer wins) and that what it references still exists. Reads see
committed data plus the unit's own staged writes.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Self

from gridgov.adapters._memory_components import MemoryComponentRepository
from gridgov.adapters._memory_engine import MemoryRecords, Staging, child_target, repository_for
from gridgov.adapters._memory_index import MemoryIndex, MemoryTable
from gridgov.adapters._memory_index import _SortedChunks as _SortedChunks  # tests subclass it
from gridgov.adapters._memory_kinds import (
    MemoryCareTaskRepository,
    MemoryCaseRepository,
    MemoryCellRepository,
    MemoryContactRepository,
    MemoryHouseholdRepository,
    MemoryRequestRepository,
    MemorySettingsRepository,
    MemoryWorkerRepository,
)
from gridgov.adapters._memory_outbox import MemoryNotificationRepository, MemoryOutboxRepository
from gridgov.adapters._memory_scheduling import (
    MemoryAuditRepository,
    MemoryLockRepository,
    MemoryRegistrationRepository,
    MemorySeriesRepository,
    MemoryShiftRepository,
    MemorySignUpRepository,
    MemoryVenueRepository,
)
from gridgov.adapters.support import check_batch_size, check_id_key, check_text_key
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, NotFoundError
from gridgov.identity import IdKey
from gridgov.records import kinds
from gridgov.settings import Settings

__all__ = [
    "MemoryAuditRepository",
    "MemoryCareTaskRepository",
    "MemoryCaseRepository",
    "MemoryCellRepository",
    "MemoryComponentRepository",
    "MemoryContactRepository",
    "MemoryHouseholdRepository",
    "MemoryLockRepository",
    "MemoryNotificationRepository",
    "MemoryOutboxRepository",
    "MemoryRegistrationRepository",
    "MemoryRequestRepository",
    "MemorySeriesRepository",
    "MemorySettingsRepository",
    "MemoryShiftRepository",
    "MemorySignUpRepository",
    "MemoryStore",
    "MemoryUnitOfWork",
    "MemoryVenueRepository",
    "MemoryWorkerRepository",
]


class _State:
    """Committed records and their indexes, a table per kind. Guarded by the store's lock."""

    def __init__(self, id_key: IdKey | None) -> None:
        self.tables: dict[str, MemoryTable] = {k.name: MemoryTable(k, id_key) for k in kinds.KINDS}
        self.locks: dict[str, int] = {}  # name -> times held by committed units
        self.settings_history: list[Settings] = []  # every saved version, oldest first
        self.commits = 0  # bumped by every commit, so a unit can tell if others wrote meanwhile


class MemoryStore:
    """An in-memory store; call it for a unit of work.

    Args:
        scheme: The code scheme cell codes must follow.
        id_key: The deployment's key for the digests of ID numbers (:mod:`gridgov.identity`);
            ``None``: no digests, and no finding people by ID number.
    """

    def __init__(self, scheme: CodeScheme = DEFAULT_SCHEME, *, id_key: IdKey | None = None) -> None:
        self._scheme = scheme
        self._id_key = check_id_key(id_key)
        self._state = _State(self._id_key)
        self._lock = threading.RLock()
        # Records claimed by a live unit of work (``cases.claim_due``, ``care_tasks.
        # claim_overdue``) by ``(kind, key)``, released when it ends.
        self._claims: dict[tuple[str, str], MemoryUnitOfWork] = {}

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme cell codes must follow."""
        return self._scheme

    @property
    def id_key(self) -> IdKey | None:
        """Return the key ID digests are computed with, ``None`` if none."""
        return self._id_key

    def rehash_ids(self, key: IdKey | None, *, batch_size: int = 500) -> int:
        """Use ``key`` from now on: every table's indexes are rebuilt under it.

        Memory has no older rows to migrate; this is :func:`gridgov.identity.rehash_ids`.
        Run it with no unit of work open (their indexes are the old ones). Returns the resident
        rows written.
        """
        check_batch_size(batch_size)
        key = check_id_key(key)
        with self._lock:
            state = self._state
            self._id_key = key
            for table in state.tables.values():
                table.rekey(key)
            state.commits += 1
            households = state.tables[kinds.HOUSEHOLDS.name].records.values()
            return sum(len(h.members) for h in households)

    def __call__(self) -> MemoryUnitOfWork:
        """Return a new unit of work."""
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Do nothing: memory is released with the store."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        t = self._state.tables
        return (
            f"MemoryStore(cells={len(t['cell'].records)}, households={len(t['household'].records)})"
        )


class MemoryUnitOfWork:
    """A unit of work over a :class:`MemoryStore`; see :class:`gridgov.ports.UnitOfWork`."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        state = store._state
        self._staged: dict[str, Staging[Any]] = {
            name: Staging(table) for name, table in state.tables.items()
        }
        self.cells = MemoryCellRepository(self)
        self.workers = MemoryWorkerRepository(self)
        self.households = MemoryHouseholdRepository(self)
        self.contacts = MemoryContactRepository(self)
        self.care_tasks = MemoryCareTaskRepository(self)
        self.cases = MemoryCaseRepository(self)
        self.settings = MemorySettingsRepository(self)
        self.venues = MemoryVenueRepository(self)
        self.components = MemoryComponentRepository(self)
        self.series = MemorySeriesRepository(self)
        self.registrations = MemoryRegistrationRepository(self)
        self.shifts = MemoryShiftRepository(self)
        self.signups = MemorySignUpRepository(self)
        self.audit = MemoryAuditRepository(self)
        self.requests = MemoryRequestRepository(self)
        self.outbox = MemoryOutboxRepository(self)
        self.notifications = MemoryNotificationRepository(self)
        self.locks = MemoryLockRepository(self)
        for staging in self._staged.values():
            staging.lost_race = lambda: any(self.locks.conflicts())
        self._claimed: set[tuple[str, str]] = set()
        self._seen_commits = state.commits
        self._targets: dict[str, tuple[Staging[Any], MemoryIndex | None]] = {}

    def _repositories(self) -> tuple[MemoryRecords[Any], ...]:
        """Return the repository of every kind, in the order of the declarations.

        A declared kind without a repository of its own here (one added to ``KINDS`` before
        its port) is stored and checked all the same, by a generic one.
        """
        found = {r.declared.name: r for r in vars(self).values() if isinstance(r, MemoryRecords)}
        return tuple(found.get(k.name) or repository_for(k)(self) for k in kinds.KINDS)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    def rollback(self) -> None:
        """Discard the changes made since the last commit."""
        for staging in self._staged.values():
            staging.clear()
        self.locks.held.clear()
        self.settings.saved.clear()
        if self._claimed:
            with self._store._lock:
                for claimed in self._claimed:
                    if self._store._claims.get(claimed) is self:
                        del self._store._claims[claimed]
            self._claimed.clear()
        # Checks made from now on see everything committed so far.
        self._seen_commits = self._store._state.commits

    def commit(self) -> None:
        """Apply every staged change atomically, or raise ConflictError and apply none.

        Raises:
            ConflictError: If a record changed since this unit read it, or the changes would break
                the store's integrity (a resident in two households, a household in a removed
                cell, ...).
        """
        with self._store._lock:
            state = self._store._state
            if state.commits != self._seen_commits:
                self._check_against_others()
            for staging in self._staged.values():
                staging.commit()
            if kinds.SETTINGS_KEY in self._staged[kinds.SETTINGS.name].values:
                state.settings_history.extend(self.settings.saved)
            for name, base in self.locks.held.items():
                state.locks[name] = base + 1
            state.commits += 1
        self.rollback()

    def _check_against_others(self) -> None:
        """Re-check what was staged against what other units committed since this one began."""
        problems = [p for staging in self._staged.values() for p in staging.conflicts()]
        problems.extend(self.locks.conflicts())
        if not problems:
            # References, against what others committed since they were staged.
            problems = [p for repository in self._repositories() for p in repository.problems()]
        if problems:
            self.rollback()
            raise ConflictError("; ".join(problems[:3]), retryable=True)

    # -- helpers used by the repositories ---------------------------------------------------

    @property
    def _state(self) -> _State:
        return self._store._state

    def _holder(self, target: str, key: str) -> Any:
        """Return the record of kind ``target`` and ``key`` as this unit sees it, or ``None``.

        A target stored as a child row (a resident) is looked up in its unique index: the
        record returned is its holder (the resident's household).
        """
        found = self._targets.get(target)
        if found is None:
            child = child_target(target)
            if child is None:
                found = self._targets[target] = (self._staged[target], None)
            else:
                staging = self._staged[child[0]]
                found = self._targets[target] = (staging, staging.table.index(child[1]))
        staging, index = found
        return staging.current(key) if index is None else staging.holding(index, key)

    def _existing(self, target: str, field: str, key: str) -> None:
        """Raise NotFoundError unless the record ``key`` of ``target`` is stored (or staged)."""
        if self._holder(target, check_text_key(field, key)) is None:
            raise NotFoundError(target, key)
