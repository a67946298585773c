"""The memory repositories of scheduling, the audit trail and the named locks.

Venues, series, registrations, shifts and sign-ups are generic records (their references
checked by the engine) with their queries here, read from the declared indexes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pendulum

from gridgov.access import AuditEntry
from gridgov.adapters._memory_engine import MemoryRecords, MemoryRepository, page
from gridgov.adapters._memory_index import Entry
from gridgov.adapters._queries import (
    AuditQueries,
    RegistrationQueries,
    ShiftQueries,
    SignUpQueries,
    VenueQueries,
)
from gridgov.adapters.support import (
    RegistrationCounts,
    SignUpCounts,
    check_limit,
    check_text_key,
    check_window,
    decode_cursor,
    instant_key,
)
from gridgov.errors import ValidationError
from gridgov.ports import DEFAULT_PAGE_SIZE, Page
from gridgov.records import kinds
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp

if TYPE_CHECKING:
    from gridgov.adapters.memory import MemoryUnitOfWork

__all__ = [
    "MemoryAuditRepository",
    "MemoryLockRepository",
    "MemoryRegistrationRepository",
    "MemorySeriesRepository",
    "MemoryShiftRepository",
    "MemorySignUpRepository",
    "MemoryVenueRepository",
]

T = TypeVar("T")
_Timed = TypeVar("_Timed", Registration, Shift, SignUp)


def _by_id(rows: Iterable[tuple[Entry, T]], key: int, after: str | None, limit: int) -> Page[T]:
    """Return a page of the rows by the entry's part ``key`` (their id), after the cursor's."""
    start = decode_cursor(after, 1)
    found = sorted(((e[key],), r) for e, r in rows if start is None or e[key] > start[0])
    return page(iter(found), limit)


class MemoryVenueRepository(VenueQueries, MemoryRepository[Venue]):
    """Venues in a :class:`MemoryStore`; see :class:`gridgov.ports.VenueRepository`."""

    declared = kinds.VENUES


class MemorySeriesRepository(MemoryRepository[ActivitySeries]):
    """Activity series in a :class:`MemoryStore`; see :class:`gridgov.ports.SeriesRepository`."""

    declared = kinds.SERIES

    def _check(self, record: ActivitySeries, known: set[tuple[str, str]] | None = None) -> None:
        """Check the series' venue, then its space (``known`` caches each venue's spaces)."""
        space = ("space", f"{record.venue_id}\0{record.space_id}")
        if known is not None and space in known:
            return
        super()._check(record, known)
        venue = self._uow._holder("venue", record.venue_id)
        if all(s.id != record.space_id for s in venue.spaces):
            raise ValidationError("space_id", "no such space in the venue")
        if known is not None:
            known.add(space)

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the venue's series that may have occurrences in ``[start, end)``, by id."""
        low, high = check_window(start, end)
        check_limit(limit)
        decode_cursor(after, 1)
        with self._uow._store._lock:
            self._uow._existing("venue", "venue_id", venue_id)
            # Entries (first start, last end or "" if none, id): those starting before the
            # window's end whose last end, if any, is after its start.
            rows = self._read(
                "gg_series_venue", venue_id, high=(high,), keep=lambda e: not e[1] or e[1] > low
            )
            return _by_id(rows, 2, after, limit)

    def problems(self) -> Iterator[str]:
        """Yield the staged series whose venue another unit's update left without their space."""
        committed = self._staging.committed
        for sid, series in self._staging.values.items():
            stored = committed(sid)
            if series is None or (
                stored is not None
                and (stored.venue_id, stored.space_id) == (series.venue_id, series.space_id)
            ):
                continue
            venue = self._uow._holder("venue", series.venue_id)
            if venue is None or all(s.id != series.space_id for s in venue.spaces):
                yield f"series {sid!r}: its venue no longer has its space"


class MemoryRegistrationRepository(
    RegistrationQueries, RegistrationCounts, MemoryRepository[Registration]
):
    """Registrations in a :class:`MemoryStore`; see ``gridgov.ports.RegistrationRepository``."""

    declared = kinds.REGISTRATIONS


class MemoryShiftRepository(ShiftQueries, MemoryRepository[Shift]):
    """Volunteer shifts in a :class:`MemoryStore`; see :class:`gridgov.ports.ShiftRepository`."""

    declared = kinds.SHIFTS


class MemorySignUpRepository(SignUpQueries, SignUpCounts, MemoryRepository[SignUp]):
    """Sign-ups in a :class:`MemoryStore`; see :class:`gridgov.ports.SignUpRepository`."""

    declared = kinds.SIGNUPS


# -- audit trail and locks -----------------------------------------------------------------


class MemoryAuditRepository(AuditQueries, MemoryRecords[AuditEntry]):
    """The audit trail of a :class:`MemoryStore`; see :class:`gridgov.ports.AuditRepository`."""

    declared = kinds.AUDIT

    def _group_size(self, index: str, group: str) -> int:
        with self._uow._store._lock:
            return len(self._table.index(index).groups.get(group) or ())

    def _require(self, record: object) -> AuditEntry:
        entry = super()._require(record)
        instant_key(entry.at)
        return entry


class MemoryLockRepository:
    """Named locks, held optimistically: a unit fails its commit if another committed the lock.

    The unit that commits first wins; the other raises ConflictError (a retry helps), so no two
    units both act on what they counted under the same lock.
    """

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self.held: dict[str, int] = {}  # name -> times held when this unit first held it

    def hold(self, name: str) -> None:
        """Hold the lock ``name`` until the unit of work ends."""
        check_text_key("name", name)
        with self._uow._store._lock:
            self.held.setdefault(name, self._uow._state.locks.get(name, 0))

    def conflicts(self) -> Iterator[str]:
        """Yield a problem for each lock another unit committed since this one held it."""
        locks = self._uow._state.locks
        for name, base in self.held.items():
            if locks.get(name, 0) != base:
                yield f"lock {name!r} was held by another unit of work meanwhile"
