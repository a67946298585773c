"""Scoped units of work: every repository call checked against a principal's roles and scope.

``scoped(uow, principal, audit=sink)`` wraps a unit of work so that the services, which take any
:class:`~gridgov.ports.UnitOfWork`, only ever see and change what the principal may::

    with store() as uow:
        mine = scoped(uow, principal, audit=StoreAuditSink(store))
        work = worklist(mine, principal.id, on=today, now=now)

The rules, applied by every repository of a :class:`ScopedUnitOfWork`:

- Deny by default. Every read needs :attr:`~gridgov.access.Permission.READ`, every ``add``,
  ``add_many``, ``update``, ``remove`` and ``save`` needs ``WRITE``, and the record's cell must be
  covered by the principal's scope. An update or removal is checked against the record given and
  the record stored: nobody moves a record out of someone else's cell, nor into their own.
- A record's cell: a household's, contact's, task's and registration's ``cell_code`` (a
  registration is written only if the registrant's household is in scope too); a case's location
  or its owning unit (either one grants access; the unit that owns a case acts on it); a venue's
  cell, which is also the cell of its series and shifts; a sign-up takes the cell of the
  volunteer's household. A worker is readable when one of their assigned cells is covered or
  lies above the scope, and written only when every assigned cell is covered; a worker without
  assignments belongs to whoever covers every cell.
- Looking up: cells, venues, series and shifts may also be read when they lie above the scope
  (people see the hierarchy above them; a community's venue serves every grid in it).
  ``cells.tree()`` holds the cells covered and those above the scope.
- Queries over a subtree (``in_subtree``, ``with_tag``, ``aged``, ``open_in_subtree``,
  ``reported_in_subtree``, ``cells.subtree``) are narrowed before they reach the store: a request
  over a cell the principal covers passes through; over a cell above the scope it runs over the
  parts of the scope inside it (``Principal.roots_within``), and the pages of several parts are
  merged in the query's order under a cursor of this module; over a cell outside the scope it is
  denied. Rows outside the scope are never loaded.
- Queries about one resident (``contacts.for_resident``, ``care_tasks.open_for_resident``,
  ``registrations.for_resident``, ``signups.for_resident``) check the resident's household first
  and then pass through: a resident's history follows them to the grid that serves them now. A
  resident no household holds has nothing to show (an empty result), except to a principal
  covering every cell.
- ``registrations.for_occurrence``, ``signups.for_shift``, ``series.in_venue`` and
  ``shifts.in_venue`` need the venue to be readable; registrations and sign-ups are then narrowed
  to the registrants whose household is in scope, so a grid worker sees their own residents.
- Queries over the whole store (``workers.list``, ``cases.due``, ``cells.tree``,
  ``case_settings.get``, ``audit.between``) need a scope of at least one cell, and return only
  what the scope may read.
- ``cases.due`` returns the due cases in scope only; the escalation engine runs as
  :data:`~gridgov.access.SYSTEM` on an unscoped store. ``cases.by_external_id`` denies a case
  out of scope. ``case_settings.get`` needs ``READ``; ``case_settings.save`` needs ``WRITE`` and a
  scope covering every cell.
- ``audit.add`` is open to everyone (services record what principals do); ``audit.between``
  needs ``READ_AUDIT`` and returns the entries without a cell or with a cell in scope.
- Every denial becomes an :class:`~gridgov.access.AuditEntry` of kind ``DENIED`` handed to the
  audit sink (which must record it outside this unit of work: the unit may roll back), a warning
  on the ``gridgov.access`` logger, and an :class:`~gridgov.errors.AccessDeniedError`. Entries,
  log lines and messages name the principal, the permission, record ids and cell codes: never a
  name, phone, ID number or address.

Asking for a record that does not exist raises :class:`~gridgov.errors.NotFoundError` as the
store does; asking for one that exists out of scope is denied.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, NoReturn, Self, TypeVar

import pendulum

from gridgov.access import AuditEntry, AuditKind, AuditSink, Permission, Principal
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case
from gridgov.cases.settings import CaseSettings
from gridgov.clock import Clock, SystemClock
from gridgov.errors import AccessDeniedError, NotFoundError, ValidationError
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Tag
from gridgov.ports import (
    DEFAULT_PAGE_SIZE,
    AuditRepository,
    CareTaskRepository,
    CaseRepository,
    CaseSettingsRepository,
    CellRepository,
    ContactRepository,
    HouseholdRepository,
    Page,
    ProgressCallback,
    RegistrationRepository,
    ResidentEntry,
    SeriesRepository,
    ShiftRepository,
    SignUpRepository,
    UnitOfWork,
    VenueRepository,
    WorkerRepository,
)
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.services._common import readable_id, stamp

__all__ = ["ScopedUnitOfWork", "scoped"]

_log = logging.getLogger("gridgov.access")

T = TypeVar("T")
R = TypeVar("R")

READ = Permission.READ
WRITE = Permission.WRITE

Fetch = Callable[[str | None, int], Page[T]]
"""One source of a merged query: ``(after, limit) -> page``."""

SortKey = Callable[[T], tuple[Any, ...]]
"""The documented order of a query, as a key on its rows."""

# Denial entry ids: principal, instant and a process-wide counter, so that two scoped units of
# the same principal at the same instant never produce the same key.
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def _next_number() -> int:
    with _numbers_lock:
        return next(_numbers)


def _audit_cell(cell_code: str | None) -> str | None:
    """Return ``cell_code`` if an audit entry can hold it (a cell code, not a query over all)."""
    if cell_code is None or not cell_code.strip() or cell_code != cell_code.strip():
        return None
    return cell_code if len(cell_code) <= 64 else None


def _audit_subject(subject: str) -> str:
    return subject.strip()[:200].strip() or "unknown"


class _Guard:
    """The principal, audit sink and clock a scoped unit of work checks every call against."""

    def __init__(
        self, inner: UnitOfWork, principal: Principal, audit: AuditSink, clock: Clock
    ) -> None:
        self.inner = inner
        self.principal = principal
        self.audit = audit
        self.clock = clock
        # A scope covering every cell: checks that cost a lookup are skipped.
        self.everywhere = principal.covers("")

    # -- denial --------------------------------------------------------------------------------

    def deny(
        self, permission: Permission, subject: str, cell_code: str | None, reason: str
    ) -> NoReturn:
        """Record the denial, log it and raise AccessDeniedError (ids and codes only)."""
        at = self.clock.now()
        number = _next_number()
        key = readable_id(f"deny.{self.principal.id}.{stamp(at)}{at.microsecond:06d}.{number}")
        where = "" if not cell_code else f" in cell {cell_code}"
        message = f"{self.principal.id} may not {permission.value} {subject}{where}: {reason}"
        _log.warning("access denied: %s", message)
        try:
            entry = AuditEntry(
                id=key,
                at=at,
                principal_id=self.principal.id,
                kind=AuditKind.DENIED,
                subject=_audit_subject(subject),
                cell_code=_audit_cell(cell_code),
                detail=permission.value,
            )
            self.audit(entry)
        except Exception as exc:
            # The denial stands even if it could not be recorded.
            _log.error("could not record the denial %s: %s", key, type(exc).__name__)
            raise AccessDeniedError(message) from exc
        raise AccessDeniedError(message)

    # -- checks --------------------------------------------------------------------------------

    def permit(self, permission: Permission, subject: str, cell_code: str | None = None) -> None:
        """Deny unless one of the principal's roles grants ``permission``."""
        if not self.principal.can(permission):
            roles = ", ".join(sorted(r.value for r in self.principal.roles)) or "no role"
            self.deny(permission, subject, cell_code, f"not granted to {roles}")

    def cover(self, permission: Permission, subject: str, *cells: str) -> None:
        """Deny unless the principal has ``permission`` and covers every cell of ``cells``."""
        self.permit(permission, subject, cells[0] if cells else None)
        for cell in cells:
            if not self.principal.covers(cell):
                self.deny(permission, subject, cell, "out of scope")

    def somewhere(self, permission: Permission, subject: str) -> None:
        """Deny unless the principal has ``permission`` and a scope of at least one cell."""
        self.permit(permission, subject)
        if not self.principal.cells:
            self.deny(permission, subject, None, "no scope")

    def see(self, subject: str, cell_code: str) -> None:
        """Deny a read unless the cell is covered or lies above the scope."""
        self.permit(READ, subject, cell_code)
        if not self.principal.overlaps(cell_code):
            self.deny(READ, subject, cell_code, "out of scope")

    def roots(self, query: str, cell_code: str | None) -> tuple[str, ...]:
        """Return the cells to run a subtree query over in place of ``cell_code``, or deny.

        ``None`` stands for the whole store (``within=None``).
        """
        subject = f"query:{query}"
        self.permit(READ, subject, cell_code)
        roots = self.principal.roots_within("" if cell_code is None else cell_code)
        if not roots:
            self.deny(READ, subject, cell_code, "out of scope")
        return roots

    def resident(self, resident_id: str) -> bool:
        """Check a query about one resident; return False if no household holds them.

        Raises:
            AccessDeniedError: If the principal may not read the resident's household.
        """
        subject = f"resident:{resident_id}"
        self.permit(READ, subject)
        if self.everywhere:
            return True
        try:
            cell = self.inner.households.household_of(resident_id).cell_code
        except NotFoundError:
            return False
        if not self.principal.covers(cell):
            self.deny(READ, subject, cell, "out of scope")
        return True

    def household_cell(self, resident_id: str) -> str | None:
        """Return the cell of the resident's household, ``None`` if no household holds them."""
        try:
            return self.inner.households.household_of(resident_id).cell_code
        except NotFoundError:
            return None

    def venue_cell(self, venue_id: str) -> str:
        """Return the cell of a venue (NotFoundError if it is not stored)."""
        return self.inner.venues.get(venue_id).cell_code


