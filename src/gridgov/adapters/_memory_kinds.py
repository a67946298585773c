"""The memory repositories of grid, households, care, cases, settings and requests.

Everything a declaration says (records, versions, indexes, references) is done by
:class:`~gridgov.adapters._memory_engine.MemoryRecords`; what is left here is what is truly a
kind's own: the cell tree's rules, a household's residents, a case's external id, the one
record of settings, and the port queries in each kind's language, read from the declared
indexes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

import pendulum

from gridgov.adapters._memory_engine import (
    MemoryRecords,
    MemoryRemovableRepository,
    MemoryRepository,
    page,
)
from gridgov.adapters._memory_index import TOP, Entry
from gridgov.adapters._queries import CareTaskQueries, CaseQueries, ContactQueries, HouseholdQueries
from gridgov.adapters._repository import Erases
from gridgov.adapters.support import (
    birth_bounds,
    check_digest,
    check_history_kept,
    check_instant,
    check_limit,
    check_placement,
    check_resident_reference,
    check_text_key,
    decode_cursor,
    instant_key,
    task_references_changed,
)
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.model import Case
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Tag
from gridgov.idempotency import RememberedRequest
from gridgov.ports import DEFAULT_PAGE_SIZE, IdHolder, Page, ResidentEntry, SharedId
from gridgov.records import kinds
from gridgov.settings import Settings

if TYPE_CHECKING:
    from gridgov.adapters.memory import MemoryUnitOfWork

__all__ = [
    "MemoryCareTaskRepository",
    "MemoryCaseRepository",
    "MemoryCellRepository",
    "MemoryContactRepository",
    "MemoryHouseholdRepository",
    "MemoryRequestRepository",
    "MemorySettingsRepository",
    "MemoryWorkerRepository",
]


# -- grid ----------------------------------------------------------------------------------


class MemoryCellRepository(MemoryRemovableRepository[GridCell]):
    """Cells in a :class:`MemoryStore`; see :class:`gridgov.ports.CellRepository`."""

    declared = kinds.CELLS

    def _check(self, record: GridCell, known: set[tuple[str, str]] | None = None) -> None:
        parent = None if record.parent_code is None else self._staging.current(record.parent_code)
        check_placement(record, parent, self._uow._store.scheme)

    def update(self, record: GridCell) -> GridCell:
        """Replace a stored cell if its version is current; its parent and level stay."""
        cell = self._require(record)
        with self._uow._store._lock:
            current = self._staging.check_current(cell.code, cell)
            if (current.parent_code, current.level) != (cell.parent_code, cell.level):
                raise ValidationError("parent_code", "a cell cannot move; add a new cell instead")
            return self._staging.stage_update(cell.code, cell)

    def remove(self, record: GridCell) -> None:
        """Delete a cell that has no children, households or workers assigned."""
        cell = self._require(record)
        with self._uow._store._lock:
            self._staging.check_current(cell.code, cell)
            if self.children(cell.code):
                raise ConflictError(f"cell {cell.code!r} still has child cells")
            if self._uow.households.in_subtree(cell.code, limit=1).items:
                raise ConflictError(f"cell {cell.code!r} still has households")
            if self._uow.workers._assigned_ids(cell.code):
                raise ConflictError(f"cell {cell.code!r} still has workers assigned")
            self._staging.stage_remove(cell.code, cell)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, ordered by code."""
        with self._uow._store._lock:
            self.get(code)
            return tuple(c for _, c in self._read("gg_cells_parent", code))

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the cell ``code`` and every cell below it, ordered by code."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            self.get(code)
            return page(self._by_key(code, None if start is None else start[0]), limit)

    def tree(self) -> GridTree:
        """Return every stored cell as a validated tree."""
        with self._uow._store._lock:
            cells = dict(self._table.records)
            for code, cell in self._staging.values.items():
                if cell is None:
                    cells.pop(code, None)
                else:
                    cells[code] = cell
            return GridTree(cells.values(), self._uow._store.scheme)

    def problems(self) -> Iterator[str]:
        """Yield the cells removed that others filled meanwhile, or placed under a removed one."""
        uow = self._uow
        for code, cell in self._staging.values.items():
            if cell is None:
                if (
                    self._table.index("gg_cells_parent").groups.get(code)
                    or uow.households._table.index("gg_households_cell").groups.get(code)
                    or uow.workers._table.index("gg_worker_cells_cell").groups.get(code)
                ):
                    yield f"cell {code!r} gained children, households or workers"
            elif cell.parent_code is not None and self._staging.current(cell.parent_code) is None:
                yield f"cell {code!r}: its parent was removed"


