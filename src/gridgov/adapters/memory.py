"""The in-memory adapter: transactional, indexed, thread-safe; the fake for unit tests.

Committed data lives in :class:`MemoryStore` with the same indexes a database would keep (cell
code ranges, tags, birth dates, resident ids, contacts by resident and by cell and time, open care
tasks by resident and by cell and due instant, cases by next escalation check, by cell and report
instant, and by external id; venues by cell, activity series by venue and first start,
registrations by occurrence and by resident and start, shifts by venue and start, sign-ups by
shift and by resident and start, audit entries by instant, by principal and by subject). A unit
of work stages its writes and applies them at commit under a lock, after checking that every
record it wrote is still at the version it started from (first committer wins) and that what it
references still exists. Reads see committed data plus the unit's own staged writes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import operator
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters._memory_outbox import MemoryOutboxRepository, OutboxState
from gridgov.adapters.support import (
    INSTANT_KEY_WIDTH,
    RegistrationCounts,
    SignUpCounts,
    birth_bounds,
    check_audit_filters,
    check_batch_size,
    check_history_kept,
    check_instant,
    check_limit,
    check_placement,
    check_resident_reference,
    check_text_key,
    check_time_range,
    check_window,
    decode_cursor,
    encode_cursor,
    instant_key,
    series_span,
    task_references_changed,
    with_version,
)
from gridgov.adapters.support import StoredRecord as R
from gridgov.care.contacts import CareTask, ContactAttempt, TaskState
from gridgov.cases.model import Case
from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.grid import GridCell, GridTree, Worker
from gridgov.households import Household, Tag
from gridgov.idempotency import RememberedRequest
from gridgov.outbox import StoredEvent
from gridgov.ports import DEFAULT_PAGE_SIZE, Page, ProgressCallback, ResidentEntry
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.settings import Settings

__all__ = [
    "MemoryAuditRepository",
    "MemoryCareTaskRepository",
    "MemoryCaseRepository",
    "MemoryCellRepository",
    "MemoryContactRepository",
    "MemoryHouseholdRepository",
    "MemoryRegistrationRepository",
    "MemorySeriesRepository",
    "MemorySettingsRepository",
    "MemoryShiftRepository",
    "MemorySignUpRepository",
    "MemoryStore",
    "MemoryUnitOfWork",
    "MemoryVenueRepository",
    "MemoryWorkerRepository",
]

SortKey = tuple[str, ...]
ResidentKey = tuple[str, str, str]  # (cell_code, household_id, resident_id)
_W = INSTANT_KEY_WIDTH
# Contacts, tasks and cases are indexed by ``instant_key + id``: instant keys have a fixed width,
# so these strings sort exactly as the ``(instant, id)`` pairs do.
_TOP = "\U0010ffff"  # above every character of an id: ``key + _TOP`` ends the keys of an instant
SETTINGS_KEY = "default"  # the one record of settings


class _SortedKeys:
    """A set of strings with ordered iteration; sorts lazily after changes."""

    __slots__ = ("_set", "_sorted")

    def __init__(self) -> None:
        self._set: set[str] = set()
        self._sorted: list[str] | None = []

    def add(self, key: str) -> None:
        if key not in self._set:
            self._set.add(key)
            self._sorted = None

    def discard(self, key: str) -> None:
        if key in self._set:
            self._set.discard(key)
            self._sorted = None

    def __bool__(self) -> bool:
        return bool(self._set)

    def ordered(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self._set)
        return self._sorted

    def from_(self, start: str, *, inclusive: bool = True) -> Iterator[str]:
        keys = self.ordered()
        i = (bisect.bisect_left if inclusive else bisect.bisect_right)(keys, start)
        return itertools.islice(keys, i, None)

    def span(
        self,
        low: str,
        high: str | None = None,
        *,
        after: str | None = None,
        before: str | None = None,
    ) -> tuple[list[str], range]:
        """Return the ordered keys and the positions of those in ``[low, high)``.

        ``after`` and ``before`` narrow the span further, both exclusive.
        """
        keys = self.ordered()
        i = bisect.bisect_left(keys, low)
        if after is not None:
            i = max(i, bisect.bisect_right(keys, after))
        j = len(keys) if high is None else bisect.bisect_left(keys, high)
        if before is not None:
            j = min(j, bisect.bisect_left(keys, before))
        return keys, range(i, max(i, j))


class _SortedChunks:
    """A set of strings kept sorted at all times, in chunks: no re-sort after a change.

    For an index that is read right after every small commit (the escalation sweep's queue of
    cases by next check): adding or removing a key costs a bisection and a move within one chunk,
    and reading ``k`` keys from a bound costs ``O(log n + k)``.
    """

    __slots__ = ("_chunks", "_maxes")

    _CHUNK = 512  # a chunk splits in two when it grows past twice this

    def __init__(self) -> None:
        self._chunks: list[list[str]] = []
        self._maxes: list[str] = []  # the last key of each chunk

    def __len__(self) -> int:
        return sum(map(len, self._chunks))

    def add(self, key: str) -> None:
        maxes = self._maxes
        if not maxes:
            self._chunks.append([key])
            maxes.append(key)
            return
        i = bisect.bisect_left(maxes, key)
        if i == len(maxes):  # beyond every key: append to the last chunk
            i -= 1
            chunk = self._chunks[i]
            chunk.append(key)
            maxes[i] = key
        else:
            chunk = self._chunks[i]
            j = bisect.bisect_left(chunk, key)
            if chunk[j] == key:  # chunk[j] exists: the chunk's last key is >= key
                return
            chunk.insert(j, key)
        if len(chunk) > 2 * self._CHUNK:
            tail = chunk[self._CHUNK :]
            del chunk[self._CHUNK :]
            self._chunks.insert(i + 1, tail)
            maxes.insert(i, chunk[-1])

    def discard(self, key: str) -> None:
        maxes = self._maxes
        i = bisect.bisect_left(maxes, key)
        if i == len(maxes):
            return
        chunk = self._chunks[i]
        j = bisect.bisect_left(chunk, key)
        if chunk[j] != key:
            return
        del chunk[j]
        if not chunk:
            del self._chunks[i]
            del maxes[i]
        elif j == len(chunk):
            maxes[i] = chunk[-1]

    def irange(self, high: str, *, after: str | None = None) -> Iterator[str]:
        """Yield the keys below ``high`` (exclusive) and above ``after`` (exclusive), in order."""
        maxes = self._maxes
        i = 0 if after is None else bisect.bisect_right(maxes, after)
        for n in range(i, len(maxes)):
            chunk = self._chunks[n]
            j = 0 if after is None or n > i else bisect.bisect_right(chunk, after)
            for key in itertools.islice(chunk, j, None):
                if key >= high:
                    return
                yield key


class _State:
    """Committed records and their indexes. Guarded by the store's lock."""

    def __init__(self) -> None:
        self.cells: dict[str, GridCell] = {}
        self.cell_codes = _SortedKeys()
        self.children: dict[str, _SortedKeys] = {}
        self.workers: dict[str, Worker] = {}
        self.worker_ids = _SortedKeys()
        self.workers_by_cell: dict[str, set[str]] = {}
        self.households: dict[str, Household] = {}
        self.household_cells = _SortedKeys()  # cells holding at least one household
        self.households_by_cell: dict[str, _SortedKeys] = {}
        self.resident_owner: dict[str, str] = {}
        self.tagged: dict[Tag, set[ResidentKey]] = {}
        self.tagged_sorted: dict[Tag, list[ResidentKey]] = {}
        self.births: dict[pendulum.Date, set[tuple[str, str]]] = {}  # -> {(resident, household)}
        self._birth_dates: list[pendulum.Date] | None = []
        self.contacts: dict[str, ContactAttempt] = {}
        self.contacts_by_resident: dict[str, _SortedKeys] = {}  # -> {at key + id}
        self.contact_cells = _SortedKeys()  # cells holding at least one contact
        self.contacts_by_cell: dict[str, _SortedKeys] = {}  # -> {at key + id}
        self.tasks: dict[str, CareTask] = {}
        self.open_by_resident: dict[str, set[str]] = {}  # -> {task id}
        self.open_task_cells = _SortedKeys()  # cells that have held an open task
        self.open_by_cell: dict[str, _SortedKeys] = {}  # -> {due key + id}
        self.cases: dict[str, Case] = {}
        self.cases_due = _SortedChunks()  # {next_check key + id} of cases with a next check
        self.case_cells = _SortedKeys()  # cells holding at least one case
        self.cases_by_cell: dict[str, _SortedKeys] = {}  # -> {reported key + id}
        self.open_case_cells = _SortedKeys()  # cells that have held an open case
        self.open_cases_by_cell: dict[str, _SortedKeys] = {}  # -> {reported key + id}
        self.case_by_external: dict[str, str] = {}  # external id -> case id
        self.settings: Settings | None = None
        self.settings_history: list[Settings] = []  # every saved version, oldest first
        self.requests: dict[str, RememberedRequest] = {}  # idempotency key -> request
        self.outbox = OutboxState()
        self.venues: dict[str, Venue] = {}
        self.venue_cells = _SortedKeys()  # cells holding at least one venue
        self.venues_by_cell: dict[str, _SortedKeys] = {}  # -> {venue id}
        self.series: dict[str, ActivitySeries] = {}
        self.series_spans: dict[str, tuple[str, str | None]] = {}  # -> (first start, last end)
        self.series_by_venue: dict[str, _SortedKeys] = {}  # -> {first start key + id}
        self.registrations: dict[str, Registration] = {}
        self.registrations_by_occurrence: dict[str, _SortedKeys] = {}  # -> {registered key + id}
        self.registrations_by_resident: dict[str, _SortedKeys] = {}  # -> {start key + id}
        self.shifts: dict[str, Shift] = {}
        self.shifts_by_venue: dict[str, _SortedKeys] = {}  # -> {start key + id}
        self.signups: dict[str, SignUp] = {}
        self.locks: dict[str, int] = {}  # name -> times held by committed units
        self.signups_by_shift: dict[str, _SortedKeys] = {}  # -> {at key + id}
        self.signups_by_resident: dict[str, _SortedKeys] = {}  # -> {start key + id}
        # The audit trail is appended to all day and read after appends: kept sorted in chunks.
        self.audit: dict[str, AuditEntry] = {}
        self.audit_keys = _SortedChunks()  # {at key + id} of every entry
        self.audit_by_principal: dict[str, _SortedChunks] = {}  # -> {at key + id}
        self.audit_by_subject: dict[str, _SortedChunks] = {}  # -> {at key + id}
        self.commits = 0  # bumped by every commit, so a unit can tell if others wrote meanwhile

    # -- index maintenance ------------------------------------------------------------------

    def put_cell(self, code: str, cell: GridCell | None) -> None:
        old = self.cells.get(code)
        if old is not None and old.parent_code is not None:
            self.children[old.parent_code].discard(code)
        self.cell_codes.discard(code)
        if cell is None:
            self.cells.pop(code, None)
        else:
            self.cells[code] = cell
            self.cell_codes.add(code)
            if cell.parent_code is not None:
                self.children.setdefault(cell.parent_code, _SortedKeys()).add(code)

    def put_worker(self, worker_id: str, worker: Worker | None) -> None:
        old = self.workers.get(worker_id)
        if old is not None:
            for a in old.assignments:
                self.workers_by_cell[a.cell_code].discard(worker_id)
        self.worker_ids.discard(worker_id)
        if worker is None:
            self.workers.pop(worker_id, None)
        else:
            self.workers[worker_id] = worker
            self.worker_ids.add(worker_id)
            for a in worker.assignments:
                self.workers_by_cell.setdefault(a.cell_code, set()).add(worker_id)

    def put_household(self, household_id: str, household: Household | None) -> None:
        old = self.households.get(household_id)
        if old is not None:
            self.households_by_cell[old.cell_code].discard(household_id)
            for m in old.members:
                if self.resident_owner.get(m.id) == household_id:
                    del self.resident_owner[m.id]
                for tag in m.tags:
                    self.tagged[tag].discard((old.cell_code, household_id, m.id))
                    self.tagged_sorted.pop(tag, None)
                if m.birth_date is not None:
                    self.births[m.birth_date].discard((m.id, household_id))
        if household is None:
            self.households.pop(household_id, None)
            return
        self.households[household_id] = household
        by_cell = self.households_by_cell.get(household.cell_code)
        if by_cell is None:
            by_cell = self.households_by_cell[household.cell_code] = _SortedKeys()
            self.household_cells.add(household.cell_code)
        by_cell.add(household_id)
        for m in household.members:
            self.resident_owner[m.id] = household_id
            for tag in m.tags:
                self.tagged.setdefault(tag, set()).add((household.cell_code, household_id, m.id))
                self.tagged_sorted.pop(tag, None)
            if m.birth_date is not None:
                bucket = self.births.get(m.birth_date)
                if bucket is None:
                    bucket = self.births[m.birth_date] = set()
                    self._birth_dates = None
                bucket.add((m.id, household_id))

    def put_contact(self, contact_id: str, contact: ContactAttempt | None) -> None:
        if contact is None:  # the ledger is append-only: nothing stages a removal
            return
        key = instant_key(contact.at) + contact_id
        self.contacts[contact_id] = contact
        by_resident = self.contacts_by_resident.get(contact.resident_id)
        if by_resident is None:
            by_resident = self.contacts_by_resident[contact.resident_id] = _SortedKeys()
        by_resident.add(key)
        by_cell = self.contacts_by_cell.get(contact.cell_code)
        if by_cell is None:
            by_cell = self.contacts_by_cell[contact.cell_code] = _SortedKeys()
            self.contact_cells.add(contact.cell_code)
        by_cell.add(key)

    def put_task(self, task_id: str, task: CareTask | None) -> None:
        old = self.tasks.get(task_id)
        if old is not None and old.state is TaskState.OPEN:
            self.open_by_resident[old.resident_id].discard(task_id)
            self.open_by_cell[old.cell_code].discard(instant_key(old.due) + task_id)
        if task is None:
            self.tasks.pop(task_id, None)
            return
        self.tasks[task_id] = task
        if task.state is TaskState.OPEN:
            self.open_by_resident.setdefault(task.resident_id, set()).add(task_id)
            by_cell = self.open_by_cell.get(task.cell_code)
            if by_cell is None:
                by_cell = self.open_by_cell[task.cell_code] = _SortedKeys()
                self.open_task_cells.add(task.cell_code)
            by_cell.add(instant_key(task.due) + task_id)

    def put_case(self, case_id: str, case: Case | None) -> None:
        old = self.cases.get(case_id)
        if old is not None:
            if old.next_check is not None:
                self.cases_due.discard(instant_key(old.next_check) + case_id)
            key = instant_key(old.reported_at) + case_id
            self.cases_by_cell[old.cell_code].discard(key)
            if old.is_open:
                self.open_cases_by_cell[old.cell_code].discard(key)
            if (
                old.external_id is not None
                and self.case_by_external.get(old.external_id) == case_id
            ):
                del self.case_by_external[old.external_id]
        if case is None:  # cases are never removed; kept for symmetry with the other tables
            self.cases.pop(case_id, None)
            return
        self.cases[case_id] = case
        if case.next_check is not None:
            self.cases_due.add(instant_key(case.next_check) + case_id)
        key = instant_key(case.reported_at) + case_id
        _index_in(self.cases_by_cell, self.case_cells, case.cell_code).add(key)
        if case.is_open:
            _index_in(self.open_cases_by_cell, self.open_case_cells, case.cell_code).add(key)
        if case.external_id is not None:
            self.case_by_external[case.external_id] = case_id

    def put_venue(self, venue_id: str, venue: Venue | None) -> None:
        old = self.venues.get(venue_id)
        if old is not None:
            self.venues_by_cell[old.cell_code].discard(venue_id)
        if venue is None:  # venues are never removed; kept for symmetry with the other tables
            self.venues.pop(venue_id, None)
            return
        self.venues[venue_id] = venue
        _index_in(self.venues_by_cell, self.venue_cells, venue.cell_code).add(venue_id)

    def put_series(
        self, series_id: str, series: ActivitySeries | None, span: tuple[str, str | None] | None
    ) -> None:
        old = self.series.get(series_id)
        if old is not None:
            first = self.series_spans[series_id][0]
            self.series_by_venue[old.venue_id].discard(first + series_id)
        if series is None or span is None:  # series are never removed
            self.series.pop(series_id, None)
            self.series_spans.pop(series_id, None)
            return
        self.series[series_id] = series
        self.series_spans[series_id] = span
        _index(self.series_by_venue, series.venue_id).add(span[0] + series_id)

    def put_registration(self, registration_id: str, registration: Registration | None) -> None:
        old = self.registrations.get(registration_id)
        if old is not None:
            self.registrations_by_occurrence[old.occurrence_id].discard(
                instant_key(old.registered_at) + registration_id
            )
            self.registrations_by_resident[old.resident_id].discard(
                instant_key(old.start) + registration_id
            )
        if registration is None:  # registrations are never removed
            self.registrations.pop(registration_id, None)
            return
        r = registration
        self.registrations[registration_id] = r
        _index(self.registrations_by_occurrence, r.occurrence_id).add(
            instant_key(r.registered_at) + registration_id
        )
        _index(self.registrations_by_resident, r.resident_id).add(
            instant_key(r.start) + registration_id
        )

    def put_shift(self, shift_id: str, shift: Shift | None) -> None:
        old = self.shifts.get(shift_id)
        if old is not None:
            self.shifts_by_venue[old.venue_id].discard(instant_key(old.start) + shift_id)
        if shift is None:  # shifts are never removed
            self.shifts.pop(shift_id, None)
            return
        self.shifts[shift_id] = shift
        _index(self.shifts_by_venue, shift.venue_id).add(instant_key(shift.start) + shift_id)

    def put_signup(self, signup_id: str, signup: SignUp | None) -> None:
        old = self.signups.get(signup_id)
        if old is not None:
            self.signups_by_shift[old.shift_id].discard(instant_key(old.at) + signup_id)
            self.signups_by_resident[old.resident_id].discard(instant_key(old.start) + signup_id)
        if signup is None:  # sign-ups are never removed
            self.signups.pop(signup_id, None)
            return
        self.signups[signup_id] = signup
        _index(self.signups_by_shift, signup.shift_id).add(instant_key(signup.at) + signup_id)
        _index(self.signups_by_resident, signup.resident_id).add(
            instant_key(signup.start) + signup_id
        )

    def put_audit(self, entry_id: str, entry: AuditEntry | None) -> None:
        if entry is None:  # the trail is append-only: nothing stages a removal
            return
        key = instant_key(entry.at) + entry_id
        self.audit[entry_id] = entry
        self.audit_keys.add(key)
        for indexes, group in (
            (self.audit_by_principal, entry.principal_id),
            (self.audit_by_subject, entry.subject),
        ):
            index = indexes.get(group)
            if index is None:
                index = indexes[group] = _SortedChunks()
            index.add(key)

    # -- ordered reads ----------------------------------------------------------------------

    def households_from(
        self, prefix: str, start: SortKey | None, wanted: int, skip: Container[str]
    ) -> list[tuple[SortKey, Household]]:
        """Return up to ``wanted`` households of the subtree ``prefix`` after ``start``.

        They come by cell code and id; ids in ``skip`` are left out.
        """
        first_cell = prefix if start is None or start[0] < prefix else start[0]
        households = self.households
        out: list[tuple[SortKey, Household]] = []
        for cell_code in self.household_cells.from_(first_cell):
            if wanted <= 0 or not cell_code.startswith(prefix):
                break
            ids = self.households_by_cell[cell_code]
            if start is not None and cell_code == start[0]:
                hids = list(ids.from_(start[1], inclusive=False))
            else:
                hids = ids.ordered()
            # Building whole slices per cell keeps per-item work in C-level comprehensions.
            rows = [((cell_code, h), households[h]) for h in hids[:wanted] if h not in skip]
            wanted -= len(rows)
            out.extend(rows)
        return out

    def tagged_from(self, tag: Tag, prefix: str, start: SortKey | None) -> Iterator[ResidentKey]:
        keys = self.tagged_sorted.get(tag)
        if keys is None:
            keys = self.tagged_sorted[tag] = sorted(self.tagged.get(tag, ()))
        if start is None or start[0] < prefix:
            i = bisect.bisect_left(keys, (prefix, "", ""))
        else:
            i = bisect.bisect_right(keys, (start[0], start[1], start[2]))
        for key in itertools.islice(keys, i, None):
            if not key[0].startswith(prefix):
                return
            yield key

    def born_from(
        self,
        born_after: pendulum.Date | None,
        latest: pendulum.Date | None,
        start: SortKey | None,
    ) -> Iterator[tuple[pendulum.Date, str, str]]:
        """Yield ``(birth_date, resident_id, household_id)`` by birth date then resident id."""
        if self._birth_dates is None:
            self._birth_dates = sorted(self.births)
        dates = self._birth_dates
        i = 0 if born_after is None else bisect.bisect_right(dates, born_after)
        if start is not None:
            i = max(i, bisect.bisect_left(dates, pendulum.Date.fromisoformat(start[0])))
        for day in itertools.islice(dates, i, None):
            if latest is not None and day > latest:
                return
            for rid, hid in sorted(self.births[day]):
                if start is not None and (day.isoformat(), rid) <= (start[0], start[1]):
                    continue
                yield (day, rid, hid)