def _stored(get: Callable[[str], R], key: str) -> R | None:
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


# -- merged and filtered pages ---------------------------------------------------------------

_CURSOR_PREFIX = "scoped."
_State = list[Any]  # [after, position] or None when the source is exhausted


def _encode_cursor(query: str, labels: Sequence[str], states: Sequence[_State | None]) -> str:
    raw = json.dumps([query, list(labels), list(states)], separators=(",", ":"), ensure_ascii=False)
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _bad_cursor() -> NoReturn:
    raise ValidationError("after", "not a cursor returned by this query")


def _decode_cursor(
    cursor: str, query: str, labels: Sequence[str]
) -> list[tuple[str | None, int] | None]:
    if not isinstance(cursor, str) or not cursor.startswith(_CURSOR_PREFIX):
        _bad_cursor()
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, UnicodeError):
        _bad_cursor()
    if (
        not isinstance(data, list)
        or len(data) != 3
        or data[0] != query
        or data[1] != list(labels)
        or not isinstance(data[2], list)
        or len(data[2]) != len(labels)
    ):
        _bad_cursor()
    states: list[tuple[str | None, int] | None] = []
    for state in data[2]:
        if state is None:
            states.append(None)
            continue
        if (
            not isinstance(state, list)
            or len(state) != 2
            or not (state[0] is None or isinstance(state[0], str))
            or not isinstance(state[1], int)
            or isinstance(state[1], bool)
            or state[1] < 0
        ):
            _bad_cursor()
        states.append((state[0], state[1]))
    return states


