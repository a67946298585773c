"""The SQL repositories: each kind's own queries and rules over the generic repository.

Everything a declaration says (rows, index rows, references, versions) is done by
:class:`~gridgov.adapters._sql_engine.SqlRepository`; what is left here is what is truly a
kind's own: the cell tree's rules, a household's residents, a case's external id, the one row
of settings, and the port queries in each kind's language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

import pendulum

from gridgov import _json
from gridgov.adapters._queries import CareTaskQueries, CaseQueries, ContactQueries, HouseholdQueries
from gridgov.adapters._repository import Erases
from gridgov.adapters._sql_engine import (
    TOP,
    Row,
    SqlRecords,
    SqlRemovableRepository,
    SqlRepository,
    page_of,
    require_cell,
    subtree_range,
)
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
    with_version,
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
    from gridgov.adapters._sql import SqlUnitOfWork

__all__ = [
    "SqlCareTaskRepository",
    "SqlCaseRepository",
    "SqlCellRepository",
    "SqlContactRepository",
    "SqlHouseholdRepository",
    "SqlSettingsRepository",
    "SqlWorkerRepository",
]


def _owner(uow: SqlUnitOfWork, resident_id: str) -> tuple[str, str] | None:
    """Return ``(household_id, cell_code)`` of the resident's stored household, if any."""
    row = uow.query_one(
        "SELECT household_id, cell_code FROM gg_residents WHERE id = ?", (resident_id,)
    )
    return None if row is None else (row[0], row[1])