class MemoryWorkerRepository(MemoryRemovableRepository[Worker]):
    """Workers in a :class:`MemoryStore`; see :class:`gridgov.ports.WorkerRepository`."""

    declared = kinds.WORKERS
    removed = "an assigned cell was removed"

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return workers ordered by id."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            return page(self._by_key("", None if start is None else start[0]), limit)

    def _assigned(self, cell_code: str) -> dict[str, Worker]:
        return {w.id: w for _, w in self._read("gg_worker_cells_cell", cell_code)}

    def _assigned_ids(self, cell_code: str) -> set[str]:
        return set(self._assigned(cell_code))

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers assigned to the cell ``cell_code`` on ``on``, ordered by id."""
        with self._uow._store._lock:
            self._uow.cells.get(cell_code)
            found = self._assigned(cell_code)
        return tuple(
            found[w]
            for w in sorted(found)
            if any(a.cell_code == cell_code and a.active_on(on) for a in found[w].assignments)
        )


# -- households ----------------------------------------------------------------------------


class MemoryHouseholdRepository(HouseholdQueries, MemoryRemovableRepository[Household]):
    """Households in a :class:`MemoryStore`; see :class:`gridgov.ports.HouseholdRepository`."""

    declared = kinds.HOUSEHOLDS

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow)
        self._residents = self._table.index("gg_residents_pkey")

    def _check(self, record: Household, known: set[tuple[str, str]] | None = None) -> None:
        super()._check(record, known)
        index = self._residents
        staged, committed = self._staging.noted(index), index.groups
        for i, m in enumerate(record.members):
            if m.id not in staged and m.id not in committed:
                continue  # the common case in bulk loads: a new resident
            owner = self._staging.holding(index, m.id)
            if owner is not None and owner.id != record.id:
                raise ConflictError(f"members[{i}]: resident {m.id!r} belongs to another household")

    def update(self, record: Household) -> Household:
        """Replace a stored household if its version is current."""
        h = self._require(record)
        with self._uow._store._lock:
            self._check(h)
            return self._staging.stage_update(h.id, h)

    def household_of(self, resident_id: str) -> Household:
        """Return the household the resident belongs to, or raise NotFoundError."""
        check_text_key("resident_id", resident_id)
        with self._uow._store._lock:
            household = self._uow._holder("resident", resident_id)
        if household is None:
            raise NotFoundError("resident", resident_id)
        return household  # type: ignore[no-any-return]

    def with_tag(
        self,
        tag: Tag,
        *,
        within: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ResidentEntry]:
        """Return residents carrying ``tag``, by cell code, household id and resident id."""
        if not isinstance(tag, Tag):
            raise ValidationError("tag", "expected a Tag")
        check_limit(limit)
        start = decode_cursor(after, 3)
        prefix = "" if within is None else within
        with self._uow._store._lock:
            if within is not None:
                self._uow.cells.get(within)
            rows = self._read(
                "gg_resident_tags_pkey", tag.code, low=(prefix,), high=(prefix + TOP,), after=start
            )
            return page(((e, _entry(h, e[2])) for e, h in rows), limit)

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
        """Return residents whose age on ``on`` is within the bounds, oldest first."""
        born_after, latest = birth_bounds(on, min_age, max_age)
        check_limit(limit)
        start = decode_cursor(after, 2)
        # Entries are (birth date, resident, household); none born (``""``) sorts first, out.
        low: Entry = ("" if born_after is None else born_after.isoformat(), TOP)
        if start is not None:
            low = max(low, (*start, TOP))
        high = None if latest is None else (latest.isoformat(), TOP)
        with self._uow._store._lock:
            if within is not None:
                self._uow.cells.get(within)
                rows = self._read("gg_residents_cell", within=within, after=low, high=high)
            else:
                rows = self._read("gg_residents_birth", after=low, high=high)
            return page(((e, _entry(h, e[1])) for e, h in rows), limit, 2)

    def by_id_digest(self, digest: str) -> tuple[ResidentEntry, ...]:
        """Return the residents whose national ID has ``digest``, by resident id."""
        check_digest(digest)
        with self._uow._store._lock:
            rows = self._read("gg_residents_id_digest", digest)
            return tuple(_entry(h, e[0]) for e, h in rows)

    def shared_ids(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[SharedId]:
        """Return the national IDs held by two residents or more, by digest, never the IDs."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        index = self._table.index("gg_residents_id_digest")
        with self._uow._store._lock:
            # Held twice when committed, or perhaps so by what this unit staged.
            digests = {d for d, held in index.groups.items() if len(held) > 1}
            for household in self._staging.values.values():
                if household is not None:
                    digests.update(g for g, _ in index.entries(household))
            found: list[tuple[Entry, SharedId]] = []
            for digest in sorted(d for d in digests if start is None or d > start[0]):
                holders = sorted(
                    (
                        IdHolder(h.id, h.cell_code, e[0])
                        for e, h in self._read("gg_residents_id_digest", digest)
                    ),
                    key=lambda x: (x.cell_code, x.household_id, x.resident_id),
                )
                if len(holders) > 1:
                    found.append(((digest,), SharedId(tuple(holders))))
                    if len(found) > limit:
                        break
            return page(found, limit)

    def problems(self) -> Iterator[str]:
        """Yield the households whose cell others removed, or whose residents they took."""
        yield from super().problems()
        owners = self._residents
        for hid, household in self._staging.values.items():
            for m in () if household is None else household.members:
                owner = owners.keys(m.id)
                if owner is not None and owner != hid and owner not in self._staging.values:
                    yield f"resident {m.id!r} already belongs to another household"