class _Stream(Generic[T]):
    """One source of a merged query, read page by page, with a position in the current page."""

    def __init__(
        self,
        fetch: Fetch[T],
        after: str | None,
        position: int,
        limit: int,
        keep: Callable[[T], bool] | None,
    ) -> None:
        self._fetch = fetch
        self._limit = limit
        self._keep = keep
        self._kept = -1  # the position whose row passed ``keep``
        # Re-read the page the cursor points into; a page holds at least ``position`` rows.
        self._load(after, max(limit, position))
        self.position = position

    def _load(self, after: str | None, limit: int) -> None:
        page = self._fetch(after, limit)
        self.after = after
        self._items = page.items
        self._next = page.next_cursor
        self.position = 0

    def head(self) -> T | None:
        """Return the next row to emit, fetching pages and skipping rows ``keep`` refuses."""
        while True:
            while self.position < len(self._items):
                item = self._items[self.position]
                if self._keep is None or self._kept == self.position or self._keep(item):
                    self._kept = self.position
                    return item
                self.position += 1
            if self._next is None:
                return None
            self._load(self._next, self._limit)
            self._kept = -1

    def advance(self) -> None:
        """Move past the row :meth:`head` returned."""
        self.position += 1

    def state(self) -> _State | None:
        """Return where to resume: ``[after, position]``, or ``None`` if nothing is left."""
        if self._keep is None and self.position >= len(self._items):
            # Without a filter the store's cursor tells whether more rows follow.
            return None if self._next is None else [self._next, 0]
        return None if self.head() is None else [self.after, self.position]