def _look_up_owners(
    uow: SqlUnitOfWork, resident_ids: Iterable[str], known: dict[tuple[str, str], object]
) -> None:
    """Put the ``(household_id, cell_code)`` of residents in ``known``, 500 per query.

    A batch of contacts or tasks looks its residents up at once, not one query per record.
    """
    wanted = sorted({r for r in resident_ids if ("owner", r) not in known})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        known.update((("owner", r), None) for r in chunk)
        rows = uow.query(
            "SELECT id, household_id, cell_code FROM gg_residents"
            f" WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        known.update((("owner", row[0]), (row[1], row[2])) for row in rows)


def _check_owner(
    uow: SqlUnitOfWork, record: ContactAttempt | CareTask, known: dict[tuple[str, str], object]
) -> None:
    """Check that a resident's record names the resident's household and cell."""
    if ("owner", record.resident_id) not in known:
        known["owner", record.resident_id] = _owner(uow, record.resident_id)
    owner = cast("tuple[str, str] | None", known["owner", record.resident_id])
    check_resident_reference(record, owner)


# -- grid ----------------------------------------------------------------------------------


class SqlCellRepository(SqlRemovableRepository[GridCell]):
    """Cells in a SQL store; see :class:`gridgov.ports.CellRepository`."""

    declared = kinds.CELLS

    def _check(self, record: GridCell, known: dict[tuple[str, str], object]) -> None:
        parent = None if record.parent_code is None else self._find(record.parent_code)
        check_placement(record, parent, self._uow.scheme)

    def update(self, record: GridCell) -> GridCell:
        """Replace a stored cell if its version is current; its parent and level stay."""
        cell = self._require(record)
        current = self.get(cell.code)
        if (current.parent_code, current.level) != (cell.parent_code, cell.level):
            raise ValidationError("parent_code", "a cell cannot move; add a new cell instead")
        return self._update_row(cell)

    def remove(self, record: GridCell) -> None:
        """Delete a cell that has no children, households or workers assigned."""
        cell = self._require(record)
        for table, column, what in (
            ("gg_cells", "parent_code", "child cells"),
            ("gg_households", "cell_code", "households"),
            ("gg_worker_cells", "cell_code", "workers assigned"),
        ):
            if self._uow.query_one(
                f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (cell.code,)
            ):
                raise ConflictError(f"cell {cell.code!r} still has {what}")
        self._delete_row(cell)

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, ordered by code."""
        self.get(code)
        return self._decoded(
            self._uow.query(
                "SELECT version, doc FROM gg_cells WHERE parent_code = ? ORDER BY code", (code,)
            )
        )

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the cell ``code`` and every cell below it, ordered by code."""
        check_limit(limit)
        start = decode_cursor(after, 1) or ("",)
        self.get(code)
        return self._paged(
            "SELECT code, version, doc FROM gg_cells WHERE code >= ? AND code < ? AND code > ?"
            " ORDER BY code LIMIT ?",
            (*subtree_range(code), *start),
            limit,
            1,
        )

    def tree(self) -> GridTree:
        """Return every stored cell as a validated tree."""
        rows = self._uow.query("SELECT version, doc FROM gg_cells ORDER BY code")
        return GridTree(self._decoded(rows), self._uow.scheme)


class SqlWorkerRepository(SqlRemovableRepository[Worker]):
    """Workers in a SQL store; see :class:`gridgov.ports.WorkerRepository`."""

    declared = kinds.WORKERS

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return workers ordered by id."""
        check_limit(limit)
        start = decode_cursor(after, 1) or ("",)
        return self._paged(
            "SELECT id, version, doc FROM gg_workers WHERE id > ? ORDER BY id LIMIT ?",
            start,
            limit,
            1,
        )

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers assigned to the cell ``cell_code`` on ``on``, ordered by id."""
        require_cell(self._uow, cell_code)
        day = on.isoformat()
        return self._decoded(
            self._uow.query(
                "SELECT w.version, w.doc FROM gg_workers w WHERE w.id IN ("
                " SELECT worker_id FROM gg_worker_cells WHERE cell_code = ? AND start_date <= ?"
                " AND (end_date IS NULL OR end_date >= ?)) ORDER BY w.id",
                (cell_code, day, day),
            )
        )


# -- households ----------------------------------------------------------------------------


class SqlHouseholdRepository(HouseholdQueries, SqlRemovableRepository[Household]):
    """Households in a SQL store; see :class:`gridgov.ports.HouseholdRepository`."""

    declared = kinds.HOUSEHOLDS
    duplicate_batch = "a household id is already stored, or a resident belongs to another household"
    child_conflict = "a resident belongs to another household"

    TAG_SQL = (
        "SELECT t.cell_code, t.household_id, t.resident_id, h.version, h.doc"
        " FROM gg_resident_tags t JOIN gg_households h ON h.id = t.household_id"
        " WHERE t.tag = ? AND t.cell_code >= ? AND t.cell_code < ?"
        " AND (t.cell_code, t.household_id, t.resident_id) > (?, ?, ?)"
        " ORDER BY t.cell_code, t.household_id, t.resident_id LIMIT ?"
    )
    AGED_SQL = (
        "SELECT r.birth_date, r.id, r.household_id, h.version, h.doc"
        " FROM gg_residents r JOIN gg_households h ON h.id = r.household_id"
        " WHERE r.birth_date > ? AND r.birth_date <= ? AND r.cell_code >= ? AND r.cell_code < ?"
        " AND (r.birth_date, r.id) > (?, ?)"
        " ORDER BY r.birth_date, r.id LIMIT ?"
    )
    # Within a cell: its subtree's residents from gg_residents_cell, sorted, whatever the
    # district's size. COALESCE (no NULL gets past the bounds either way) keeps every planner
    # off the district-wide birth-date index, which a cell's elders are a sliver of; the page
    # is cut before the join, so only its own households are read.
    AGED_WITHIN_SQL = (
        "SELECT r.b, r.id, r.household_id, h.version, h.doc FROM ("
        "SELECT COALESCE(birth_date, '') AS b, id, household_id FROM gg_residents"
        " WHERE COALESCE(birth_date, '') > ? AND COALESCE(birth_date, '') <= ?"
        " AND cell_code >= ? AND cell_code < ?"
        " AND (COALESCE(birth_date, ''), id) > (?, ?)"
        " ORDER BY COALESCE(birth_date, ''), id LIMIT ?"
        ") r JOIN gg_households h ON h.id = r.household_id ORDER BY r.b, r.id"
    )

    def household_of(self, resident_id: str) -> Household:
        """Return the household the resident belongs to, or raise NotFoundError."""
        check_text_key("resident_id", resident_id)
        row = self._uow.query_one(
            "SELECT h.version, h.doc FROM gg_residents r JOIN gg_households h"
            " ON h.id = r.household_id WHERE r.id = ?",
            (resident_id,),
        )
        if row is None:
            raise NotFoundError("resident", resident_id)
        return self._uow.decode(Household, row[1], row[0])

    def _entries(self, rows: Sequence[Row], limit: int, arity: int) -> Page[ResidentEntry]:
        """Page rows ``(*sort key, household id, version, doc)``, each household decoded once."""
        homes: dict[str, Household] = {}
        found: list[tuple[tuple[str, ...], ResidentEntry]] = []
        for row in rows:
            household_id, version, doc = row[arity : arity + 3]
            h = homes.get(household_id)
            if h is None:
                h = homes[household_id] = self._uow.decode(Household, doc, version)
            key = tuple(row[:arity])
            found.append((key, ResidentEntry(h.id, h.cell_code, h.member(key[-1]))))
        return page_of(found, limit)

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
        start = decode_cursor(after, 3) or ("", "", "")
        if within is not None:
            require_cell(self._uow, within)
        rows = self._uow.query(
            self.TAG_SQL, (tag.code, *subtree_range(within or ""), *start, limit + 1)
        )
        # (cell, household, resident) is the sort key; the household id is its middle part.
        return self._entries([(c, h, r, h, v, d) for c, h, r, v, d in rows], limit, 3)

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
        start = decode_cursor(after, 2) or ("", "")
        if within is not None:
            require_cell(self._uow, within)
        rows = self._uow.query(
            self.AGED_SQL if within is None else self.AGED_WITHIN_SQL,
            (
                "" if born_after is None else born_after.isoformat(),
                TOP if latest is None else latest.isoformat(),
                *subtree_range(within or ""),
                *start,
                limit + 1,
            ),
        )
        return self._entries(rows, limit, 2)

    DIGEST_SQL = (
        "SELECT r.id, h.version, h.doc FROM gg_residents r"
        " JOIN gg_households h ON h.id = r.household_id WHERE r.id_digest = ? ORDER BY r.id"
    )
    # A report, not a daily query: the digests held twice are found on the digest index.
    SHARED_SQL = (
        "SELECT id_digest FROM gg_residents WHERE id_digest IS NOT NULL AND id_digest > ?"
        " GROUP BY id_digest HAVING COUNT(*) > 1 ORDER BY id_digest LIMIT ?"
    )

    def by_id_digest(self, digest: str) -> tuple[ResidentEntry, ...]:
        """Return the residents whose national ID has ``digest``, by resident id."""
        rows = self._uow.query(self.DIGEST_SQL, (check_digest(digest),))
        found = []
        for resident_id, version, doc in rows:
            h = self._uow.decode(Household, doc, version)
            found.append(ResidentEntry(h.id, h.cell_code, h.member(resident_id)))
        return tuple(found)

    def shared_ids(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[SharedId]:
        """Return the national IDs held by two residents or more, by digest, never the IDs."""
        check_limit(limit)
        start = decode_cursor(after, 1) or ("",)
        digests = [r[0] for r in self._uow.query(self.SHARED_SQL, (*start, limit + 1))]
        if not digests:
            return Page(())
        marks = ", ".join("?" * len(digests))
        rows = self._uow.query(
            "SELECT id_digest, cell_code, household_id, id FROM gg_residents"
            f" WHERE id_digest IN ({marks}) ORDER BY id_digest, cell_code, household_id, id",
            digests,
        )
        holders: dict[str, list[IdHolder]] = {d: [] for d in digests}
        for digest, cell, household, resident in rows:
            holders[digest].append(IdHolder(household, cell, resident))
        found = [((d,), SharedId(tuple(h))) for d, h in holders.items()]
        return page_of(found, limit)


# -- care ----------------------------------------------------------------------------------


class SqlContactRepository(ContactQueries, Erases, SqlRecords[ContactAttempt]):
    """The contact ledger in a SQL store; see :class:`gridgov.ports.ContactRepository`."""

    declared = kinds.CONTACTS

    def _look_up(
        self, batch: Sequence[ContactAttempt], known: dict[tuple[str, str], object]
    ) -> None:
        super()._look_up(batch, known)
        _look_up_owners(self._uow, (c.resident_id for c in batch), known)

    def _check(self, record: ContactAttempt, known: dict[tuple[str, str], object]) -> None:
        _check_owner(self._uow, record, known)


class SqlCareTaskRepository(CareTaskQueries, SqlRepository[CareTask]):
    """Care tasks in a SQL store; see :class:`gridgov.ports.CareTaskRepository`."""

    declared = kinds.CARE_TASKS

    # The literal ``state = 'open'`` lets both backends use the partial indexes on open tasks.
    OPEN_RESIDENT_SQL = (
        "SELECT version, doc FROM gg_care_tasks"
        " WHERE resident_id = ? AND state = 'open'"
        " ORDER BY due_utc, id"
    )

    def _look_up(self, batch: Sequence[CareTask], known: dict[tuple[str, str], object]) -> None:
        super()._look_up(batch, known)
        _look_up_owners(self._uow, (t.resident_id for t in batch), known)

    def _check(self, record: CareTask, known: dict[tuple[str, str], object]) -> None:
        _check_owner(self._uow, record, known)

    def update(self, record: CareTask) -> CareTask:
        """Replace a stored task if its version is current; return it."""
        t = self._require(record)
        resident, household, cell = self._stored(t.id, ("resident_id", "household_id", "cell_code"))
        if task_references_changed((resident, household, cell), t):
            check_resident_reference(t, _owner(self._uow, t.resident_id))
        return self._update_row(t)

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the resident's open tasks, by due instant then id."""
        check_text_key("resident_id", resident_id)
        return self._decoded(self._uow.query(self.OPEN_RESIDENT_SQL, (resident_id,)))


# -- cases ---------------------------------------------------------------------------------


class SqlCaseRepository(CaseQueries, SqlRepository[Case]):
    """Cases in a SQL store; see :class:`gridgov.ports.CaseRepository`."""

    declared = kinds.CASES
    duplicate_batch = "a case id or external id is already stored"

    EXTERNAL_SQL = "SELECT id, version, doc FROM gg_cases WHERE external_id = ?"

    def _check_external(self, c: Case) -> None:
        if c.external_id is None:
            return
        row = self._uow.query_one("SELECT id FROM gg_cases WHERE external_id = ?", (c.external_id,))
        if row is not None and row[0] != c.id:
            raise ConflictError(f"case {row[0]!r} already has the external id of case {c.id!r}")

    def add(self, record: Case) -> Case:
        """Store a new case whose location and owner cells are stored; return it with version 1."""
        c = self._checked(record, {})
        if self._exists(c.id):
            raise self._duplicate(c.id)
        self._check_external(c)
        self._uow.write()  # a busy database is its own conflict, not a duplicate
        try:
            with self._uow.savepoint():  # a concurrent duplicate must not end the transaction
                self._insert([c])
        except ConflictError as exc:
            # One wording per condition: a concurrent writer took the id, or the external id.
            if not exc.retryable and self._exists(c.id):
                raise self._duplicate(c.id) from None
            if not exc.retryable:
                self._check_external(c)
            raise
        return with_version(c, 1)

    def update(self, record: Case) -> Case:
        """Replace a stored case if its version is current; return it."""
        c = self._require(record)
        cell, owner, external, doc = self._stored(
            c.id, ("cell_code", "owner_cell", "external_id", "doc")
        )
        stored = _json.loads(doc) if isinstance(doc, str | bytes) else doc  # or a parsed JSONB
        check_history_kept(len(stored["history"]), c)
        if (cell, owner) != (c.cell_code, c.owner_cell):
            self._check(c, {})
        if c.external_id == external:
            return self._update_row(c)
        self._check_external(c)
        with self._uow.savepoint():  # a concurrent taker of the id must not end the transaction
            return self._update_row(c)

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that id in another system (12345, Open311), if any."""
        check_text_key("external_id", external_id)
        row = self._uow.query_one(self.EXTERNAL_SQL, (external_id,))
        return None if row is None else self._uow.decode(Case, row[2], row[1])


class SqlSettingsRepository(SqlRecords[Settings]):
    """The settings of a SQL store; see :class:`gridgov.ports.SettingsRepository`."""

    declared = kinds.SETTINGS

    def _stored_version(self) -> int:
        row = self._uow.query_one(
            "SELECT version FROM gg_case_settings WHERE id = ?", (kinds.SETTINGS_KEY,)
        )
        return 0 if row is None else int(row[0])

    def _stale_save(self, version: int) -> ConflictError:
        return ConflictError(
            f"settings are at version {self._stored_version()}, "
            f"the save was made from version {version}",
            retryable=True,
        )

    def get(self, key: str = kinds.SETTINGS_KEY) -> Settings:
        """Return the stored settings, or raise NotFoundError if none were saved."""
        return super().get(key)

    def history(self) -> tuple[Settings, ...]:
        """Return every saved version of the settings, oldest first."""
        rows = self._uow.query("SELECT version, doc FROM gg_settings_history ORDER BY version")
        saved = self._decoded(rows)
        current = self._find(kinds.SETTINGS_KEY)
        # Saved before the history was kept (schema version 6 and older): the current one.
        if current is not None and (not saved or saved[-1].version < current.version):
            saved = (*saved, current)
        return saved

    def save(self, settings: Settings) -> Settings:
        """Store the settings (version 0: the first save) if the version is current; return them."""
        s = self._require(settings)
        if s.version != 0:
            try:
                saved = self._update_row(s)
            except (ConflictError, NotFoundError):  # a newer version, or none stored at all
                raise self._stale_save(s.version) from None
        else:
            if self._stored_version() != 0:
                raise self._stale_save(0)
            self._uow.write()  # a busy database is its own conflict
            try:
                with self._uow.savepoint():  # a concurrent first save must not end the transaction
                    self._insert([s])
            except ConflictError:
                raise self._stale_save(0) from None
            saved = with_version(s, 1)
        self._uow.insert_many(
            kinds.SETTINGS_HISTORY.name,
            kinds.SETTINGS_HISTORY.column_names,
            [(saved.version, self._uow.encode(saved))],
        )
        return saved


class SqlRequestRepository(SqlRemovableRepository[RememberedRequest]):
    """Remembered requests in a SQL store; see :class:`gridgov.ports.RequestRepository`."""

    declared = kinds.REQUESTS

    EXPIRED_SQL = (
        "SELECT id FROM gg_requests WHERE expires_utc <= ? ORDER BY expires_utc, id LIMIT ?"
    )

    def list(
        self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[RememberedRequest]:
        """Return the remembered requests by key."""
        check_limit(limit)
        start = decode_cursor(after, 1) or ("",)
        return self._paged(
            "SELECT id, version, doc FROM gg_requests WHERE id > ? ORDER BY id LIMIT ?",
            start,
            limit,
            1,
        )

    def forget_expired(self, now: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Forget up to ``limit`` requests expired at ``now``; return how many."""
        horizon = instant_key(check_instant("now", now), "now")
        check_limit(limit)
        keys = [row[0] for row in self._uow.query(self.EXPIRED_SQL, (horizon, limit))]
        if keys:
            self._uow.write()
            marks = ", ".join("?" * len(keys))
            self._uow.execute(f"DELETE FROM gg_requests WHERE id IN ({marks})", keys)
        return len(keys)
