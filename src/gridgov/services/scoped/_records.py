"""The generic scoped repository: get, add, add_many, update and remove of any declared kind.

Where a record lies comes from its kind's declaration (:attr:`RecordKind.cells
<gridgov.records.RecordKind.cells>`), or, for the kinds scoped through another record, from
:data:`THROUGH`: a series or a shift lies in its venue's cell, a sign-up in its volunteer's
household's. A :class:`Placement` adds how the scope must reach those cells. The per-kind
repositories (:mod:`._kinds`) add their queries, each through a shared helper of
:class:`ScopedRecords`: subtree narrowing, per-resident pass-through, venue checks, whole-store
filters.
"""

from __future__ import annotations

import abc
import enum
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from gridgov.access import AuditKind, Permission
from gridgov.errors import NotFoundError
from gridgov.ports import DEFAULT_PAGE_SIZE, Page, ProgressCallback
from gridgov.records import RecordKind
from gridgov.records import kinds as k
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services.access import audit_entry
from gridgov.services.scoped._guard import READ, WRITE, Guard
from gridgov.services.scoped._pages import Fetch, SortKey, paged

__all__ = [
    "THROUGH",
    "AtVenue",
    "OfResident",
    "Placement",
    "Query",
    "Reach",
    "ScopedAddsMany",
    "ScopedRecords",
    "ScopedRemovable",
    "ScopedRepository",
    "Subtree",
    "Whole",
    "registrant",
    "stored",
]

R = TypeVar("R")
P = TypeVar("P")  # the wrapped repository's port
T = TypeVar("T")

Where = Callable[[Guard, R, Permission], Sequence[str]]
"""The cells a record lies in; the permission asked tells whether a lookup may raise."""


class Reach(enum.Enum):
    """How a principal's scope must reach a record's cells."""

    ALL = "all"
    """Every cell covered."""
    ANY = "any"
    """One cell covered (a case: its location or the unit that owns it)."""
    NEAR = "near"
    """Read: one cell covered or above the scope; write: every cell covered."""


def _venue(guard: Guard, record: ActivitySeries | Shift, permission: Permission) -> Sequence[str]:
    return (guard.venue_cell(record.venue_id),)


def _home(guard: Guard, record: SignUp, permission: Permission) -> Sequence[str]:
    if guard.everywhere:
        return ()
    if permission is WRITE:  # let the store say the resident is unknown
        return (guard.inner.households.household_of(record.resident_id).cell_code,)
    cell = guard.household_cell(record.resident_id)
    return () if cell is None else (cell,)


def _registered(guard: Guard, record: Registration, permission: Permission) -> Sequence[str]:
    return (record.cell_code,)


def registrant(guard: Guard, record: Registration) -> Sequence[str]:
    """Return the cell of a registrant's household, which a registration written must lie in."""
    # The record's cell_code is the caller's word: the registrant's household must agree.
    return (guard.inner.households.household_of(record.resident_id).cell_code,)


THROUGH: dict[str, Where[Any]] = {
    k.SERIES.name: _venue,
    k.SHIFTS.name: _venue,
    k.SIGNUPS.name: _home,
    k.REGISTRATIONS.name: _registered,
}
"""Where the records of the kinds scoped through another record lie (no declared ``cells``)."""


@attrs.frozen
class Placement(Generic[R]):
    """Where a kind's records lie and how the scope must reach them.

    Args:
        kind: The declaration.
        repository: The unit of work's attribute (``"care_tasks"``), which names queries.
        subject: The subject prefix of denials (``"care_task"`` in ``care_task:t-1``).
        reach: How the scope must reach the record's cells.
        direct: Whether a denied permission names the record's first cell (its cells are its
            own fields); otherwise the permission is checked before the cells are looked up.
        nowhere: Why a record in no cell is denied (only a scope covering every cell has it).
        nowhere_write: The same for a write, if it differs.
        also: Cells a record given to a write must lie in too (not the stored one).
        audited: Whether writes are recorded in the audit trail (the ledger's kinds), in the
            unit of the change: who, which record, which fields (:func:`changed_fields`).
    """

    kind: RecordKind[R]
    repository: str
    subject: str
    reach: Reach = Reach.ALL
    direct: bool = True
    nowhere: str = "out of scope"
    nowhere_write: str | None = None
    also: Callable[[Guard, R], Sequence[str]] | None = None
    audited: bool = False

    def where(self, guard: Guard, record: R, permission: Permission) -> Sequence[str]:
        """Return the cells ``record`` lies in (without repeats, declared order)."""
        cells = self.kind.cells
        if cells is None:
            found: Sequence[str] = THROUGH[self.kind.name](guard, record, permission)
        else:
            found = cells(record)
        return tuple(dict.fromkeys(found))