def _paged(
    query: str,
    sources: Sequence[tuple[str, Fetch[T]]],
    *,
    limit: int,
    after: str | None,
    key: SortKey[T] | None = None,
    keep: Callable[[T], bool] | None = None,
) -> Page[T]:
    """Return one page of the rows of ``sources`` that ``keep`` accepts, merged by ``key``.

    A single source without a filter is the store's own query: its page and cursor pass through.
    Otherwise the cursor is this module's: for each source, the store cursor of the page to
    resume in and the position in it.

    Args:
        query: The query's name, checked against the cursor.
        sources: ``(label, fetch)`` per source, e.g. per scope root; the labels go in the cursor.
        limit: The page size.
        after: The cursor of the previous page.
        key: The query's order (needed with several sources).
        keep: Which rows to return.
    """
    if len(sources) == 1 and keep is None:
        return sources[0][1](after, limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError("limit", "a page size is a positive integer")
    labels = [label for label, _ in sources]
    states: list[tuple[str | None, int] | None] = (
        [(None, 0)] * len(sources) if after is None else _decode_cursor(after, query, labels)
    )
    streams = [
        None if state is None else _Stream(fetch, state[0], state[1], limit, keep)
        for (_, fetch), state in zip(sources, states, strict=True)
    ]
    rows: list[T] = []
    while len(rows) < limit:
        best: tuple[_Stream[T], T] | None = None
        best_key: tuple[Any, ...] = ()
        for stream in streams:
            row = None if stream is None else stream.head()
            if stream is None or row is None:
                continue
            row_key = () if key is None else key(row)
            if best is None or row_key < best_key:
                best, best_key = (stream, row), row_key
        if best is None:
            break
        rows.append(best[1])
        best[0].advance()
    resume = [None if s is None else s.state() for s in streams]
    cursor = None if all(s is None for s in resume) else _encode_cursor(query, labels, resume)
    return Page(tuple(rows), cursor)


def _narrowed(
    guard: _Guard,
    query: str,
    cell_code: str | None,
    run: Callable[[str | None, str | None, int], Page[T]],
    *,
    limit: int,
    after: str | None,
    key: SortKey[T],
) -> Page[T]:
    """Run a subtree query over the parts of the scope inside ``cell_code``.

    Args:
        guard: The checks.
        query: The query's name.
        cell_code: The subtree asked for; ``None``: the whole store.
        run: ``(cell, after, limit) -> page`` for one subtree.
        limit: The page size.
        after: The cursor.
        key: The query's order.
    """
    roots = guard.roots(query, cell_code)
    if roots == ("" if cell_code is None else cell_code,):
        return run(cell_code, after, limit)  # covered: the query as asked

    def source(root: str) -> Fetch[T]:
        return lambda a, n: run(root, a, n)

    return _paged(query, [(r, source(r)) for r in roots], limit=limit, after=after, key=key)


def _instant(value: pendulum.DateTime | None) -> str:
    """Return a sortable UTC text of an instant (the order stores sort instants in)."""
    if value is None:
        return ""
    utc = value.in_timezone("UTC")
    return f"{utc.format('YYYY-MM-DDTHH:mm:ss')}.{utc.microsecond:06d}"


# -- repositories -----------------------------------------------------------------------------


class _ScopedCells:
    """Cells: the scope and the hierarchy above it are readable; the scope is writable."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> CellRepository:
        return self._g.inner.cells

    def get(self, code: str) -> GridCell:
        """Return the cell, if it is covered or lies above the scope."""
        self._g.see(f"cell:{code}", code)
        return self._inner.get(code)

    def add(self, cell: GridCell) -> GridCell:
        """Store a new cell in scope."""
        self._g.cover(WRITE, f"cell:{cell.code}", cell.code)
        return self._inner.add(cell)

    def update(self, cell: GridCell) -> GridCell:
        """Replace a cell in scope (a cell keeps its code: one check covers both versions)."""
        self._g.cover(WRITE, f"cell:{cell.code}", cell.code)
        return self._inner.update(cell)

    def remove(self, cell: GridCell) -> None:
        """Delete a cell in scope."""
        self._g.cover(WRITE, f"cell:{cell.code}", cell.code)
        self._inner.remove(cell)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the children of a readable cell that are covered or lie above the scope."""
        self._g.see(f"cell:{code}", code)
        return tuple(c for c in self._inner.children(code) if self._g.principal.overlaps(c.code))

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the covered cells of the subtree, by code."""

        def run(cell: str | None, a: str | None, n: int) -> Page[GridCell]:
            assert cell is not None
            return self._inner.subtree(cell, limit=n, after=a)

        return _narrowed(
            self._g, "cells.subtree", code, run, limit=limit, after=after, key=lambda c: (c.code,)
        )

    def tree(self) -> GridTree:
        """Return the cells covered and those above the scope, as a tree."""
        self._g.somewhere(READ, "query:cells.tree")
        full = self._inner.tree()
        if self._g.everywhere:
            return full
        return GridTree([c for c in full if self._g.principal.overlaps(c.code)], full.scheme)


def _worker_cells(worker: Worker) -> list[str]:
    return sorted({a.cell_code for a in worker.assignments})


class _ScopedWorkers:
    """Workers: readable through any assigned cell, writable when every one is covered."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> WorkerRepository:
        return self._g.inner.workers

    def _visible(self, worker: Worker) -> bool:
        cells = _worker_cells(worker)
        if not cells:
            return self._g.everywhere
        return any(self._g.principal.overlaps(c) for c in cells)

    def _check_read(self, worker: Worker) -> None:
        if not self._visible(worker):
            cells = _worker_cells(worker)
            self._g.deny(READ, f"worker:{worker.id}", cells[0] if cells else None, "out of scope")

    def _check_write(self, worker: Worker) -> None:
        subject = f"worker:{worker.id}"
        cells = _worker_cells(worker)
        if not cells and not self._g.everywhere:
            self._g.deny(WRITE, subject, None, "a worker without assignments is managed centrally")
        self._g.cover(WRITE, subject, *cells)

    def get(self, worker_id: str) -> Worker:
        """Return the worker, if one of their cells is covered or lies above the scope."""
        self._g.permit(READ, f"worker:{worker_id}")
        worker = self._inner.get(worker_id)
        self._check_read(worker)
        return worker

    def add(self, worker: Worker) -> Worker:
        """Store a new worker whose assigned cells are all covered."""
        self._g.permit(WRITE, f"worker:{worker.id}")
        self._check_write(worker)
        return self._inner.add(worker)

    def update(self, worker: Worker) -> Worker:
        """Replace a worker whose assigned cells, as given and as stored, are all covered."""
        self._g.permit(WRITE, f"worker:{worker.id}")
        self._check_write(worker)
        stored = _stored(self._inner.get, worker.id)
        if stored is not None:
            self._check_write(stored)
        return self._inner.update(worker)

    def remove(self, worker: Worker) -> None:
        """Delete a worker whose assigned cells, as given and as stored, are all covered."""
        self._g.permit(WRITE, f"worker:{worker.id}")
        self._check_write(worker)
        stored = _stored(self._inner.get, worker.id)
        if stored is not None:
            self._check_write(stored)
        self._inner.remove(worker)

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return the readable workers, by id."""
        self._g.somewhere(READ, "query:workers.list")
        return _paged(
            "workers.list",
            [("", lambda a, n: self._inner.list(limit=n, after=a))],
            limit=limit,
            after=after,
            keep=None if self._g.everywhere else self._visible,
        )

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers of a cell that is covered or lies above the scope."""
        self._g.see("query:workers.assigned_to", cell_code)
        return tuple(w for w in self._inner.assigned_to(cell_code, on=on) if self._visible(w))


class _ScopedHouseholds:
    """Households: read and written in scope; queries narrowed to the scope."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> HouseholdRepository:
        return self._g.inner.households

    def get(self, household_id: str) -> Household:
        """Return a household in scope."""
        subject = f"household:{household_id}"
        self._g.permit(READ, subject)
        household = self._inner.get(household_id)
        self._g.cover(READ, subject, household.cell_code)
        return household

    def household_of(self, resident_id: str) -> Household:
        """Return the household of a resident, if it is in scope."""
        subject = f"resident:{resident_id}"
        self._g.permit(READ, subject)
        household = self._inner.household_of(resident_id)
        self._g.cover(READ, subject, household.cell_code)
        return household

    def _check(self, household: Household) -> None:
        self._g.cover(WRITE, f"household:{household.id}", household.cell_code)

    def _check_both(self, household: Household) -> None:
        self._check(household)
        stored = _stored(self._inner.get, household.id)
        if stored is not None:
            self._check(stored)

    def add(self, household: Household) -> Household:
        """Store a new household in scope."""
        self._check(household)
        return self._inner.add(household)

    def add_many(
        self,
        households: Iterable[Household],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new households in scope from a stream; one out of scope undoes the call."""
        self._g.permit(WRITE, "query:households.add_many")
        return self._inner.add_many(
            _checked(households, self._check), batch_size=batch_size, progress=progress
        )

    def update(self, household: Household) -> Household:
        """Replace a household in scope that stays in scope."""
        self._check_both(household)
        return self._inner.update(household)

    def remove(self, household: Household) -> None:
        """Delete a household in scope."""
        self._check_both(household)
        self._inner.remove(household)

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Household]:
        """Return the households of the subtree in scope, by cell code then id."""

        def run(cell: str | None, a: str | None, n: int) -> Page[Household]:
            assert cell is not None
            return self._inner.in_subtree(cell, limit=n, after=a)

        return _narrowed(
            self._g,
            "households.in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda h: (h.cell_code, h.id),
        )

    def with_tag(
        self,
        tag: Tag,
        *,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return the residents in scope carrying ``tag``, by cell, household and id."""

        def run(cell: str | None, a: str | None, n: int) -> Page[ResidentEntry]:
            return self._inner.with_tag(tag, within=cell, limit=n, after=a)

        return _narrowed(
            self._g,
            "households.with_tag",
            within,
            run,
            limit=limit,
            after=after,
            key=lambda e: (e.cell_code, e.household_id, e.resident.id),
        )

    def aged(
        self,
        *,
        on: pendulum.Date,
        min_age: int | None = None,
        max_age: int | None = None,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return the residents in scope within the age bounds, oldest first."""

        def run(cell: str | None, a: str | None, n: int) -> Page[ResidentEntry]:
            return self._inner.aged(
                on=on, min_age=min_age, max_age=max_age, within=cell, limit=n, after=a
            )

        def key(e: ResidentEntry) -> tuple[str, str]:
            birth = e.resident.birth_date
            return ("" if birth is None else birth.isoformat(), e.resident.id)

        return _narrowed(self._g, "households.aged", within, run, limit=limit, after=after, key=key)


class _ScopedContacts:
    """The contact ledger: read and written in scope."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> ContactRepository:
        return self._g.inner.contacts

    def get(self, contact_id: str) -> ContactAttempt:
        """Return a contact in scope."""
        subject = f"contact:{contact_id}"
        self._g.permit(READ, subject)
        contact = self._inner.get(contact_id)
        self._g.cover(READ, subject, contact.cell_code)
        return contact

    def add(self, contact: ContactAttempt) -> ContactAttempt:
        """Store a new contact in scope (the store checks it matches the resident's household)."""
        self._g.cover(WRITE, f"contact:{contact.id}", contact.cell_code)
        return self._inner.add(contact)

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return the contacts of a resident whose household is in scope, newest first."""
        if not self._g.resident(resident_id):
            return Page(())
        return self._inner.for_resident(resident_id, since=since, limit=limit, after=after)

    def in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return the contacts of the subtree in scope, by time."""

        def run(cell: str | None, a: str | None, n: int) -> Page[ContactAttempt]:
            assert cell is not None
            return self._inner.in_subtree(cell, since=since, until=until, limit=n, after=a)

        return _narrowed(
            self._g,
            "contacts.in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda c: (_instant(c.at), c.id),
        )


class _ScopedCareTasks:
    """Care tasks: read and written in scope."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> CareTaskRepository:
        return self._g.inner.care_tasks

    def get(self, task_id: str) -> CareTask:
        """Return a task in scope."""
        subject = f"care_task:{task_id}"
        self._g.permit(READ, subject)
        task = self._inner.get(task_id)
        self._g.cover(READ, subject, task.cell_code)
        return task

    def _check(self, task: CareTask) -> None:
        self._g.cover(WRITE, f"care_task:{task.id}", task.cell_code)

    def add(self, task: CareTask) -> CareTask:
        """Store a new task in scope."""
        self._check(task)
        return self._inner.add(task)

    def add_many(
        self,
        tasks: Iterable[CareTask],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new tasks in scope from a stream; one out of scope undoes the call."""
        self._g.permit(WRITE, "query:care_tasks.add_many")
        return self._inner.add_many(
            _checked(tasks, self._check), batch_size=batch_size, progress=progress
        )

    def update(self, task: CareTask) -> CareTask:
        """Replace a task in scope that stays in scope."""
        self._check(task)
        stored = _stored(self._inner.get, task.id)
        if stored is not None:
            self._check(stored)
        return self._inner.update(task)

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the open tasks of a resident whose household is in scope."""
        if not self._g.resident(resident_id):
            return ()
        return self._inner.open_for_resident(resident_id)

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return the open tasks of the subtree in scope, by due instant then id."""

        def run(cell: str | None, a: str | None, n: int) -> Page[CareTask]:
            assert cell is not None
            return self._inner.open_in_subtree(
                cell, starting_before=starting_before, limit=n, after=a
            )

        return _narrowed(
            self._g,
            "care_tasks.open_in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda t: (_instant(t.due), t.id),
        )


class _ScopedCases:
    """Cases: in scope by their location or by the unit that owns them."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> CaseRepository:
        return self._g.inner.cases

    def _visible(self, case: Case) -> bool:
        covers = self._g.principal.covers
        return covers(case.cell_code) or covers(case.owner_cell)

    def _check(self, permission: Permission, case: Case) -> None:
        subject = f"case:{case.id}"
        self._g.permit(permission, subject, case.cell_code)
        if not self._visible(case):
            self._g.deny(permission, subject, case.cell_code, "out of scope")

    def get(self, case_id: str) -> Case:
        """Return a case located or owned in scope."""
        self._g.permit(READ, f"case:{case_id}")
        case = self._inner.get(case_id)
        self._check(READ, case)
        return case

    def add(self, case: Case) -> Case:
        """Store a new case located or owned in scope."""
        self._check(WRITE, case)
        return self._inner.add(case)

    def add_many(
        self,
        cases: Iterable[Case],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new cases in scope from a stream; one out of scope undoes the call."""
        self._g.permit(WRITE, "query:cases.add_many")
        return self._inner.add_many(
            _checked(cases, lambda c: self._check(WRITE, c)),
            batch_size=batch_size,
            progress=progress,
        )

    def update(self, case: Case) -> Case:
        """Replace a case in scope, as stored and as given."""
        self._check(WRITE, case)
        stored = _stored(self._inner.get, case.id)
        if stored is not None:
            self._check(WRITE, stored)
        return self._inner.update(case)

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that external id, if any; deny one out of scope."""
        self._g.permit(READ, "query:cases.by_external_id")
        case = self._inner.by_external_id(external_id)
        if case is not None:
            self._check(READ, case)
        return case

    def due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return the due cases in scope, by next check then id.

        The escalation engine sweeps every due case: it runs as SYSTEM on an unscoped store.
        """
        self._g.somewhere(READ, "query:cases.due")
        return _paged(
            "cases.due",
            [("", lambda a, n: self._inner.due(at_or_before=at_or_before, limit=n, after=a))],
            limit=limit,
            after=after,
            keep=None if self._g.everywhere else self._visible,
        )

    def open_in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree in scope, by reported_at, id."""

        def run(cell: str | None, a: str | None, n: int) -> Page[Case]:
            assert cell is not None
            return self._inner.open_in_subtree(cell, limit=n, after=a)

        return _narrowed(
            self._g,
            "cases.open_in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda c: (_instant(c.reported_at), c.id),
        )

    def reported_in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return the cases of the subtree in scope reported in ``[since, until)``."""

        def run(cell: str | None, a: str | None, n: int) -> Page[Case]:
            assert cell is not None
            return self._inner.reported_in_subtree(cell, since=since, until=until, limit=n, after=a)

        return _narrowed(
            self._g,
            "cases.reported_in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda c: (_instant(c.reported_at), c.id),
        )


class _ScopedCaseSettings:
    """Case settings: read with READ; changed only by a principal covering every cell."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> CaseSettingsRepository:
        return self._g.inner.case_settings

    def get(self) -> CaseSettings:
        """Return the stored settings."""
        self._g.somewhere(READ, "case_settings")
        return self._inner.get()

    def save(self, settings: CaseSettings) -> CaseSettings:
        """Store the settings: they rule every cell, so the scope must cover every cell."""
        self._g.permit(WRITE, "case_settings")
        if not self._g.everywhere:
            self._g.deny(WRITE, "case_settings", None, "the settings rule every cell")
        return self._inner.save(settings)


class _ScopedVenues:
    """Venues: readable in scope and above it (they serve every cell below), written in scope."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> VenueRepository:
        return self._g.inner.venues

    def get(self, venue_id: str) -> Venue:
        """Return a venue in scope or above it."""
        self._g.permit(READ, f"venue:{venue_id}")
        venue = self._inner.get(venue_id)
        self._g.see(f"venue:{venue_id}", venue.cell_code)
        return venue

    def _check(self, venue: Venue) -> None:
        self._g.cover(WRITE, f"venue:{venue.id}", venue.cell_code)

    def add(self, venue: Venue) -> Venue:
        """Store a new venue in scope."""
        self._check(venue)
        return self._inner.add(venue)

    def update(self, venue: Venue) -> Venue:
        """Replace a venue in scope that stays in scope."""
        self._check(venue)
        stored = _stored(self._inner.get, venue.id)
        if stored is not None:
            self._check(stored)
        return self._inner.update(venue)

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree in scope, by id."""

        def run(cell: str | None, a: str | None, n: int) -> Page[Venue]:
            assert cell is not None
            return self._inner.in_subtree(cell, limit=n, after=a)

        return _narrowed(
            self._g,
            "venues.in_subtree",
            cell_code,
            run,
            limit=limit,
            after=after,
            key=lambda v: (v.id,),
        )


class _ScopedSeries:
    """Activity series: in the cell of their venue."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> SeriesRepository:
        return self._g.inner.series

    def get(self, series_id: str) -> ActivitySeries:
        """Return a series whose venue is in scope or above it."""
        subject = f"series:{series_id}"
        self._g.permit(READ, subject)
        series = self._inner.get(series_id)
        self._g.see(subject, self._g.venue_cell(series.venue_id))
        return series

    def _check(self, series: ActivitySeries) -> None:
        subject = f"series:{series.id}"
        self._g.permit(WRITE, subject)
        self._g.cover(WRITE, subject, self._g.venue_cell(series.venue_id))

    def add(self, series: ActivitySeries) -> ActivitySeries:
        """Store a new series of a venue in scope."""
        self._check(series)
        return self._inner.add(series)

    def add_many(
        self,
        series: Iterable[ActivitySeries],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Store new series of venues in scope from a stream; one out of scope undoes the call."""
        self._g.permit(WRITE, "query:series.add_many")
        return self._inner.add_many(
            _checked(series, self._check), batch_size=batch_size, progress=progress
        )

    def update(self, series: ActivitySeries) -> ActivitySeries:
        """Replace a series of a venue in scope that stays in scope."""
        self._check(series)
        stored = _stored(self._inner.get, series.id)
        if stored is not None:
            self._check(stored)
        return self._inner.update(series)

    def in_venue(
        self,
        venue_id: str,
        *,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ActivitySeries]:
        """Return the series of a venue in scope or above it."""
        subject = f"venue:{venue_id}"
        self._g.permit(READ, subject)
        self._g.see(subject, self._g.venue_cell(venue_id))
        return self._inner.in_venue(venue_id, start=start, end=end, limit=limit, after=after)


class _ScopedRegistrations:
    """Registrations: in the cell of the registrant's household."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> RegistrationRepository:
        return self._g.inner.registrations

    def _covered(self, registration: Registration) -> bool:
        return self._g.principal.covers(registration.cell_code)

    def get(self, registration_id: str) -> Registration:
        """Return a registration of a household in scope."""
        subject = f"registration:{registration_id}"
        self._g.permit(READ, subject)
        registration = self._inner.get(registration_id)
        self._g.cover(READ, subject, registration.cell_code)
        return registration

    def _check(self, registration: Registration) -> None:
        subject = f"registration:{registration.id}"
        self._g.cover(WRITE, subject, registration.cell_code)
        if self._g.everywhere:
            return
        # The record's cell_code is the caller's word: the registrant's household must agree.
        household = self._g.inner.households.household_of(registration.resident_id)
        self._g.cover(WRITE, subject, household.cell_code)

    def add(self, registration: Registration) -> Registration:
        """Store a new registration of a resident whose household is in scope."""
        self._check(registration)
        return self._inner.add(registration)

    def update(self, registration: Registration) -> Registration:
        """Replace a registration in scope that stays in scope."""
        self._check(registration)
        stored = _stored(self._inner.get, registration.id)
        if stored is not None:
            self._g.cover(WRITE, f"registration:{stored.id}", stored.cell_code)
        return self._inner.update(registration)

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return the registrations of an occurrence at a readable venue, of households in scope.

        A grid worker sees the registrations of their own residents, not of every participant.
        """
        subject = f"occurrence:{occurrence_id}"
        self._g.permit(READ, subject)
        series_id = occurrence_id.partition("@")[0]
        series = _stored(self._g.inner.series.get, series_id) if series_id else None
        if series is not None:
            self._g.see(subject, self._g.venue_cell(series.venue_id))
        found = self._inner.for_occurrence(occurrence_id)
        return found if self._g.everywhere else tuple(r for r in found if self._covered(r))

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the registrations of a resident whose household is in scope."""
        if not self._g.resident(resident_id):
            return ()
        return self._inner.for_resident(resident_id, start=start, end=end)


class _ScopedShifts:
    """Volunteer shifts: in the cell of their venue."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> ShiftRepository:
        return self._g.inner.shifts

    def get(self, shift_id: str) -> Shift:
        """Return a shift at a venue in scope or above it."""
        subject = f"shift:{shift_id}"
        self._g.permit(READ, subject)
        shift = self._inner.get(shift_id)
        self._g.see(subject, self._g.venue_cell(shift.venue_id))
        return shift

    def _check(self, shift: Shift) -> None:
        subject = f"shift:{shift.id}"
        self._g.permit(WRITE, subject)
        self._g.cover(WRITE, subject, self._g.venue_cell(shift.venue_id))

    def add(self, shift: Shift) -> Shift:
        """Store a new shift at a venue in scope."""
        self._check(shift)
        return self._inner.add(shift)

    def update(self, shift: Shift) -> Shift:
        """Replace a shift at a venue in scope that stays in scope."""
        self._check(shift)
        stored = _stored(self._inner.get, shift.id)
        if stored is not None:
            self._check(stored)
        return self._inner.update(shift)

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the shifts of a venue in scope or above it."""
        subject = f"venue:{venue_id}"
        self._g.permit(READ, subject)
        self._g.see(subject, self._g.venue_cell(venue_id))
        return self._inner.in_venue(venue_id, start=start, end=end)


class _ScopedSignUps:
    """Sign-ups: in the cell of the volunteer's household."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> SignUpRepository:
        return self._g.inner.signups

    def _covered(self, signup: SignUp) -> bool:
        cell = self._g.household_cell(signup.resident_id)
        return cell is not None and self._g.principal.covers(cell)

    def _check(self, permission: Permission, signup: SignUp) -> None:
        subject = f"signup:{signup.id}"
        self._g.permit(permission, subject)
        if self._g.everywhere:
            return
        cell = self._g.household_cell(signup.resident_id)
        if cell is None:
            if permission is WRITE:  # let the store say the resident is unknown
                self._g.inner.households.household_of(signup.resident_id)
            self._g.deny(permission, subject, None, "no household holds the volunteer")
        self._g.cover(permission, subject, cell)

    def get(self, signup_id: str) -> SignUp:
        """Return a sign-up of a volunteer whose household is in scope."""
        self._g.permit(READ, f"signup:{signup_id}")
        signup = self._inner.get(signup_id)
        self._check(READ, signup)
        return signup

    def add(self, signup: SignUp) -> SignUp:
        """Store a new sign-up of a volunteer whose household is in scope."""
        self._check(WRITE, signup)
        return self._inner.add(signup)

    def update(self, signup: SignUp) -> SignUp:
        """Replace a sign-up in scope that stays in scope."""
        self._check(WRITE, signup)
        stored = _stored(self._inner.get, signup.id)
        if stored is not None:
            self._check(WRITE, stored)
        return self._inner.update(signup)

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return the sign-ups of a shift at a readable venue, of volunteers in scope."""
        subject = f"shift:{shift_id}"
        self._g.permit(READ, subject)
        shift = self._g.inner.shifts.get(shift_id)
        self._g.see(subject, self._g.venue_cell(shift.venue_id))
        found = self._inner.for_shift(shift_id)
        return found if self._g.everywhere else tuple(s for s in found if self._covered(s))

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the sign-ups of a volunteer whose household is in scope."""
        if not self._g.resident(resident_id):
            return ()
        return self._inner.for_resident(resident_id, start=start, end=end)


class _ScopedAudit:
    """The audit trail: anyone appends; reading needs READ_AUDIT and is narrowed to the scope."""

    def __init__(self, guard: _Guard) -> None:
        self._g = guard

    @property
    def _inner(self) -> AuditRepository:
        return self._g.inner.audit

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry (services record what principals do)."""
        return self._inner.add(entry)

    def _visible(self, entry: AuditEntry) -> bool:
        return entry.cell_code is None or self._g.principal.covers(entry.cell_code)

    def between(
        self,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        principal_id: str | None = None,
        subject: str | None = None,
        kind: AuditKind | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[AuditEntry]:
        """Return the entries without a cell or with a cell in scope, by ``at`` then id."""
        self._g.somewhere(Permission.READ_AUDIT, "query:audit.between")

        def fetch(a: str | None, n: int) -> Page[AuditEntry]:
            return self._inner.between(
                since=since,
                until=until,
                principal_id=principal_id,
                subject=subject,
                kind=kind,
                limit=n,
                after=a,
            )

        return _paged(
            "audit.between",
            [("", fetch)],
            limit=limit,
            after=after,
            keep=None if self._g.everywhere else self._visible,
        )


# -- the unit of work ---------------------------------------------------------------------------


class ScopedUnitOfWork:
    """A unit of work whose repositories check every call against a principal.

    See the module documentation for the rules. Build one with :func:`scoped`; it satisfies
    :class:`~gridgov.ports.UnitOfWork`, so every service accepts it. Committing, rolling back and
    the ``with`` block are the wrapped unit's.

    Args:
        uow: The wrapped unit of work.
        principal: Who acts.
        audit: Where denials go (outside ``uow``).
        clock: Tells the instant of each denial.
    """

    def __init__(
        self, uow: UnitOfWork, principal: Principal, audit: AuditSink, clock: Clock
    ) -> None:
        guard = _Guard(uow, principal, audit, clock)
        self._guard = guard
        self._cells = _ScopedCells(guard)
        self._workers = _ScopedWorkers(guard)
        self._households = _ScopedHouseholds(guard)
        self._contacts = _ScopedContacts(guard)
        self._care_tasks = _ScopedCareTasks(guard)
        self._cases = _ScopedCases(guard)
        self._case_settings = _ScopedCaseSettings(guard)
        self._venues = _ScopedVenues(guard)
        self._series = _ScopedSeries(guard)
        self._registrations = _ScopedRegistrations(guard)
        self._shifts = _ScopedShifts(guard)
        self._signups = _ScopedSignUps(guard)
        self._audit = _ScopedAudit(guard)

    @property
    def principal(self) -> Principal:
        """Return the principal every call is checked against."""
        return self._guard.principal

    @property
    def cells(self) -> CellRepository:
        """Return the scoped cell repository."""
        return self._cells

    @property
    def workers(self) -> WorkerRepository:
        """Return the scoped worker repository."""
        return self._workers

    @property
    def households(self) -> HouseholdRepository:
        """Return the scoped household repository."""
        return self._households

    @property
    def contacts(self) -> ContactRepository:
        """Return the scoped contact ledger."""
        return self._contacts

    @property
    def care_tasks(self) -> CareTaskRepository:
        """Return the scoped care task repository."""
        return self._care_tasks

    @property
    def cases(self) -> CaseRepository:
        """Return the scoped case repository."""
        return self._cases

    @property
    def case_settings(self) -> CaseSettingsRepository:
        """Return the scoped case settings."""
        return self._case_settings

    @property
    def venues(self) -> VenueRepository:
        """Return the scoped venue repository."""
        return self._venues

    @property
    def series(self) -> SeriesRepository:
        """Return the scoped activity series repository."""
        return self._series

    @property
    def registrations(self) -> RegistrationRepository:
        """Return the scoped registration repository."""
        return self._registrations

    @property
    def shifts(self) -> ShiftRepository:
        """Return the scoped volunteer shift repository."""
        return self._shifts

    @property
    def signups(self) -> SignUpRepository:
        """Return the scoped volunteer sign-up repository."""
        return self._signups

    @property
    def audit(self) -> AuditRepository:
        """Return the scoped audit trail."""
        return self._audit

    def __enter__(self) -> Self:
        """Begin the wrapped unit's transaction."""
        self._guard.inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever the wrapped unit did not commit."""
        self._guard.inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        """Commit the wrapped unit."""
        self._guard.inner.commit()

    def rollback(self) -> None:
        """Roll back the wrapped unit."""
        self._guard.inner.rollback()

    def __repr__(self) -> str:
        return f"ScopedUnitOfWork(principal={self._guard.principal.id!r})"


def scoped(
    uow: UnitOfWork,
    principal: Principal,
    *,
    audit: AuditSink,
    clock: Clock | None = None,
) -> ScopedUnitOfWork:
    """Return ``uow`` seen and changed through ``principal``'s roles and scope.

    Args:
        uow: The unit of work to wrap (open it with ``with`` as usual; the scoped unit delegates
            commit and rollback to it).
        principal: Who acts.
        audit: Where denials go; it must record them outside ``uow``, which may roll back (e.g.
            :class:`gridgov.services.access.StoreAuditSink`).
        clock: Tells the instant of each denial (default: the system clock, Asia/Shanghai).

    Returns:
        A :class:`ScopedUnitOfWork`.

    Raises:
        ValidationError: If ``principal`` is not a Principal.
    """
    if not isinstance(principal, Principal):
        raise ValidationError("principal", "expected a Principal")
    return ScopedUnitOfWork(uow, principal, audit, clock or SystemClock())