def _entry(household: Household, resident_id: str) -> ResidentEntry:
    return ResidentEntry(household.id, household.cell_code, household.member(resident_id))


# -- care ----------------------------------------------------------------------------------


RO = TypeVar("RO", ContactAttempt, CareTask)


class _ResidentRecords(MemoryRecords[RO]):
    """Records of a resident that name the resident's household and cell (contacts, tasks)."""

    def _check(self, record: RO, known: set[tuple[str, str]] | None = None) -> None:
        # A replayed history names each resident many times: once found in its household and
        # cell, a resident is not looked up again in the same call (no text holds a NUL).
        placed = ("resident in", f"{record.resident_id}\0{record.household_id}\0{record.cell_code}")
        if known is not None and placed in known:
            return
        owner = self._uow._holder("resident", record.resident_id)
        check_resident_reference(record, None if owner is None else (owner.id, owner.cell_code))
        if known is not None:
            known.add(placed)

    def _moved(self, key: str, record: RO) -> bool:
        """Return whether a staged record's references are to be checked again at commit."""
        return True

    def problems(self) -> Iterator[str]:
        """Yield the staged records whose resident others moved or removed meanwhile."""
        for key, record in self._staging.values.items():
            if record is None or not self._moved(key, record):
                continue
            try:
                self._check(record)
            except ValidationError:
                yield (
                    f"{self.declared.name} {key!r}: its resident left that household or cell "
                    "meanwhile"
                )


class MemoryContactRepository(ContactQueries, Erases, _ResidentRecords[ContactAttempt]):
    """Contacts in a :class:`MemoryStore`; see :class:`gridgov.ports.ContactRepository`."""

    declared = kinds.CONTACTS


class MemoryCareTaskRepository(
    CareTaskQueries, _ResidentRecords[CareTask], MemoryRepository[CareTask]
):
    """Care tasks in a :class:`MemoryStore`; see :class:`gridgov.ports.CareTaskRepository`."""

    declared = kinds.CARE_TASKS

    def update(self, record: CareTask) -> CareTask:
        """Replace a stored task if its version is current; return it."""
        t = self._require(record)
        with self._uow._store._lock:
            current = self._staging.get(t.id)
            if task_references_changed(
                (current.resident_id, current.household_id, current.cell_code), t
            ):
                self._check(t)
            return self._staging.stage_update(t.id, t)

    def _moved(self, key: str, record: RO) -> bool:
        stored = self._staging.committed(key)
        return stored is None or (stored.household_id, stored.cell_code) != (
            record.household_id,
            record.cell_code,
        )

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the resident's open tasks, by due instant then id."""
        check_text_key("resident_id", resident_id)
        with self._uow._store._lock:
            tasks = list(self._open_of(resident_id))
        return tuple(sorted(tasks, key=lambda t: (instant_key(t.due), t.id)))

    def _open_of(self, resident_id: str) -> Iterator[CareTask]:
        staging, index = self._staging, self._table.index("gg_care_tasks_open_resident")
        records = self._table.records
        for tid in index.keys(resident_id) or ():
            if tid not in staging.values:
                yield records[tid]
        yield from staging.in_group(index, resident_id)


# -- cases ---------------------------------------------------------------------------------