def changed_fields(before: Any, after: Any) -> str:
    """Return which fields of an attrs record changed, by name; residents by id.

    A tuple of records with ids (a household's members) is compared member by member:
    ``members: +r9, -r3, r1.tags, r1.phone``. Values are never written: they may be personal.
    """
    changes: list[str] = []
    for field in attrs.fields(type(after)):
        if field.name == "version":
            continue
        old, new = getattr(before, field.name), getattr(after, field.name)
        if old == new:
            continue
        if _keyed(old) and _keyed(new):
            changes.append(f"{field.name}: {_members_changed(old, new)}")
        else:
            changes.append(field.name)
    return "; ".join(changes)[:500]


def _keyed(value: object) -> bool:
    return isinstance(value, tuple) and all(attrs.has(type(v)) and hasattr(v, "id") for v in value)


def _members_changed(old: tuple[Any, ...], new: tuple[Any, ...]) -> str:
    before, after = {m.id: m for m in old}, {m.id: m for m in new}
    parts = [f"+{i}" for i in after if i not in before]
    parts += [f"-{i}" for i in before if i not in after]
    for i in after.keys() & before.keys():
        for field in attrs.fields(type(after[i])):
            if getattr(before[i], field.name) != getattr(after[i], field.name):
                parts.append(f"{i}.{field.name}")
    return ", ".join(parts) or "reordered"


def stored(get: Callable[[str], R], key: str) -> R | None:
    """Return the stored record, or ``None`` (the inner repository then reports it missing)."""
    try:
        return get(key)
    except NotFoundError:
        return None


def _checked(records: Iterable[R], check: Callable[[R], None]) -> Iterator[R]:
    """Yield ``records`` as the store consumes them, each checked first.

    A denial is raised inside the store's ``add_many``, which undoes what this call staged.
    """
    for record in records:
        check(record)
        yield record