def _index(indexes: dict[str, _SortedKeys], group: str) -> _SortedKeys:
    """Return the index of ``group`` (a venue, a resident, ...), creating it if new."""
    index = indexes.get(group)
    if index is None:
        index = indexes[group] = _SortedKeys()
    return index


def _index_in(indexes: dict[str, _SortedKeys], cells: _SortedKeys, cell_code: str) -> _SortedKeys:
    """Return the per-cell index of ``cell_code``, creating it (and listing the cell) if new."""
    index = indexes.get(cell_code)
    if index is None:
        index = indexes[cell_code] = _SortedKeys()
        cells.add(cell_code)
    return index


class MemoryStore:
    """An in-memory store; call it for a unit of work.

    Args:
        scheme: The code scheme cell codes must follow.
    """

    def __init__(self, scheme: CodeScheme = DEFAULT_SCHEME) -> None:
        self._scheme = scheme
        self._state = _State()
        self._lock = threading.RLock()
        # Due cases claimed by a live unit of work (``cases.claim_due``), released when it ends.
        self._claims: dict[str, MemoryUnitOfWork] = {}

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme cell codes must follow."""
        return self._scheme

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
        s = self._state
        return f"MemoryStore(cells={len(s.cells)}, households={len(s.households)})"


class _Staging(Generic[R]):
    """One table's staged writes: new values (``None`` for removal) and the versions read."""

    def __init__(
        self,
        kind: str,
        committed: Callable[[str], R | None],
        *groupings: Callable[[R], str],
    ) -> None:
        self.kind = kind
        self.committed: Callable[[str], R | None] = committed
        self.values: dict[str, R | None] = {}
        self.base: dict[str, int] = {}
        # Staged keys by group (a resident's contacts and tasks, an occurrence's registrations),
        # one mapping per grouping, so that a unit staging many records (a scenario's replayed
        # history) answers per-resident or per-occurrence reads without a scan.
        self._groupings: tuple[Callable[[R], str], ...] = groupings
        self._groups: tuple[dict[str, set[str]], ...] = tuple({} for _ in groupings)
        # Whether the unit lost a race for one of its locks (set by the unit of work).
        self.lost_race: Callable[[], bool] = lambda: False

    def _note(self, key: str, record: R) -> None:
        for grouping, groups in zip(self._groupings, self._groups, strict=True):
            groups.setdefault(grouping(record), set()).add(key)

    def in_group(self, group: str, by: int = 0) -> Iterator[R]:
        """Yield the staged records of ``group`` under the grouping number ``by``."""
        if by >= len(self._groupings):
            return
        grouping = self._groupings[by]
        for key in self._groups[by].get(group, ()):
            record = self.values.get(key)
            if record is not None and grouping(record) == group:
                yield record

    def current(self, key: str) -> R | None:
        if key in self.values:
            return self.values[key]
        return self.committed(key)

    def get(self, key: str) -> R:
        found = self.current(check_text_key("key", key))
        if found is None:
            raise NotFoundError(self.kind, key)
        return found

    def _remember_base(self, key: str) -> None:
        if key not in self.base:
            stored = self.committed(key)
            self.base[key] = 0 if stored is None else stored.version

    def stage_add(self, key: str, record: R) -> R:
        if self.current(key) is not None:
            if self.lost_race():
                # Another unit that held one of this unit's locks committed the key after this
                # one read: this unit lost the race (its commit would fail), so a retry helps.
                raise ConflictError(
                    f"{self.kind} {key!r} was stored by another unit of work meanwhile",
                    retryable=True,
                )
            raise ConflictError.duplicate(self.kind, key)
        self._remember_base(key)
        stored = with_version(record, 1)
        self.values[key] = stored
        self._note(key, stored)
        return stored

    def check_current(self, key: str, record: R) -> R:
        current = self.current(key)
        if current is None:
            raise NotFoundError(self.kind, key)
        if current.version != record.version:
            raise ConflictError(
                f"{self.kind} {key!r} is at version {current.version}, "
                f"the update was made from version {record.version}",
                retryable=True,
            )
        return current

    def stage_update(self, key: str, record: R) -> R:
        current = self.check_current(key, record)
        self._remember_base(key)
        stored = with_version(record, current.version + 1)
        self.values[key] = stored
        self._note(key, stored)
        return stored

    def stage_remove(self, key: str, record: R) -> None:
        self.check_current(key, record)
        self._remember_base(key)
        self.values[key] = None

    def unstage(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.values.pop(key, None)
            self.base.pop(key, None)

    def conflicts(self) -> Iterator[str]:
        for key, base in self.base.items():
            stored = self.committed(key)
            if (0 if stored is None else stored.version) != base:
                yield f"{self.kind} {key!r} was changed by another unit of work"

    def clear(self) -> None:
        self.values.clear()
        self.base.clear()
        for groups in self._groups:
            groups.clear()


R2 = TypeVar("R2")


def _resident_of(record: ContactAttempt | CareTask | Registration | SignUp) -> str:
    return record.resident_id


def _venue_of(record: ActivitySeries | Shift) -> str:
    return record.venue_id


def _occurrence_of(record: Registration) -> str:
    return record.occurrence_id


def _shift_of(record: SignUp) -> str:
    return record.shift_id


def _principal_of(record: AuditEntry) -> str:
    return record.principal_id


def _subject_of(record: AuditEntry) -> str:
    return record.subject


def _first(row: tuple[SortKey, object]) -> SortKey:
    return row[0]


def _ordered_merge(
    committed: Iterable[tuple[SortKey, R2]],
    staged: Iterable[tuple[SortKey, R2]],
    limit: int,
    *,
    reverse: bool = False,
) -> tuple[list[tuple[SortKey, R2]], bool]:
    pending = sorted(staged, key=_first, reverse=reverse)
    # Most reads happen in units that staged nothing: skip the merge then.
    if not pending and isinstance(committed, list):
        rows = committed[: limit + 1]
    else:
        merged = (
            heapq.merge(committed, pending, key=_first, reverse=reverse) if pending else committed
        )
        rows = list(itertools.islice(merged, limit + 1))
    return rows[:limit], len(rows) > limit


def _page(rows: list[tuple[SortKey, R2]], more: bool) -> Page[R2]:
    items = tuple(map(operator.itemgetter(1), rows))
    return Page(items, encode_cursor(*rows[-1][0]) if more and rows else None)


class MemoryUnitOfWork:
    """A unit of work over a :class:`MemoryStore`; see :class:`gridgov.ports.UnitOfWork`."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        state = store._state
        self._cells = _Staging[GridCell]("cell", state.cells.get)
        self._workers = _Staging[Worker]("worker", state.workers.get)
        self._requests = _Staging[RememberedRequest]("remembered request", state.requests.get)
        self._outbox = _Staging[StoredEvent]("event", state.outbox.events.get)
        self._households = _Staging[Household]("household", state.households.get)
        self._contacts = _Staging[ContactAttempt]("contact", state.contacts.get, _resident_of)
        self._tasks = _Staging[CareTask]("care task", state.tasks.get, _resident_of)
        self._cases = _Staging[Case]("case", state.cases.get)
        self._settings = _Staging[Settings]("settings", self._committed_settings)
        self._venues = _Staging[Venue]("venue", state.venues.get)
        self._series = _Staging[ActivitySeries]("series", state.series.get, _venue_of)
        self._registrations = _Staging[Registration](
            "registration", state.registrations.get, _resident_of, _occurrence_of
        )
        self._shifts = _Staging[Shift]("shift", state.shifts.get, _venue_of)
        self._signups = _Staging[SignUp]("sign-up", state.signups.get, _resident_of, _shift_of)
        self._audit = _Staging[AuditEntry](
            "audit entry", state.audit.get, _principal_of, _subject_of
        )
        self.cells = MemoryCellRepository(self)
        self.workers = MemoryWorkerRepository(self)
        self.households = MemoryHouseholdRepository(self)
        self.contacts = MemoryContactRepository(self)
        self.care_tasks = MemoryCareTaskRepository(self)
        self.cases = MemoryCaseRepository(self)
        self.settings = MemorySettingsRepository(self)
        self.venues = MemoryVenueRepository(self)
        self.series = MemorySeriesRepository(self)
        self.registrations = MemoryRegistrationRepository(self)
        self.shifts = MemoryShiftRepository(self)
        self.signups = MemorySignUpRepository(self)
        self.audit = MemoryAuditRepository(self)
        self.requests = MemoryRequestRepository(self)
        self.outbox = MemoryOutboxRepository(self, self._outbox)
        self.locks = MemoryLockRepository(self)
        for staging in self._stagings():
            staging.lost_race = lambda: any(self.locks.conflicts())
        self._claimed: set[str] = set()
        self._seen_commits = state.commits

    def _committed_settings(self, key: str) -> Settings | None:
        return self._store._state.settings if key == SETTINGS_KEY else None

    def _stagings(self) -> tuple[_Staging[Any], ...]:
        return (
            self._cells,
            self._workers,
            self._households,
            self._contacts,
            self._tasks,
            self._cases,
            self._settings,
            self._venues,
            self._series,
            self._registrations,
            self._shifts,
            self._signups,
            self._audit,
            self._requests,
            self._outbox,
        )

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
        for staging in self._stagings():
            staging.clear()
        self.households._staged_owner.clear()
        self.cases._staged_external.clear()
        self.series._spans.clear()
        self.locks.held.clear()
        self.settings.saved.clear()
        if self._claimed:
            with self._store._lock:
                for case_id in self._claimed:
                    if self._store._claims.get(case_id) is self:
                        del self._store._claims[case_id]
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
                state.outbox.check(self._outbox.values)
            for code, cell in self._cells.values.items():
                state.put_cell(code, cell)
            for wid, worker in self._workers.values.items():
                state.put_worker(wid, worker)
            for hid, household in self._households.values.items():
                state.put_household(hid, household)
            for cid, contact in self._contacts.values.items():
                state.put_contact(cid, contact)
            for tid, task in self._tasks.values.items():
                state.put_task(tid, task)
            for cid, case in self._cases.values.items():
                state.put_case(cid, case)
            if SETTINGS_KEY in self._settings.values:
                state.settings = self._settings.values[SETTINGS_KEY]
                state.settings_history.extend(self.settings.saved)
            for vid, venue in self._venues.values.items():
                state.put_venue(vid, venue)
            for sid, series in self._series.values.items():
                state.put_series(sid, series, None if series is None else self.series.span(series))
            for rid, registration in self._registrations.values.items():
                state.put_registration(rid, registration)
            for sid, shift in self._shifts.values.items():
                state.put_shift(sid, shift)
            for sid, signup in self._signups.values.items():
                state.put_signup(sid, signup)
            for aid, entry in self._audit.values.items():
                state.put_audit(aid, entry)
            for key, request in self._requests.values.items():
                if request is None:
                    state.requests.pop(key, None)
                else:
                    state.requests[key] = request
            for key, event in self._outbox.values.items():
                state.outbox.put(key, event)
            for name, base in self.locks.held.items():
                state.locks[name] = base + 1
            state.commits += 1
        self.rollback()

    def _check_against_others(self) -> None:
        """Re-check what was staged against what other units committed since this one began."""
        problems = [problem for staging in self._stagings() for problem in staging.conflicts()]
        problems.extend(self.locks.conflicts())
        if problems:
            self.rollback()
            raise ConflictError("; ".join(problems[:3]), retryable=True)
        self._check_integrity()

    def _check_integrity(self) -> None:
        """Re-check references against what others committed since they were staged."""
        state = self._store._state
        for hid, household in self._households.values.items():
            if household is None:
                continue
            if self._cells.current(household.cell_code) is None:
                self.rollback()
                raise ConflictError(f"household {hid!r}: its cell was removed", retryable=True)
            for m in household.members:
                owner = state.resident_owner.get(m.id)
                if owner is not None and owner != hid and owner not in self._households.values:
                    self.rollback()
                    raise ConflictError(
                        f"resident {m.id!r} already belongs to another household", retryable=True
                    )
        for wid, worker in self._workers.values.items():
            if worker is not None and any(
                self._cells.current(a.cell_code) is None for a in worker.assignments
            ):
                self.rollback()
                raise ConflictError(f"worker {wid!r}: an assigned cell was removed", retryable=True)
        for code, cell in self._cells.values.items():
            if cell is None:
                if (
                    state.children.get(code)
                    or state.households_by_cell.get(code)
                    or state.workers_by_cell.get(code)
                ):
                    self.rollback()
                    raise ConflictError(
                        f"cell {code!r} gained children, households or workers", retryable=True
                    )
            elif cell.parent_code is not None and self._cells.current(cell.parent_code) is None:
                self.rollback()
                raise ConflictError(f"cell {code!r}: its parent was removed", retryable=True)
        referring: list[tuple[str, ContactAttempt | CareTask]] = [
            (f"contact {cid!r}", c) for cid, c in self._contacts.values.items() if c is not None
        ]
        for tid, task in self._tasks.values.items():
            stored = state.tasks.get(tid)
            if task is not None and (
                stored is None
                or (stored.household_id, stored.cell_code) != (task.household_id, task.cell_code)
            ):
                referring.append((f"care task {tid!r}", task))
        for what, record in referring:
            try:
                self._check_resident(record)
            except ValidationError:
                self.rollback()
                raise ConflictError(
                    f"{what}: its resident left that household or cell meanwhile", retryable=True
                ) from None
        self._check_cases()
        self._check_scheduling()

    def _check_cases(self) -> None:
        """Re-check staged cases: their cells still stored, their external ids still theirs."""
        state = self._store._state
        for cid, case in self._cases.values.items():
            if case is None:
                continue
            stored = state.cases.get(cid)
            if (
                stored is None
                or (stored.cell_code, stored.owner_cell) != (case.cell_code, case.owner_cell)
            ) and any(
                self._cells.current(code) is None for code in (case.cell_code, case.owner_cell)
            ):
                self.rollback()
                raise ConflictError(
                    f"case {cid!r}: its cell or owning cell was removed", retryable=True
                )
            owner = (
                None if case.external_id is None else state.case_by_external.get(case.external_id)
            )
            if owner is not None and owner != cid:
                mine = self._cases.values.get(owner, state.cases.get(owner))
                if mine is not None and mine.external_id == case.external_id:
                    self.rollback()
                    raise ConflictError(
                        f"case {cid!r}: another case took its external id meanwhile",
                        retryable=True,
                    )

    def _check_scheduling(self) -> None:
        """Re-check staged venues, series, registrations and sign-ups against others' commits.

        A venue's cell may have been removed, a series' space dropped from its venue by a venue
        update, a registration's or sign-up's resident removed with their household. Updates
        that keep their references are not checked again, as the SQL stores do not check them:
        a registration of a resident who moved away can still be cancelled.
        """
        state = self._store._state
        problems: list[str] = []
        for vid, venue in self._venues.values.items():
            stored_venue = state.venues.get(vid)
            if (
                venue is not None
                and (stored_venue is None or stored_venue.cell_code != venue.cell_code)
                and self._cells.current(venue.cell_code) is None
            ):
                problems.append(f"venue {vid!r}: its cell was removed")
        for sid, series in self._series.values.items():
            stored_series = state.series.get(sid)
            if series is None or (
                stored_series is not None
                and (stored_series.venue_id, stored_series.space_id)
                == (series.venue_id, series.space_id)
            ):
                continue
            owner = self._venues.current(series.venue_id)
            if owner is None or all(s.id != series.space_id for s in owner.spaces):
                problems.append(f"series {sid!r}: its venue no longer has its space")
        residents: list[tuple[str, Registration | SignUp, Registration | SignUp | None]] = [
            (f"registration {rid!r}", r, state.registrations.get(rid))
            for rid, r in self._registrations.values.items()
            if r is not None
        ]
        residents.extend(
            (f"sign-up {sid!r}", s, state.signups.get(sid))
            for sid, s in self._signups.values.items()
            if s is not None
        )
        for what, record, stored in residents:
            if (stored is None or stored.resident_id != record.resident_id) and (
                self.households._owner(record.resident_id) is None
            ):
                problems.append(f"{what}: its resident was removed")
        if problems:
            self.rollback()
            raise ConflictError("; ".join(problems[:3]), retryable=True)

    # -- helpers used by the repositories ---------------------------------------------------

    @property
    def _state(self) -> _State:
        return self._store._state

    def _require_cell(self, code: str, field: str) -> GridCell:
        cell = self._cells.current(check_text_key(field, code))
        if cell is None:
            raise ValidationError(field, "unknown cell")
        return cell

    def _check_resident(self, record: ContactAttempt | CareTask) -> None:
        owner = self.households._owner(record.resident_id)
        check_resident_reference(record, None if owner is None else (owner.id, owner.cell_code))

    def _existing_cell(self, code: str) -> None:
        """Raise NotFoundError unless the cell ``code`` is stored (or staged)."""
        if self._cells.current(check_text_key("cell_code", code)) is None:
            raise NotFoundError("cell", code)

    def _existing_venue(self, venue_id: str) -> Venue:
        """Return the venue ``venue_id`` as this unit sees it, or raise NotFoundError."""
        venue = self._venues.current(check_text_key("venue_id", venue_id))
        if venue is None:
            raise NotFoundError("venue", venue_id)
        return venue

    def _existing_resident(self, resident_id: str) -> None:
        """Raise NotFoundError unless a household (stored or staged) holds the resident."""
        if self.households._owner(resident_id) is None:
            raise NotFoundError("resident", resident_id)


class MemoryCellRepository:
    """Cells in a :class:`MemoryStore`; see :class:`gridgov.ports.CellRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._cells

    def get(self, code: str) -> GridCell:
        """Return the cell with ``code`` or raise NotFoundError."""
        return self._staging.get(code)

    def add(self, cell: GridCell) -> GridCell:
        """Store a new cell whose parent is stored; return it with version 1."""
        if not isinstance(cell, GridCell):
            raise ValidationError("cell", "expected a GridCell")
        parent = None if cell.parent_code is None else self._staging.current(cell.parent_code)
        check_placement(cell, parent, self._uow._store.scheme)
        with self._uow._store._lock:
            return self._staging.stage_add(cell.code, cell)

    def update(self, cell: GridCell) -> GridCell:
        """Replace a stored cell if its version is current; its parent and level stay."""
        if not isinstance(cell, GridCell):
            raise ValidationError("cell", "expected a GridCell")
        with self._uow._store._lock:
            current = self._staging.check_current(cell.code, cell)
            if (current.parent_code, current.level) != (cell.parent_code, cell.level):
                raise ValidationError("parent_code", "a cell cannot move; add a new cell instead")
            return self._staging.stage_update(cell.code, cell)

    def remove(self, cell: GridCell) -> None:
        """Delete a cell that has no children, households or workers assigned."""
        if not isinstance(cell, GridCell):
            raise ValidationError("cell", "expected a GridCell")
        with self._uow._store._lock:
            self._staging.check_current(cell.code, cell)
            if self.children(cell.code):
                raise ConflictError(f"cell {cell.code!r} still has child cells")
            if self._uow.households.in_subtree(cell.code, limit=1).items:
                raise ConflictError(f"cell {cell.code!r} still has households")
            if self._uow.workers._assigned_ids(cell.code):
                raise ConflictError(f"cell {cell.code!r} still has workers assigned")
            self._staging.stage_remove(cell.code, cell)

    def _codes_from(self, prefix: str, after: str | None) -> list[tuple[SortKey, GridCell]]:
        state = self._uow._state
        out: list[tuple[SortKey, GridCell]] = []
        start = prefix if after is None else max(after, prefix)
        for code in state.cell_codes.from_(start, inclusive=after is None or after < prefix):
            if not code.startswith(prefix):
                break
            if code not in self._staging.values:
                out.append(((code,), state.cells[code]))
        return out

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, ordered by code."""
        with self._uow._store._lock:
            self.get(code)
            state = self._uow._state
            kids = {
                c: state.cells[c]
                for c in (state.children[code].ordered() if code in state.children else ())
                if c not in self._staging.values
            }
            for c, cell in self._staging.values.items():
                if cell is not None and cell.parent_code == code:
                    kids[c] = cell
            return tuple(kids[c] for c in sorted(kids))

    def subtree(
        self, code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[GridCell]:
        """Return the cell ``code`` and every cell below it, ordered by code."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            self.get(code)
            committed = iter(self._codes_from(code, None if start is None else start[0]))
            staged = [
                ((c,), cell)
                for c, cell in self._staging.values.items()
                if cell is not None and c.startswith(code) and (start is None or (c,) > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))

    def tree(self) -> GridTree:
        """Return every stored cell as a validated tree."""
        with self._uow._store._lock:
            cells = dict(self._uow._state.cells)
            for code, cell in self._staging.values.items():
                if cell is None:
                    cells.pop(code, None)
                else:
                    cells[code] = cell
            return GridTree(cells.values(), self._uow._store.scheme)


class MemoryWorkerRepository:
    """Workers in a :class:`MemoryStore`; see :class:`gridgov.ports.WorkerRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._workers

    def get(self, worker_id: str) -> Worker:
        """Return the worker with ``worker_id`` or raise NotFoundError."""
        return self._staging.get(worker_id)

    def _check(self, worker: object) -> Worker:
        if not isinstance(worker, Worker):
            raise ValidationError("worker", "expected a Worker")
        for i, a in enumerate(worker.assignments):
            self._uow._require_cell(a.cell_code, f"assignments[{i}].cell_code")
        return worker

    def add(self, worker: Worker) -> Worker:
        """Store a new worker whose assigned cells are stored; return it with version 1."""
        with self._uow._store._lock:
            checked = self._check(worker)
            return self._staging.stage_add(checked.id, checked)

    def update(self, worker: Worker) -> Worker:
        """Replace a stored worker if its version is current."""
        with self._uow._store._lock:
            checked = self._check(worker)
            return self._staging.stage_update(checked.id, checked)

    def remove(self, worker: Worker) -> None:
        """Delete a stored worker if its version is current."""
        if not isinstance(worker, Worker):
            raise ValidationError("worker", "expected a Worker")
        with self._uow._store._lock:
            self._staging.stage_remove(worker.id, worker)

    def list(self, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None) -> Page[Worker]:
        """Return workers ordered by id."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            state = self._uow._state
            ids = (
                state.worker_ids.from_(start[0], inclusive=False)
                if start
                else iter(state.worker_ids.ordered())
            )
            committed = (
                ((wid,), state.workers[wid]) for wid in ids if wid not in self._staging.values
            )
            staged = [
                ((wid,), w)
                for wid, w in self._staging.values.items()
                if w is not None and (start is None or (wid,) > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))

    def _assigned_ids(self, cell_code: str) -> set[str]:
        ids = {
            wid
            for wid in self._uow._state.workers_by_cell.get(cell_code, ())
            if wid not in self._staging.values
        }
        ids.update(
            wid
            for wid, w in self._staging.values.items()
            if w is not None and any(a.cell_code == cell_code for a in w.assignments)
        )
        return ids

    def assigned_to(self, cell_code: str, *, on: pendulum.Date) -> tuple[Worker, ...]:
        """Return the workers assigned to the cell ``cell_code`` on ``on``, ordered by id."""
        with self._uow._store._lock:
            self._uow.cells.get(cell_code)
            workers = [self.get(wid) for wid in sorted(self._assigned_ids(cell_code))]
        return tuple(
            w
            for w in workers
            if any(a.cell_code == cell_code and a.active_on(on) for a in w.assignments)
        )


class MemoryHouseholdRepository:
    """Households in a :class:`MemoryStore`; see :class:`gridgov.ports.HouseholdRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._households
        self._staged_owner: dict[str, str] = {}  # resident id -> staged household id

    def get(self, household_id: str) -> Household:
        """Return the household with ``household_id`` or raise NotFoundError."""
        return self._staging.get(household_id)

    def _owner(self, resident_id: str) -> Household | None:
        for hid in (
            self._staged_owner.get(resident_id),
            self._uow._state.resident_owner.get(resident_id),
        ):
            household = None if hid is None else self._staging.current(hid)
            if household is not None and any(m.id == resident_id for m in household.members):
                return household
        return None

    def household_of(self, resident_id: str) -> Household:
        """Return the household the resident belongs to, or raise NotFoundError."""
        check_text_key("resident_id", resident_id)
        with self._uow._store._lock:
            household = self._owner(resident_id)
        if household is None:
            raise NotFoundError("resident", resident_id)
        return household

    def _check(self, household: object, known_cells: set[str] | None = None) -> Household:
        if not isinstance(household, Household):
            raise ValidationError("household", "expected a Household")
        if known_cells is None or household.cell_code not in known_cells:
            self._uow._require_cell(household.cell_code, "cell_code")
            if known_cells is not None:
                known_cells.add(household.cell_code)
        committed_owner = self._uow._state.resident_owner
        for i, m in enumerate(household.members):
            if m.id not in self._staged_owner and m.id not in committed_owner:
                continue  # the common case in bulk loads: a new resident
            owner = self._owner(m.id)
            if owner is not None and owner.id != household.id:
                raise ConflictError(f"members[{i}]: resident {m.id!r} belongs to another household")
        return household

    def _note_members(self, household: Household) -> None:
        for m in household.members:
            self._staged_owner[m.id] = household.id

    def add(self, household: Household) -> Household:
        """Store a new household in a stored cell; return it with version 1."""
        with self._uow._store._lock:
            checked = self._check(household)
            stored = self._staging.stage_add(checked.id, checked)
        self._note_members(stored)
        return stored

    def add_many(
        self,
        households: Iterable[Household],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new households from a stream; a failure unstages this call's households."""
        check_batch_size(batch_size)
        added: list[str] = []
        known_cells: set[str] = set()  # a stream is mostly households of a few cells
        try:
            with self._uow._store._lock:
                for household in households:
                    checked = self._check(household, known_cells)
                    stored = self._staging.stage_add(checked.id, checked)
                    added.append(stored.id)
                    self._note_members(stored)
                    if progress is not None and len(added) % batch_size == 0:
                        progress(len(added))
        except BaseException:
            self._staging.unstage(added)
            raise
        if progress is not None and len(added) % batch_size:
            progress(len(added))
        return len(added)

    def update(self, household: Household) -> Household:
        """Replace a stored household if its version is current."""
        with self._uow._store._lock:
            checked = self._check(household)
            stored = self._staging.stage_update(checked.id, checked)
        self._note_members(stored)
        return stored

    def remove(self, household: Household) -> None:
        """Delete a stored household if its version is current."""
        if not isinstance(household, Household):
            raise ValidationError("household", "expected a Household")
        with self._uow._store._lock:
            self._staging.stage_remove(household.id, household)

    def _staged_matching(self, accept: Callable[[Household], bool]) -> Iterator[Household]:
        return (h for h in self._staging.values.values() if h is not None and accept(h))

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Household]:
        """Return households in the cell ``cell_code`` or below it, by cell code then id."""
        check_limit(limit)
        start = decode_cursor(after, 2)
        with self._uow._store._lock:
            self._uow.cells.get(cell_code)
            state = self._uow._state
            staged_ids = self._staging.values
            committed = state.households_from(cell_code, start, limit + 1, staged_ids)
            staged = [
                ((h.cell_code, h.id), h)
                for h in self._staged_matching(lambda h: h.cell_code.startswith(cell_code))
                if start is None or (h.cell_code, h.id) > start
            ]
            return _page(*_ordered_merge(committed, staged, limit))

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
            state = self._uow._state
            committed = (
                (key, self._entry(state.households[key[1]], key[2]))
                for key in state.tagged_from(tag, prefix, start)
                if key[1] not in self._staging.values
            )
            staged = [
                ((h.cell_code, h.id, m.id), ResidentEntry(h.id, h.cell_code, m))
                for h in self._staged_matching(lambda h: h.cell_code.startswith(prefix))
                for m in h.members
                if tag in m.tags and (start is None or (h.cell_code, h.id, m.id) > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))

    @staticmethod
    def _entry(household: Household, resident_id: str) -> ResidentEntry:
        return ResidentEntry(household.id, household.cell_code, household.member(resident_id))

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
        prefix = "" if within is None else within

        def in_range(birth: pendulum.Date | None) -> bool:
            return (
                birth is not None
                and (born_after is None or birth > born_after)
                and (latest is None or birth <= latest)
            )

        with self._uow._store._lock:
            if within is not None:
                self._uow.cells.get(within)
            state = self._uow._state
            committed = (
                ((day.isoformat(), rid), self._entry(state.households[hid], rid))
                for day, rid, hid in state.born_from(born_after, latest, start)
                if hid not in self._staging.values
                and state.households[hid].cell_code.startswith(prefix)
            )
            staged = [
                ((m.birth_date.isoformat(), m.id), ResidentEntry(h.id, h.cell_code, m))
                for h in self._staged_matching(lambda h: h.cell_code.startswith(prefix))
                for m in h.members
                if m.birth_date is not None
                and in_range(m.birth_date)
                and (start is None or (m.birth_date.isoformat(), m.id) > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))


def _split(key: str) -> SortKey:
    return (key[:_W], key[_W:])


RO = TypeVar("RO", ContactAttempt, CareTask)


def _stage_residents_records(
    uow: MemoryUnitOfWork,
    staging: _Staging[RO],
    records: Iterable[object],
    require: Callable[[object], RO],
    batch_size: int,
    progress: ProgressCallback | None,
) -> int:
    """Stage a stream of a resident's records (contacts, tasks); a failure unstages them all."""
    check_batch_size(batch_size)
    added: list[str] = []
    try:
        with uow._store._lock:
            for record in records:
                checked = require(record)
                uow._check_resident(checked)
                added.append(staging.stage_add(checked.id, checked).id)
                if progress is not None and len(added) % batch_size == 0:
                    progress(len(added))
    except BaseException:
        staging.unstage(added)
        raise
    if progress is not None and len(added) % batch_size:
        progress(len(added))
    return len(added)


class MemoryContactRepository:
    """Contacts in a :class:`MemoryStore`; see :class:`gridgov.ports.ContactRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._contacts

    def get(self, contact_id: str) -> ContactAttempt:
        """Return the contact with ``contact_id`` or raise NotFoundError."""
        return self._staging.get(contact_id)

    def add(self, contact: ContactAttempt) -> ContactAttempt:
        """Store a new contact for a stored resident of that household and cell; return it."""
        if not isinstance(contact, ContactAttempt):
            raise ValidationError("contact", "expected a ContactAttempt")
        with self._uow._store._lock:
            self._uow._check_resident(contact)
            return self._staging.stage_add(contact.id, contact)

    def add_many(
        self,
        contacts: Iterable[ContactAttempt],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new contacts from a stream; a failure unstages this call's contacts."""

        def require(contact: object) -> ContactAttempt:
            if not isinstance(contact, ContactAttempt):
                raise ValidationError("contact", "expected a ContactAttempt")
            return contact

        return _stage_residents_records(
            self._uow, self._staging, contacts, require, batch_size, progress
        )

    def _staged(self, accept: Callable[[ContactAttempt], bool]) -> Iterator[ContactAttempt]:
        return (c for c in self._staging.values.values() if c is not None and accept(c))

    def for_resident(
        self,
        resident_id: str,
        *,
        since: pendulum.DateTime | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return a resident's contacts at or after ``since``, newest first."""
        check_text_key("resident_id", resident_id)
        low = "" if since is None else instant_key(check_instant("since", since), "since")
        check_limit(limit)
        start = decode_cursor(after, 2)
        before = None if start is None else start[0] + start[1]
        with self._uow._store._lock:
            state = self._uow._state
            index = state.contacts_by_resident.get(resident_id)
            committed: Iterable[tuple[SortKey, ContactAttempt]] = []
            if index is not None:
                keys, span = index.span(low, before=before)
                committed = (
                    (_split(k), state.contacts[k[_W:]])
                    for k in map(keys.__getitem__, reversed(span))
                    if k[_W:] not in self._staging.values
                )
            staged = [
                (key, c)
                for c in self._staging.in_group(resident_id)
                if (key := (instant_key(c.at), c.id))[0] >= low and (start is None or key < start)
            ]
            return _page(*_ordered_merge(committed, staged, limit, reverse=True))

    def in_subtree(
        self,
        cell_code: str,
        *,
        since: pendulum.DateTime,
        until: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[ContactAttempt]:
        """Return contacts in the subtree of ``cell_code`` with ``since <= at < until``, by time."""
        low, high = check_time_range(since, until)
        check_limit(limit)
        start = decode_cursor(after, 2)
        after_key = None if start is None else start[0] + start[1]
        with self._uow._store._lock:
            self._uow._existing_cell(cell_code)
            state = self._uow._state
            spans: list[Iterator[str]] = []
            for code in state.contact_cells.from_(cell_code):
                if not code.startswith(cell_code):
                    break
                keys, span = state.contacts_by_cell[code].span(low, high, after=after_key)
                if span:
                    spans.append(map(keys.__getitem__, span))
            committed = (
                (_split(k), state.contacts[k[_W:]])
                for k in heapq.merge(*spans)
                if k[_W:] not in self._staging.values
            )
            staged = [
                (key, c)
                for c in self._staged(lambda c: c.cell_code.startswith(cell_code))
                if low <= (key := (instant_key(c.at), c.id))[0] < high
                and (start is None or key > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))


class MemoryCareTaskRepository:
    """Care tasks in a :class:`MemoryStore`; see :class:`gridgov.ports.CareTaskRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._tasks

    def get(self, task_id: str) -> CareTask:
        """Return the task with ``task_id`` or raise NotFoundError."""
        return self._staging.get(task_id)

    @staticmethod
    def _require(task: object) -> CareTask:
        if not isinstance(task, CareTask):
            raise ValidationError("task", "expected a CareTask")
        return task

    def add(self, task: CareTask) -> CareTask:
        """Store a new task for a stored resident of that household and cell; return it."""
        checked = self._require(task)
        with self._uow._store._lock:
            self._uow._check_resident(checked)
            return self._staging.stage_add(checked.id, checked)

    def add_many(
        self,
        tasks: Iterable[CareTask],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new tasks from a stream; a failure unstages this call's tasks."""
        return _stage_residents_records(
            self._uow, self._staging, tasks, self._require, batch_size, progress
        )

    def update(self, task: CareTask) -> CareTask:
        """Replace a stored task if its version is current; return it."""
        checked = self._require(task)
        with self._uow._store._lock:
            current = self._staging.get(checked.id)
            stored = (current.resident_id, current.household_id, current.cell_code)
            if task_references_changed(stored, checked):
                self._uow._check_resident(checked)
            return self._staging.stage_update(checked.id, checked)

    def _staged_open(self, accept: Callable[[CareTask], bool]) -> Iterator[CareTask]:
        return (
            t
            for t in self._staging.values.values()
            if t is not None and t.state is TaskState.OPEN and accept(t)
        )

    def open_for_resident(self, resident_id: str) -> tuple[CareTask, ...]:
        """Return the resident's open tasks, by due instant then id."""
        check_text_key("resident_id", resident_id)
        with self._uow._store._lock:
            state = self._uow._state
            tasks = [
                state.tasks[tid]
                for tid in state.open_by_resident.get(resident_id, ())
                if tid not in self._staging.values
            ]
            tasks.extend(
                t for t in self._staging.in_group(resident_id) if t.state is TaskState.OPEN
            )
        return tuple(sorted(tasks, key=lambda t: (instant_key(t.due), t.id)))

    def open_in_subtree(
        self,
        cell_code: str,
        *,
        starting_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[CareTask]:
        """Return open tasks of the subtree whose window starts before the instant, by due, id."""
        instant_key(check_instant("starting_before", starting_before), "starting_before")
        check_limit(limit)
        start = decode_cursor(after, 2)
        after_key = None if start is None else start[0] + start[1]
        with self._uow._store._lock:
            self._uow._existing_cell(cell_code)
            state = self._uow._state
            spans: list[Iterator[str]] = []
            for code in state.open_task_cells.from_(cell_code):
                if not code.startswith(cell_code):
                    break
                keys, span = state.open_by_cell[code].span("", after=after_key)
                if span:
                    spans.append(map(keys.__getitem__, span))
            committed = (
                (_split(k), task)
                for k in heapq.merge(*spans)
                if k[_W:] not in self._staging.values
                and (task := state.tasks[k[_W:]]).start < starting_before
            )
            staged = [
                row
                for row in (
                    ((instant_key(t.due), t.id), t)
                    for t in self._staged_open(
                        lambda t: t.cell_code.startswith(cell_code) and t.start < starting_before
                    )
                )
                if start is None or row[0] > start
            ]
            return _page(*_ordered_merge(committed, staged, limit))


def _case_key(instant: pendulum.DateTime, case: Case) -> SortKey:
    return (instant_key(instant), case.id)


class MemoryCaseRepository:
    """Cases in a :class:`MemoryStore`; see :class:`gridgov.ports.CaseRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._cases
        self._staged_external: dict[str, str] = {}  # external id -> staged case id

    def get(self, case_id: str) -> Case:
        """Return the case with ``case_id`` or raise NotFoundError."""
        return self._staging.get(case_id)

    @staticmethod
    def _require(case: object) -> Case:
        if not isinstance(case, Case):
            raise ValidationError("case", "expected a Case")
        return case

    def _external_owner(self, external_id: str) -> str | None:
        """Return the id of the case holding ``external_id``, as this unit sees it."""
        for cid in (
            self._staged_external.get(external_id),
            self._uow._state.case_by_external.get(external_id),
        ):
            case = None if cid is None else self._staging.current(cid)
            if case is not None and case.external_id == external_id:
                return case.id
        return None

    def _check_cells(self, case: Case, known_cells: set[str] | None = None) -> None:
        for code in (case.cell_code, case.owner_cell):
            if known_cells is None or code not in known_cells:
                self._uow._existing_cell(code)
                if known_cells is not None:
                    known_cells.add(code)

    def _check_external(self, case: Case) -> None:
        if case.external_id is None:
            return
        owner = self._external_owner(case.external_id)
        if owner is not None and owner != case.id:
            raise ConflictError(f"case {owner!r} already has the external id of case {case.id!r}")

    def _stage_add(self, case: Case, known_cells: set[str] | None = None) -> Case:
        checked = self._require(case)
        self._check_cells(checked, known_cells)
        self._check_external(checked)
        stored = self._staging.stage_add(checked.id, checked)
        if stored.external_id is not None:
            self._staged_external[stored.external_id] = stored.id
        return stored

    def add(self, case: Case) -> Case:
        """Store a new case whose location and owner cells are stored; return it with version 1."""
        with self._uow._store._lock:
            return self._stage_add(case)

    def add_many(
        self,
        cases: Iterable[Case],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new cases from a stream; a failure unstages this call's cases."""
        check_batch_size(batch_size)
        added: list[str] = []
        known_cells: set[str] = set()
        try:
            with self._uow._store._lock:
                for case in cases:
                    added.append(self._stage_add(case, known_cells).id)
                    if progress is not None and len(added) % batch_size == 0:
                        progress(len(added))
        except BaseException:
            self._staging.unstage(added)
            raise
        if progress is not None and len(added) % batch_size:
            progress(len(added))
        return len(added)

    def update(self, case: Case) -> Case:
        """Replace a stored case if its version is current; return it."""
        checked = self._require(case)
        with self._uow._store._lock:
            current = self._staging.check_current(checked.id, checked)
            check_history_kept(len(current.history), checked)
            if (current.cell_code, current.owner_cell) != (checked.cell_code, checked.owner_cell):
                self._check_cells(checked)
            if checked.external_id != current.external_id:
                self._check_external(checked)
            stored = self._staging.stage_update(checked.id, checked)
            if stored.external_id is not None:
                self._staged_external[stored.external_id] = stored.id
            return stored

    def by_external_id(self, external_id: str) -> Case | None:
        """Return the case with that id in another system (12345, Open311), if any."""
        check_text_key("external_id", external_id)
        with self._uow._store._lock:
            owner = self._external_owner(external_id)
            return None if owner is None else self._staging.current(owner)

    def _staged(self, accept: Callable[[Case], bool]) -> Iterator[Case]:
        return (c for c in self._staging.values.values() if c is not None and accept(c))

    def due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return cases whose ``next_check`` is at or before the instant, by next_check, id."""
        horizon = instant_key(check_instant("at_or_before", at_or_before), "at_or_before")
        check_limit(limit)
        start = decode_cursor(after, 2)
        with self._uow._store._lock:
            state = self._uow._state
            staged_ids = self._staging.values
            keys = state.cases_due.irange(
                horizon + _TOP, after=None if start is None else start[0] + start[1]
            )
            committed = ((_split(k), state.cases[k[_W:]]) for k in keys if k[_W:] not in staged_ids)
            staged: list[tuple[SortKey, Case]] = []
            for c in self._staged(lambda c: c.next_check is not None):
                key = _case_key(c.next_check or at_or_before, c)  # ``or``: for the type checker
                if key[0] <= horizon and (start is None or key > start):
                    staged.append((key, c))
            return _page(*_ordered_merge(committed, staged, limit))

    def claim_due(
        self,
        *,
        at_or_before: pendulum.DateTime,
        limit: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> Page[Case]:
        """Return due cases as ``due`` does, claimed until this unit ends; others' skipped."""
        check_limit(limit)
        uow = self._uow
        claims = uow._store._claims
        items: list[Case] = []
        with uow._store._lock:
            while True:
                page = self.due(at_or_before=at_or_before, limit=limit, after=after)
                for case in page.items:
                    if claims.setdefault(case.id, uow) is uow:
                        uow._claimed.add(case.id)
                        items.append(case)
                        if len(items) == limit:
                            # ``or``: a due case has a next check; this is for the type checker.
                            key = _case_key(case.next_check or at_or_before, case)
                            return Page(tuple(items), encode_cursor(*key))
                if page.next_cursor is None:
                    return Page(tuple(items), None)
                after = page.next_cursor

    def _in_subtree(
        self,
        cell_code: str,
        cells: _SortedKeys,
        by_cell: dict[str, _SortedKeys],
        low: str,
        high: str | None,
        start: SortKey | None,
        accept: Callable[[Case], bool],
        limit: int,
    ) -> Page[Case]:
        """Merge the per-cell indexes of the subtree with the unit's staged cases, by key."""
        after_key = None if start is None else start[0] + start[1]
        self._uow._existing_cell(cell_code)
        state = self._uow._state
        spans: list[Iterator[str]] = []
        for code in cells.from_(cell_code):
            if not code.startswith(cell_code):
                break
            keys, span = by_cell[code].span(low, high, after=after_key)
            if span:
                spans.append(map(keys.__getitem__, span))
        committed = (
            (_split(k), state.cases[k[_W:]])
            for k in heapq.merge(*spans)
            if k[_W:] not in self._staging.values
        )
        staged = [
            row
            for row in (
                (_case_key(c.reported_at, c), c)
                for c in self._staged(lambda c: c.cell_code.startswith(cell_code) and accept(c))
            )
            if start is None or row[0] > start
        ]
        return _page(*_ordered_merge(committed, staged, limit))

    def open_in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Case]:
        """Return the open cases located in the subtree, by reported_at, id."""
        check_limit(limit)
        start = decode_cursor(after, 2)
        with self._uow._store._lock:
            state = self._uow._state
            return self._in_subtree(
                cell_code,
                state.open_case_cells,
                state.open_cases_by_cell,
                "",
                None,
                start,
                operator.attrgetter("is_open"),
                limit,
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
        """Return the cases of the subtree reported in ``[since, until)``, by reported_at, id."""
        low, high = check_time_range(since, until)
        check_limit(limit)
        start = decode_cursor(after, 2)
        with self._uow._store._lock:
            state = self._uow._state
            return self._in_subtree(
                cell_code,
                state.case_cells,
                state.cases_by_cell,
                low,
                high,
                start,
                lambda c: low <= instant_key(c.reported_at) < high,
                limit,
            )


class MemorySettingsRepository:
    """The settings of a :class:`MemoryStore`; see ``gridgov.ports.SettingsRepository``."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._settings
        self.saved: list[Settings] = []  # the versions this unit saved, for the history

    def get(self) -> Settings:
        """Return the stored settings, or raise NotFoundError if none were saved."""
        return self._staging.get(SETTINGS_KEY)

    def history(self) -> tuple[Settings, ...]:
        """Return every saved version of the settings, oldest first."""
        with self._uow._store._lock:
            return (*self._uow._store._state.settings_history, *self.saved)

    def save(self, settings: Settings) -> Settings:
        """Store the settings (version 0: the first save) if the version is current; return them."""
        if not isinstance(settings, Settings):
            raise ValidationError("settings", "expected Settings")
        with self._uow._store._lock:
            current = self._staging.current(SETTINGS_KEY)
            stored = 0 if current is None else current.version
            if settings.version != stored:
                raise ConflictError(
                    f"settings are at version {stored}, "
                    f"the save was made from version {settings.version}",
                    retryable=True,
                )
            if current is None:
                saved = self._staging.stage_add(SETTINGS_KEY, settings)
            else:
                saved = self._staging.stage_update(SETTINGS_KEY, settings)
            self.saved.append(saved)
            return saved


class MemoryRequestRepository:
    """Remembered requests of a :class:`MemoryStore`; see ``gridgov.ports.RequestRepository``."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._requests

    def get(self, key: str) -> RememberedRequest:
        """Return the request remembered under ``key``, or raise NotFoundError."""
        with self._uow._store._lock:
            return self._staging.get(key)

    @staticmethod
    def _require(request: object) -> RememberedRequest:
        if not isinstance(request, RememberedRequest):
            raise ValidationError("request", "expected a RememberedRequest")
        instant_key(request.expires)
        return request

    def add(self, request: RememberedRequest) -> RememberedRequest:
        """Remember a request; return it with version 1."""
        r = self._require(request)
        with self._uow._store._lock:
            return self._staging.stage_add(r.id, r)

    def update(self, request: RememberedRequest) -> RememberedRequest:
        """Replace a stored request if its version is current; return it."""
        r = self._require(request)
        with self._uow._store._lock:
            return self._staging.stage_update(r.id, r)

    def remove(self, request: RememberedRequest) -> None:
        """Forget a stored request if its version is current."""
        r = self._require(request)
        with self._uow._store._lock:
            self._staging.stage_remove(r.id, r)

    def forget_expired(self, now: pendulum.DateTime, *, limit: int = DEFAULT_PAGE_SIZE) -> int:
        """Forget up to ``limit`` requests expired at ``now``; return how many."""
        horizon = instant_key(check_instant("now", now), "now")
        check_limit(limit)
        with self._uow._store._lock:
            keys = {*self._uow._state.requests, *self._staging.values}
            expired = sorted(
                (instant_key(r.expires), r.id)
                for r in map(self._staging.current, keys)
                if r is not None and instant_key(r.expires) <= horizon
            )[:limit]
            for _, key in expired:
                request = self._staging.current(key)
                assert request is not None  # listed above, under the same lock
                self._staging.stage_remove(key, request)
        return len(expired)


# -- scheduling ------------------------------------------------------------------------------

_Timed = TypeVar("_Timed", Registration, Shift, SignUp)


def _overlapping(
    index: _SortedKeys | None,
    committed: dict[str, _Timed],
    staged_ids: Container[str],
    staged: Iterable[_Timed],
    start: pendulum.DateTime,
    end: pendulum.DateTime,
) -> tuple[_Timed, ...]:
    """Return the records overlapping ``[start, end)``, by start then id.

    ``index`` holds ``start key + id`` of the committed records of one group (a resident, a
    venue): a bisection keeps those starting before ``end``, and each is kept if it ends after
    ``start``. The unit's staged records of the group are merged in.
    """
    rows: list[tuple[str, _Timed]] = []
    if index is not None:
        keys, span = index.span("", instant_key(end, "end"))
        for key in map(keys.__getitem__, span):
            record_id = key[_W:]
            if record_id not in staged_ids and (record := committed[record_id]).end > start:
                rows.append((key, record))
    rows.extend((instant_key(r.start) + r.id, r) for r in staged if r.start < end and r.end > start)
    rows.sort(key=operator.itemgetter(0))
    return tuple(r for _, r in rows)


def _in_order(
    index: _SortedKeys | None,
    committed: dict[str, _Timed],
    staged_ids: Container[str],
    staged: Iterable[_Timed],
    instant: Callable[[_Timed], pendulum.DateTime],
) -> tuple[_Timed, ...]:
    """Return a group's records (an index of ``instant key + id``), staged ones merged, in order."""
    rows: list[tuple[str, _Timed]] = []
    if index is not None:
        rows = [(key, committed[key[_W:]]) for key in index.ordered() if key[_W:] not in staged_ids]
    rows.extend((instant_key(instant(r)) + r.id, r) for r in staged)
    rows.sort(key=operator.itemgetter(0))
    return tuple(r for _, r in rows)


def _registered_at(registration: Registration) -> pendulum.DateTime:
    return registration.registered_at


def _signed_up_at(signup: SignUp) -> pendulum.DateTime:
    return signup.at


def _id_page(found: dict[str, R2], start: SortKey | None, limit: int) -> Page[R2]:
    """Return a page of ``found`` by id, after the cursor's id."""
    ids = sorted(found)
    if start is not None:
        ids = ids[bisect.bisect_right(ids, start[0]) :]
    rows: list[tuple[SortKey, R2]] = [((key,), found[key]) for key in ids[: limit + 1]]
    return _page(rows[:limit], len(rows) > limit)


class MemoryVenueRepository:
    """Venues in a :class:`MemoryStore`; see :class:`gridgov.ports.VenueRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._venues

    def get(self, venue_id: str) -> Venue:
        """Return the venue with ``venue_id`` or raise NotFoundError."""
        return self._staging.get(venue_id)

    @staticmethod
    def _require(venue: object) -> Venue:
        if not isinstance(venue, Venue):
            raise ValidationError("venue", "expected a Venue")
        return venue

    def add(self, venue: Venue) -> Venue:
        """Store a new venue in a stored cell; return it with version 1."""
        checked = self._require(venue)
        with self._uow._store._lock:
            self._uow._existing_cell(checked.cell_code)
            return self._staging.stage_add(checked.id, checked)

    def update(self, venue: Venue) -> Venue:
        """Replace a stored venue if its version is current; return it."""
        checked = self._require(venue)
        with self._uow._store._lock:
            current = self._staging.check_current(checked.id, checked)
            if current.cell_code != checked.cell_code:
                self._uow._existing_cell(checked.cell_code)
            return self._staging.stage_update(checked.id, checked)

    def in_subtree(
        self, cell_code: str, *, limit: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> Page[Venue]:
        """Return the venues of the subtree, by id."""
        check_limit(limit)
        start = decode_cursor(after, 1)
        with self._uow._store._lock:
            self._uow._existing_cell(cell_code)
            state = self._uow._state
            staged = self._staging.values
            found: dict[str, Venue] = {}
            for code in state.venue_cells.from_(cell_code):
                if not code.startswith(cell_code):
                    break
                for vid in state.venues_by_cell[code].ordered():
                    if vid not in staged:
                        found[vid] = state.venues[vid]
            for vid, venue in staged.items():
                if venue is not None and venue.cell_code.startswith(cell_code):
                    found[vid] = venue
            return _id_page(found, start, limit)


class MemorySeriesRepository:
    """Activity series in a :class:`MemoryStore`; see :class:`gridgov.ports.SeriesRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._series
        # The span of each staged series, computed once (expanding a rule to its last end can
        # cost): keyed by id, with the very object it was computed for.
        self._spans: dict[str, tuple[ActivitySeries, tuple[str, str | None]]] = {}

    def get(self, series_id: str) -> ActivitySeries:
        """Return the series with ``series_id`` or raise NotFoundError."""
        return self._staging.get(series_id)

    def span(self, series: ActivitySeries) -> tuple[str, str | None]:
        """Return :func:`~gridgov.adapters.support.series_span` of a staged series, cached."""
        cached = self._spans.get(series.id)
        if cached is not None and cached[0] is series:
            return cached[1]
        span = series_span(series)
        self._spans[series.id] = (series, span)
        return span

    def _check(self, series: object, spaces: dict[str, frozenset[str]]) -> ActivitySeries:
        """Check the series' venue and space; ``spaces`` caches each venue's space ids."""
        if not isinstance(series, ActivitySeries):
            raise ValidationError("series", "expected an ActivitySeries")
        known = spaces.get(series.venue_id)
        if known is None:
            venue = self._uow._existing_venue(series.venue_id)
            known = spaces[series.venue_id] = frozenset(s.id for s in venue.spaces)
        if series.space_id not in known:
            raise ValidationError("space_id", "no such space in the venue")
        return series

    def _stage_add(self, series: object, spaces: dict[str, frozenset[str]]) -> ActivitySeries:
        checked = self._check(series, spaces)
        stored = self._staging.stage_add(checked.id, checked)
        self.span(stored)
        return stored

    def add(self, series: ActivitySeries) -> ActivitySeries:
        """Store a new series of a stored venue and one of its spaces; return it (version 1)."""
        with self._uow._store._lock:
            return self._stage_add(series, {})

    def add_many(
        self,
        series: Iterable[ActivitySeries],
        *,
        batch_size: int = 1000,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Stage new series from a stream; a failure unstages this call's series."""
        check_batch_size(batch_size)
        added: list[str] = []
        spaces: dict[str, frozenset[str]] = {}
        try:
            with self._uow._store._lock:
                for one in series:
                    added.append(self._stage_add(one, spaces).id)
                    if progress is not None and len(added) % batch_size == 0:
                        progress(len(added))
        except BaseException:
            self._staging.unstage(added)
            raise
        if progress is not None and len(added) % batch_size:
            progress(len(added))
        return len(added)

    def update(self, series: ActivitySeries) -> ActivitySeries:
        """Replace a stored series if its version is current; return it."""
        if not isinstance(series, ActivitySeries):
            raise ValidationError("series", "expected an ActivitySeries")
        with self._uow._store._lock:
            current = self._staging.check_current(series.id, series)
            if (current.venue_id, current.space_id) != (series.venue_id, series.space_id):
                self._check(series, {})
            stored = self._staging.stage_update(series.id, series)
            self.span(stored)
            return stored

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
        cursor = decode_cursor(after, 1)
        with self._uow._store._lock:
            self._uow._existing_venue(venue_id)
            state = self._uow._state
            staged_ids = self._staging.values
            found: dict[str, ActivitySeries] = {}
            index = state.series_by_venue.get(venue_id)
            if index is not None:
                spans = state.series_spans
                keys, span = index.span("", high)  # those starting before the window's end
                for key in map(keys.__getitem__, span):
                    sid = key[_W:]
                    if sid not in staged_ids and ((last := spans[sid][1]) is None or last > low):
                        found[sid] = state.series[sid]
            for series in self._staging.in_group(venue_id):
                first, last = self.span(series)
                if first < high and (last is None or last > low):
                    found[series.id] = series
            return _id_page(found, cursor, limit)


class MemoryRegistrationRepository(RegistrationCounts):
    """Registrations in a :class:`MemoryStore`; see ``gridgov.ports.RegistrationRepository``."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._registrations

    def get(self, registration_id: str) -> Registration:
        """Return the registration with ``registration_id`` or raise NotFoundError."""
        return self._staging.get(registration_id)

    @staticmethod
    def _require(registration: object) -> Registration:
        if not isinstance(registration, Registration):
            raise ValidationError("registration", "expected a Registration")
        return registration

    def _check_references(self, registration: Registration) -> None:
        self._uow._existing_resident(registration.resident_id)
        if self._uow._series.current(registration.series_id) is None:
            raise NotFoundError("series", registration.series_id)

    def add(self, registration: Registration) -> Registration:
        """Store a new registration of a stored resident for a stored series; return it."""
        checked = self._require(registration)
        with self._uow._store._lock:
            self._check_references(checked)
            return self._staging.stage_add(checked.id, checked)

    def update(self, registration: Registration) -> Registration:
        """Replace a stored registration if its version is current; return it."""
        checked = self._require(registration)
        with self._uow._store._lock:
            current = self._staging.check_current(checked.id, checked)
            if (current.resident_id, current.series_id) != (
                checked.resident_id,
                checked.series_id,
            ):
                self._check_references(checked)
            return self._staging.stage_update(checked.id, checked)

    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]:
        """Return every registration of an occurrence, by registered_at then id."""
        check_text_key("occurrence_id", occurrence_id)
        with self._uow._store._lock:
            state = self._uow._state
            return _in_order(
                state.registrations_by_occurrence.get(occurrence_id),
                state.registrations,
                self._staging.values,
                self._staging.in_group(occurrence_id, by=1),
                _registered_at,
            )

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Registration, ...]:
        """Return the resident's registrations whose occurrence overlaps ``[start, end)``."""
        check_text_key("resident_id", resident_id)
        check_window(start, end)
        with self._uow._store._lock:
            state = self._uow._state
            return _overlapping(
                state.registrations_by_resident.get(resident_id),
                state.registrations,
                self._staging.values,
                self._staging.in_group(resident_id),
                start,
                end,
            )


class MemoryShiftRepository:
    """Volunteer shifts in a :class:`MemoryStore`; see :class:`gridgov.ports.ShiftRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._shifts

    def get(self, shift_id: str) -> Shift:
        """Return the shift with ``shift_id`` or raise NotFoundError."""
        return self._staging.get(shift_id)

    @staticmethod
    def _require(shift: object) -> Shift:
        if not isinstance(shift, Shift):
            raise ValidationError("shift", "expected a Shift")
        return shift

    def add(self, shift: Shift) -> Shift:
        """Store a new shift of a stored venue; return it with version 1."""
        checked = self._require(shift)
        with self._uow._store._lock:
            self._uow._existing_venue(checked.venue_id)
            return self._staging.stage_add(checked.id, checked)

    def update(self, shift: Shift) -> Shift:
        """Replace a stored shift if its version is current; return it."""
        checked = self._require(shift)
        with self._uow._store._lock:
            current = self._staging.check_current(checked.id, checked)
            if current.venue_id != checked.venue_id:
                self._uow._existing_venue(checked.venue_id)
            return self._staging.stage_update(checked.id, checked)

    def in_venue(
        self, venue_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[Shift, ...]:
        """Return the venue's shifts overlapping ``[start, end)``, by start then id."""
        check_window(start, end)
        with self._uow._store._lock:
            self._uow._existing_venue(venue_id)
            state = self._uow._state
            return _overlapping(
                state.shifts_by_venue.get(venue_id),
                state.shifts,
                self._staging.values,
                self._staging.in_group(venue_id),
                start,
                end,
            )


class MemorySignUpRepository(SignUpCounts):
    """Sign-ups in a :class:`MemoryStore`; see :class:`gridgov.ports.SignUpRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._signups

    def get(self, signup_id: str) -> SignUp:
        """Return the sign-up with ``signup_id`` or raise NotFoundError."""
        return self._staging.get(signup_id)

    @staticmethod
    def _require(signup: object) -> SignUp:
        if not isinstance(signup, SignUp):
            raise ValidationError("signup", "expected a SignUp")
        return signup

    def _existing_shift(self, shift_id: str) -> None:
        if self._uow._shifts.current(check_text_key("shift_id", shift_id)) is None:
            raise NotFoundError("shift", shift_id)

    def add(self, signup: SignUp) -> SignUp:
        """Store a new sign-up of a stored resident for a stored shift; return it."""
        checked = self._require(signup)
        with self._uow._store._lock:
            self._existing_shift(checked.shift_id)
            self._uow._existing_resident(checked.resident_id)
            return self._staging.stage_add(checked.id, checked)

    def update(self, signup: SignUp) -> SignUp:
        """Replace a stored sign-up if its version is current; return it."""
        checked = self._require(signup)
        with self._uow._store._lock:
            current = self._staging.check_current(checked.id, checked)
            if current.shift_id != checked.shift_id:
                self._existing_shift(checked.shift_id)
            if current.resident_id != checked.resident_id:
                self._uow._existing_resident(checked.resident_id)
            return self._staging.stage_update(checked.id, checked)

    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]:
        """Return every sign-up of a shift, by ``at`` then id."""
        with self._uow._store._lock:
            self._existing_shift(shift_id)
            state = self._uow._state
            return _in_order(
                state.signups_by_shift.get(shift_id),
                state.signups,
                self._staging.values,
                self._staging.in_group(shift_id, by=1),
                _signed_up_at,
            )

    def for_resident(
        self, resident_id: str, *, start: pendulum.DateTime, end: pendulum.DateTime
    ) -> tuple[SignUp, ...]:
        """Return the resident's sign-ups whose shift overlaps ``[start, end)``, by start."""
        check_text_key("resident_id", resident_id)
        check_window(start, end)
        with self._uow._store._lock:
            state = self._uow._state
            return _overlapping(
                state.signups_by_resident.get(resident_id),
                state.signups,
                self._staging.values,
                self._staging.in_group(resident_id),
                start,
                end,
            )


# -- audit trail -----------------------------------------------------------------------------


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


class MemoryAuditRepository:
    """The audit trail of a :class:`MemoryStore`; see :class:`gridgov.ports.AuditRepository`."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._staging = uow._audit

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry; return it with version 1."""
        if not isinstance(entry, AuditEntry):
            raise ValidationError("entry", "expected an AuditEntry")
        instant_key(entry.at)
        with self._uow._store._lock:
            return self._staging.stage_add(entry.id, entry)

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
        """Return the entries in ``[since, until)`` by ``at`` then id, optionally filtered.

        The committed entries come from the index of the principal or the subject when one is
        asked for (the smaller one when both are), else from the index of every entry; the
        other filters are checked on each entry read.
        """
        low, high = check_time_range(since, until)
        check_audit_filters(principal_id, subject, kind)
        check_limit(limit)
        start = decode_cursor(after, 2)
        after_key = low if start is None else max(low, start[0] + start[1])

        def accept(entry: AuditEntry) -> bool:
            return (
                (principal_id is None or entry.principal_id == principal_id)
                and (subject is None or entry.subject == subject)
                and (kind is None or entry.kind is kind)
            )

        with self._uow._store._lock:
            state = self._uow._state
            staged_ids = self._staging.values
            candidates: list[_SortedChunks | None] = []
            if principal_id is not None:
                candidates.append(state.audit_by_principal.get(principal_id))
            if subject is not None:
                candidates.append(state.audit_by_subject.get(subject))
            index: _SortedChunks | None = state.audit_keys
            if candidates:
                found = [c for c in candidates if c is not None]
                index = min(found, key=len) if len(found) == len(candidates) else None
            committed: Iterable[tuple[SortKey, AuditEntry]] = ()
            if index is not None:
                committed = (
                    (_split(k), entry)
                    for k in index.irange(high, after=after_key)
                    if k[_W:] not in staged_ids and accept(entry := state.audit[k[_W:]])
                )
            if principal_id is not None:
                pending: Iterable[AuditEntry] = self._staging.in_group(principal_id)
            elif subject is not None:
                pending = self._staging.in_group(subject, by=1)
            else:
                pending = (e for e in staged_ids.values() if e is not None)
            staged = [
                (key, e)
                for e in pending
                if accept(e)
                and low <= (key := (instant_key(e.at), e.id))[0] < high
                and (start is None or key > start)
            ]
            return _page(*_ordered_merge(committed, staged, limit))