class MemoryCaseRepository(CaseQueries, MemoryRepository[Case]):
    """Cases in a :class:`MemoryStore`; see :class:`gridgov.ports.CaseRepository`."""

    declared = kinds.CASES
    removed = "its cell or owning cell was removed"

    def _external_owner(self, external_id: str) -> str | None:
        """Return the id of the case holding ``external_id``, as this unit sees it."""
        index = self._table.index("gg_cases_external")
        case = self._staging.holding(index, external_id)
        return None if case is None else case.id

    def _check_external(self, case: Case) -> None:
        if case.external_id is None:
            return
        owner = self._external_owner(case.external_id)
        if owner is not None and owner != case.id:
            raise ConflictError(f"case {owner!r} already has the external id of case {case.id!r}")

    def _check(self, record: Case, known: set[tuple[str, str]] | None = None) -> None:
        super()._check(record, known)
        self._check_external(record)

    def update(self, record: Case) -> Case:
        """Replace a stored case if its version is current; return it."""
        c = self._require(record)
        with self._uow._store._lock:
            current = self._staging.check_current(c.id, c)
            check_history_kept(len(current.history), c)
            if (current.cell_code, current.owner_cell) != (c.cell_code, c.owner_cell):
                super()._check(c)
            if c.external_id != current.external_id:
                self._check_external(c)
            return self._staging.stage_update(c.id, c)

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that id in another system (12345, Open311), if any."""
        check_text_key("external_id", external_id)
        with self._uow._store._lock:
            owner = self._external_owner(external_id)
            return None if owner is None else self._staging.current(owner)

    def problems(self) -> Iterator[str]:
        """Yield the staged cases whose cells others removed or external ids others took."""
        yield from super().problems()
        owners = self._table.index("gg_cases_external")
        committed = self._staging.committed
        for cid, case in self._staging.values.items():
            owner = (
                None if case is None or case.external_id is None else owners.keys(case.external_id)
            )
            if owner is not None and owner != cid:
                mine = self._staging.values.get(owner, committed(owner))
                if mine is not None and case is not None and mine.external_id == case.external_id:
                    yield f"case {cid!r}: another case took its external id meanwhile"


# -- settings and remembered requests ------------------------------------------------------


class MemorySettingsRepository(MemoryRecords[Settings]):
    """The settings of a :class:`MemoryStore`; see ``gridgov.ports.SettingsRepository``."""

    declared = kinds.SETTINGS

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        super().__init__(uow)
        self.saved: list[Settings] = []  # the versions this unit saved, for the history

    def _require(self, record: object) -> Settings:
        if not isinstance(record, Settings):
            raise ValidationError("settings", "expected Settings")
        return record

    def get(self, key: str = kinds.SETTINGS_KEY) -> Settings:
        """Return the stored settings, or raise NotFoundError if none were saved."""
        return self._staging.get(key)

    def history(self) -> tuple[Settings, ...]:
        """Return every saved version of the settings, oldest first."""
        with self._uow._store._lock:
            return (*self._uow._state.settings_history, *self.saved)

    def save(self, settings: Settings) -> Settings:
        """Store the settings (version 0: the first save) if the version is current; return them."""
        s = self._require(settings)
        key = kinds.SETTINGS_KEY
        with self._uow._store._lock:
            current = self._staging.current(key)
            stored = 0 if current is None else current.version
            if s.version != stored:
                raise ConflictError(
                    f"settings are at version {stored}, the save was made from version {s.version}",
                    retryable=True,
                )
            if current is None:
                saved = self._staging.stage_add(key, s)
            else:
                saved = self._staging.stage_update(key, s)
            self.saved.append(saved)
            return saved


class MemoryRequestRepository(MemoryRemovableRepository[RememberedRequest]):
    """Remembered requests of a :class:`MemoryStore`; see ``gridgov.ports.RequestRepository``."""

    declared = kinds.REQUESTS

    def get(self, key: str) -> RememberedRequest:
        """Return the request remembered under ``key``, or raise NotFoundError."""
        with self._uow._store._lock:
            return self._staging.get(key)

    def _require(self, record: object) -> RememberedRequest:
        request = super()._require(record)
        instant_key(request.expires)
        return request

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RememberedRequest]:
        """Return the remembered requests by key."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            return page(self._by_key("", None if start is None else start[0]), limit)

    def forget_expired(self, now: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Forget up to ``limit`` requests expired at ``now``; return how many."""
        horizon = instant_key(check_instant("now", now), "now")
        check_limit(limit)
        with self._uow._store._lock:
            rows = self._read("gg_requests_expires", high=(horizon, TOP))
            expired = [r for _, r in itertools.islice(rows, limit)]
            for request in expired:
                self._staging.stage_remove(request.id, request)
        return len(expired)