class ScopedRecords(Generic[R, P]):
    """A wrapped repository whose ``get`` and ``add`` check where the record lies.

    Subclasses set ``place`` and add their kind's queries; :class:`ScopedRepository`,
    :class:`ScopedRemovable` and :class:`ScopedAddsMany` add the writes the port offers.
    """

    place: ClassVar[Placement[Any]]

    def __init__(self, guard: Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> P:
        inner: P = getattr(self._g.inner, self.place.repository)
        return inner

    @property
    def _any(self) -> Any:
        return getattr(self._g.inner, self.place.repository)

    def _subject(self, key: str) -> str:
        return f"{self.place.subject}:{key}"

    # -- checks ----------------------------------------------------------------------------

    def _check(self, permission: Permission, record: R, *, given: bool = False) -> None:
        """Deny unless the principal may ``permission`` the record where it lies.

        ``given``: a record handed to a write, which must also lie in ``place.also``.
        """
        g, place = self._g, self.place
        subject = self._subject(self.place.kind.key(record))
        if place.direct:
            cells = place.where(g, record, permission)
            g.permit(permission, subject, cells[0] if cells else None)
        else:
            g.permit(permission, subject)
            cells = place.where(g, record, permission)
        if not cells:
            if not g.everywhere:
                why = place.nowhere_write if permission is WRITE else None
                g.deny(permission, subject, None, why or place.nowhere)
        elif place.reach is Reach.ALL or (place.reach is Reach.NEAR and permission is WRITE):
            for cell in cells:
                if not g.principal.covers(cell):
                    g.deny(permission, subject, cell, "out of scope")
        else:
            reaches = g.principal.covers if place.reach is Reach.ANY else g.principal.overlaps
            if not any(map(reaches, cells)):
                g.deny(permission, subject, cells[0], "out of scope")
        if given and place.also is not None and not g.everywhere:
            for cell in place.also(g, record):
                if not g.principal.covers(cell):
                    g.deny(permission, subject, cell, "out of scope")

    def _visible(self, record: R) -> bool:
        """Return whether the principal may read ``record`` (no denial recorded)."""
        g, place = self._g, self.place
        cells = place.where(g, record, READ)
        if not cells:
            return g.everywhere
        if place.reach is Reach.ALL:
            return all(map(g.principal.covers, cells))
        reaches = g.principal.covers if place.reach is Reach.ANY else g.principal.overlaps
        return any(map(reaches, cells))

    def _check_both(self, record: R) -> R | None:
        """Check a write of ``record`` as given and as stored; return the stored one."""
        self._check(WRITE, record, given=True)
        before = stored(self._any.get, self.place.kind.key(record))
        if before is not None:
            self._check(WRITE, before)
        return before

    def _audit(self, kind: AuditKind, record: R, detail: str = "") -> None:
        """Record a write of a ledger kind in the audit trail, in the unit of the change."""
        if not self.place.audited:
            return
        cells = self.place.kind.cells(record) if self.place.kind.cells is not None else ()
        entry = audit_entry(
            self._g.principal,
            self._g.clock.now(),
            kind,
            self._subject(self.place.kind.key(record)),
            cells[0] if cells else None,
            detail,
        )
        self._g.inner.audit.add(entry)

    # -- records ---------------------------------------------------------------------------

    def get(self, key: str) -> R:
        """Return the record with ``key`` if the principal may read it, redacted to their role."""
        self._g.permit(READ, self._subject(key))
        record: R = self._any.get(key)
        self._check(READ, record)
        return self._g.shown(record)

    def get_many(self, keys: Iterable[str]) -> dict[str, R]:
        """Return the records under ``keys`` (missing ones left out) if each may be read."""
        self._g.permit(READ, f"query:{self.place.repository}.get_many")
        found: dict[str, R] = self._any.get_many(keys)
        for record in found.values():
            self._check(READ, record)
        return self._g.shown(found)

    def add(self, record: R) -> R:
        """Store a new record where the principal may write (never one holding masked numbers)."""
        self._check(WRITE, record, given=True)
        record = self._g.restored(record, None)
        self._g.write()
        added: R = self._any.add(record)
        self._audit(AuditKind.CREATED, added)
        return self._g.shown(added)

    # -- what queries share -----------------------------------------------------------------

    def _at_venue(self, subject: str, venue_id: str) -> None:
        """Deny unless the venue lies in the scope or above it."""
        self._g.permit(READ, subject)
        self._g.see(subject, self._g.venue_cell(venue_id))

    def _in_scope(self, found: tuple[R, ...]) -> tuple[R, ...]:
        """Return the rows of ``found`` the principal may read."""
        return found if self._g.everywhere else tuple(filter(self._visible, found))


class ScopedRepository(ScopedRecords[R, P]):
    """A scoped repository that also replaces records."""

    def update(self, record: R) -> R:
        """Replace a record where the principal may write, as given and as stored."""
        before = self._check_both(record)
        # What a masked principal read and left as read keeps its stored, full value.
        record = self._g.restored(record, before)
        self._g.write()
        updated: R = self._any.update(record)
        self._audit(
            AuditKind.EDITED, updated, "" if before is None else changed_fields(before, updated)
        )
        return self._g.shown(updated)


class ScopedRemovable(ScopedRepository[R, P]):
    """A scoped repository that also deletes records."""

    def remove(self, record: R) -> None:
        """Delete a record where the principal may write, as given and as stored."""
        before = self._check_both(record)
        # A removal is of a key at a version: the stored record stands for a masked copy of it,
        # and a stale copy goes to the store as given, to be refused as stale.
        if before is not None and getattr(before, "version", None) == getattr(record, "version", 0):
            record = before
        self._g.write()
        self._any.remove(record)
        self._audit(AuditKind.REMOVED, record)


class ScopedAddsMany(ScopedRecords[R, P]):
    """A scoped repository that also stores a stream of new records."""

    def add_many(
        self,
        records: Iterable[R],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new records from a stream; one the principal may not write undoes the call."""
        self._g.permit(WRITE, f"query:{self.place.repository}.add_many")
        self._g.write()
        checked = (
            self._g.restored(r, None)
            for r in _checked(records, lambda r: self._check(WRITE, r, given=True))
        )
        count: int = self._any.add_many(checked, batch_size=batch_size, progress=progress)
        return count


# -- queries, declared on a scoped repository by the name of the wrapped one's method ----------


class Query(abc.ABC, Generic[T]):
    """A query of the wrapped repository, run through a scoped one under a rule."""

    name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, repo: Any, owner: type | None = None) -> Callable[..., T]:
        return functools.partial(self.run, repo)

    @abc.abstractmethod
    def run(self, repo: Any, /, *args: Any, **kwargs: Any) -> T:
        """Check the call, run it on the wrapped repository, and return what may be seen."""


class Subtree(Query[Page[T]]):
    """A subtree query, narrowed to the parts of the scope inside the subtree asked for.

    A cell the principal covers passes through; over a cell above the scope the query runs per
    part of the scope and the pages are merged in the query's order; outside it, it is denied.

    Args:
        by: The query's order, as a key on its rows.
        within: Whether the subtree is the ``within`` argument (``None``: the whole store)
            rather than the first one.
    """

    def __init__(self, by: SortKey[T], *, within: bool = False) -> None:
        self.by = by
        self.within = within

    def run(self, repo: Any, /, *args: Any, **kwargs: Any) -> Page[T]:
        """Run the query over the subtree, or over the scope's parts inside it."""
        query = getattr(repo._any, self.name)
        limit, after = kwargs.pop("limit", DEFAULT_PAGE_SIZE), kwargs.pop("after", None)
        if self.within:
            cell = kwargs.pop("within", None)

            def run(c: str | None, a: str | None, n: int) -> Page[T]:
                return query(*args, within=c, limit=n, after=a, **kwargs)  # type: ignore[no-any-return]
        else:
            cell, *rest = args

            def run(c: str | None, a: str | None, n: int) -> Page[T]:
                return query(c, *rest, limit=n, after=a, **kwargs)  # type: ignore[no-any-return]

        name = f"{repo.place.repository}.{self.name}"
        roots = repo._g.roots(name, cell)
        if roots == ("" if cell is None else cell,):
            return repo._g.shown(run(cell, after, limit))  # type: ignore[no-any-return]

        def source(root: str) -> Fetch[T]:
            return lambda a, n: run(root, a, n)

        page = paged(name, [(r, source(r)) for r in roots], limit=limit, after=after, key=self.by)
        return repo._g.shown(page)  # type: ignore[no-any-return]


class Whole(Query[Page[T]]):
    """A query over the whole store: it needs a scope, and keeps the rows the scope may read.

    Args:
        permission: The permission it needs.
    """

    def __init__(self, permission: Permission = READ) -> None:
        self.permission = permission

    def run(self, repo: Any, /, *args: Any, **kwargs: Any) -> Page[T]:
        """Run the query, filtered page by page under this package's cursor."""
        query = getattr(repo._any, self.name)
        limit, after = kwargs.pop("limit", DEFAULT_PAGE_SIZE), kwargs.pop("after", None)
        name = f"{repo.place.repository}.{self.name}"
        repo._g.somewhere(self.permission, f"query:{name}")

        def fetch(a: str | None, n: int) -> Page[T]:
            return query(*args, limit=n, after=a, **kwargs)  # type: ignore[no-any-return]

        keep = None if repo._g.everywhere else repo._visible
        page = paged(name, [("", fetch)], limit=limit, after=after, keep=keep)
        return repo._g.shown(page)  # type: ignore[no-any-return]


class OfResident(Query[T]):
    """A query about one resident: it passes through if their household is in scope.

    Args:
        empty: The answer about a resident no household holds.
    """

    def __init__(self, empty: T) -> None:
        self.empty = empty

    def run(self, repo: Any, /, *args: Any, **kwargs: Any) -> T:
        """Check the resident's household, then run the query as asked."""
        if not repo._g.resident(args[0]):
            return self.empty
        return repo._g.shown(getattr(repo._any, self.name)(*args, **kwargs))  # type: ignore[no-any-return]


class AtVenue(Query[T]):
    """A query about one venue's programme: the venue must lie in the scope or above it."""

    def run(self, repo: Any, /, *args: Any, **kwargs: Any) -> T:
        """Check the venue, then run the query as asked."""
        repo._at_venue(f"venue:{args[0]}", args[0])
        return repo._g.shown(getattr(repo._any, self.name)(*args, **kwargs))  # type: ignore[no-any-return]
