"""Elder-care use cases: record a contact, plan routine tasks, a worker's daily worklist, coverage.

Each function takes an open unit of work and leaves committing to the caller, so several use
cases can share one transaction.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import TypeVar

import attrs
import pendulum

from gridgov.care.assessment import Assessment, assess, assess_all
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskState, TaskStatus
from gridgov.care.policy import CarePolicy, ContactMethod
from gridgov.care.rules import (
    DEFAULT_RULES,
    FollowUpRules,
    effective_method,
    follow_up,
    lapse,
    plan_routine,
)
from gridgov.clock import ensure_aware, ensure_date
from gridgov.codes import mask_name
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.households import Household, Resident
from gridgov.idempotency import idempotent
from gridgov.ids import new_id
from gridgov.outbox import record_events
from gridgov.ports import Page, UnitOfWork
from gridgov.services._common import pages, taken_id
from gridgov.services._events import care_events
from gridgov.settings import care_policy

__all__ = [
    "ContactResult",
    "Coverage",
    "Missed",
    "ReplayReport",
    "Worklist",
    "WorklistEntry",
    "WorklistHousehold",
    "WorklistStop",
    "coverage",
    "plan_tasks",
    "record_contact",
    "replay_contacts",
    "worklist",
]

T = TypeVar("T")
_log = logging.getLogger(__name__)
_HISTORY = 50  # recent contacts the rules look at


@attrs.frozen
class ContactResult:
    """What recording a contact did.

    Args:
        contact: The stored contact.
        closed: Tasks it fulfilled.
        cancelled: Tasks it made pointless (hospital, move, death).
        created: Follow-up and routine tasks it scheduled.
    """

    contact: ContactAttempt
    closed: tuple[CareTask, ...]
    cancelled: tuple[CareTask, ...]
    created: tuple[CareTask, ...]


def _contact_id(contact: ContactAttempt) -> str:
    """Return the id of a contact derived from what it says, so that one sent twice is known."""
    c = contact
    what = f"{c.resident_id}|{c.method.value}|{c.outcome.value}|{c.by}|{c.task_id}|{c.notes}"
    return new_id("c", c.at, content=what)


def _same_contact(a: ContactAttempt, b: ContactAttempt) -> bool:
    """Return whether two contacts say the same (a contact sent again), versions aside."""
    return (a.resident_id, a.method, a.outcome, a.by, a.at, a.notes, a.task_id) == (
        b.resident_id,
        b.method,
        b.outcome,
        b.by,
        b.at,
        b.notes,
        b.task_id,
    )


def _order(contact: ContactAttempt) -> tuple[pendulum.DateTime, str]:
    """Return the order the care rules take contacts in: by instant, then by id."""
    return (contact.at, contact.id)


@idempotent(received=("now",))
def record_contact(
    uow: UnitOfWork,
    *,
    resident_id: str,
    method: ContactMethod,
    outcome: Outcome,
    by: str,
    at: pendulum.DateTime,
    now: pendulum.DateTime,
    notes: str = "",
    task_id: str | None = None,
    contact_id: str | None = None,
    policy: CarePolicy | None = None,
    rules: FollowUpRules = DEFAULT_RULES,
    idempotency_key: str | None = None,
) -> ContactResult:
    """Record a contact attempt and apply the follow-up rules.

    Args:
        uow: The unit of work (not committed here).
        resident_id: Who was contacted.
        method: How.
        outcome: What it found.
        by: The worker's id, or a volunteer's resident id.
        at: When the contact happened.
        now: The current instant; a contact after it is rejected.
        notes: Free text.
        task_id: The task worked on, if any.
        contact_id: The contact's key, e.g. one the worker's phone made. Default: derived by
            :func:`gridgov.ids.new_id` from the instant and what the contact says, so that a
            contact sent twice has one id: ``c.<UTC instant to the ms>.<16 characters>``.
        policy: The care policy (for the resident's tier); ``None`` for the store's
            (:func:`gridgov.settings.care_policy`).
        rules: The follow-up delays.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Contacts may arrive in any order (a phone syncing the day's calls offline) and twice (a
    retry). A contact sent again, same id and same content, is not stored twice: the result
    holds the stored contact and no task changes. A contact earlier than one already stored is
    stored too, and the resident's open tasks become those that recording the contacts in time
    order, each at ``now``, would have left: the contacts after it are replayed, tasks they
    planned that no longer hold are cancelled ("replanned"), tasks now owed are created.

    Returns:
        The contact and the tasks it closed, cancelled and created.

    Raises:
        ValidationError: For an unknown resident, a contact in the future or a naive instant;
            nothing is stored.
        ConflictError: If ``contact_id`` names a stored contact that says something else (a
            retry will not help), or a concurrent writer got in the way (``retryable``).
    """
    at = ensure_aware(at, "at")
    now = ensure_aware(now, "now")
    if at > now:
        raise ValidationError("at", "a contact cannot be recorded in the future")
    policy = care_policy(uow, policy)
    try:
        household = uow.households.household_of(resident_id)
    except NotFoundError:
        raise ValidationError("resident_id", "unknown resident") from None
    resident = household.member(resident_id)
    if not isinstance(method, ContactMethod):
        raise ValidationError("method", "expected a ContactMethod")
    contact = ContactAttempt(
        id=contact_id or "c.pending",
        resident_id=resident_id,
        household_id=household.id,
        cell_code=household.cell_code,
        method=method,
        outcome=outcome,
        by=by,
        at=at,
        notes=notes,
        task_id=task_id,
    )
    if contact_id is None:
        contact = attrs.evolve(contact, id=_contact_id(contact))
    # Before reading the history: two contacts of one resident recorded at once (two workers,
    # a phone syncing) plan from each other's results, never both from the same open tasks.
    uow.locks.hold(f"resident:{resident_id}")
    history = _History.read(uow, household, resident)
    again = next((c for c in history.previous if c.id == contact.id), None)
    if again is not None:
        return _sent_again(again, contact)
    if any(_order(c) > _order(contact) for c in history.previous):
        result = history.record_late(contact, now=now, policy=policy, rules=rules)
    else:
        result = history.record(contact, now=now, policy=policy, rules=rules)
    try:
        stored = uow.contacts.add(contact)
    except ConflictError as exc:
        if exc.taken != contact.id:
            raise
        return _sent_again(uow.contacts.get(contact.id), contact)
    for task in (*result.closed, *result.cancelled):
        uow.care_tasks.update(task)
    for task in result.created:
        _add_task(uow, task)
    record_events(
        uow, care_events(stored, (*result.closed, *result.cancelled, *result.created), now)
    )
    # Ids and codes only: names, phones and ID numbers never reach the log.
    _log.debug(
        "contact %s with %s: %s; tasks closed %d, cancelled %d, created %d",
        stored.id,
        resident_id,
        outcome.value,
        len(result.closed),
        len(result.cancelled),
        len(result.created),
    )
    return attrs.evolve(result, contact=stored)


def _sent_again(stored: ContactAttempt, contact: ContactAttempt) -> ContactResult:
    """Return the result of a contact whose id is stored: nothing new if it says the same."""
    if not _same_contact(stored, contact):
        raise taken_id("contact", contact.id)
    _log.debug("contact %s was already stored", stored.id)
    return ContactResult(stored, (), (), ())


def _add_task(uow: UnitOfWork, task: CareTask) -> None:
    """Store a new task; one stored under its id and closed by a contact since is opened again.

    A task's id is derived from what it is and the contact it was planned from, so a task that
    a contact recorded out of order closed comes back under the same id once the contacts are
    taken in time order.
    """
    try:
        uow.care_tasks.add(task)
    except ConflictError as exc:
        if exc.taken != task.id:
            raise
        stored = uow.care_tasks.get(task.id)
        uow.care_tasks.update(attrs.evolve(task, version=stored.version))


@attrs.define
class _History:
    """What the care rules see of one resident: recent contacts and open tasks, kept in memory.

    Recording a contact moves it on as the store would after the contact's writes, so that a
    history replayed contact by contact gives what :func:`record_contact` gives one at a time.
    """

    household: Household
    resident: Resident
    previous: list[ContactAttempt]  # newest first, as the store returns them
    open_tasks: list[CareTask]  # by due instant, then id
    # The resident's assessment by day: a history's contacts mostly fall on a few days.
    assessed: dict[pendulum.Date, Assessment] = attrs.field(factory=dict)

    @classmethod
    def read(cls, uow: UnitOfWork, household: Household, resident: Resident) -> _History:
        previous = list(uow.contacts.for_resident(resident.id, limit=_HISTORY).items)
        return cls(
            household, resident, previous, list(uow.care_tasks.open_for_resident(resident.id))
        )

    def assess(self, policy: CarePolicy, on: pendulum.Date) -> Assessment:
        """Return the resident's assessment on ``on``, assessed once per day and policy."""
        found = self.assessed.get(on)
        if found is None or found.policy is not policy:
            found = self.assessed[on] = assess(self.resident, self.household, policy, on=on)
        return found

    def record(
        self,
        contact: ContactAttempt,
        *,
        now: pendulum.DateTime,
        policy: CarePolicy,
        rules: FollowUpRules,
    ) -> ContactResult:
        open_tasks, lapsed = lapse(self.open_tasks, now)
        assessment = self.assess(policy, contact.at.date())
        tier = None if assessment.tier is None else assessment.tier.code
        plan = follow_up(contact, self.previous, open_tasks, tier=tier, rules=rules)
        settled = {t.id for t in (*plan.close, *plan.cancel)}
        still_open = [t for t in open_tasks if t.id not in settled] + list(plan.create)
        contacts = [*self.previous, contact]
        routine = plan_routine(assessment, contacts, still_open, now=now, rules=rules)
        self.previous = sorted(contacts, key=lambda c: (c.at, c.id), reverse=True)[:_HISTORY]
        self.open_tasks = sorted([*still_open, *routine], key=lambda t: (t.due, t.id))
        return ContactResult(contact, plan.close, (*lapsed, *plan.cancel), (*plan.create, *routine))

    def record_late(
        self,
        contact: ContactAttempt,
        *,
        now: pendulum.DateTime,
        policy: CarePolicy,
        rules: FollowUpRules,
    ) -> ContactResult:
        """Record a contact earlier than some already recorded, as if it had come in time order.

        The contacts after it are replayed with it, each at ``now``, from the open tasks they did
        not plan (task ids are derived from what planned them, so replaying them from no open
        task names those they planned); the result turns the stored open tasks into the
        replay's: a task the replay closed or cancelled is closed or cancelled, one it leaves
        open stays, one planned by a later contact and not planned again is cancelled as
        replanned, and what the replay leaves open besides is created.
        """
        earlier = [c for c in self.previous if _order(c) < _order(contact)]
        later = sorted((c for c in self.previous if _order(c) > _order(contact)), key=_order)
        stored_open = list(self.open_tasks)

        def replay(open_tasks: list[CareTask]) -> _History:
            return _History(self.household, self.resident, list(earlier), open_tasks)

        # Which of the open tasks did the later contacts plan? Replay them from no open task.
        planned_by_later = replay([])
        planned: set[str] = set()
        for c in later:
            made = planned_by_later.record(c, now=now, policy=policy, rules=rules)
            planned.update(t.id for t in made.created)
        # The contacts from this one on, in time order, from the open tasks planned before.
        again = replay([t for t in stored_open if t.id not in planned])
        fate: dict[str, CareTask] = {}
        for c in (contact, *later):
            made = again.record(c, now=now, policy=policy, rules=rules)
            fate.update((t.id, t) for t in (*made.closed, *made.cancelled, *made.created))
        to_open = {t.id: t for t in again.open_tasks}
        closed: list[CareTask] = []
        cancelled: list[CareTask] = []
        kept: list[CareTask] = []
        for task in stored_open:
            final = fate.get(task.id)
            if final is None or final.state is TaskState.OPEN:
                if to_open.pop(task.id, None) is not None:
                    kept.append(task)  # open in time order too
                    continue
                # Planned by a later contact, and not planned so in time order.
                final = task.cancelled(f"replanned: contact {contact.id} came late")
            final = attrs.evolve(final, version=task.version)
            (closed if final.state is TaskState.DONE else cancelled).append(final)
        self.previous = sorted([*self.previous, contact], key=_order, reverse=True)[:_HISTORY]
        self.open_tasks = sorted([*kept, *to_open.values()], key=lambda t: (t.due, t.id))
        return ContactResult(contact, tuple(closed), tuple(cancelled), tuple(to_open.values()))


@attrs.frozen
class ReplayReport:
    """What replaying a contact history did.

    Args:
        contacts: Contacts stored.
        tasks_open: Tasks the replay created that are still open at its end.
    """

    contacts: int
    tasks_open: int


def replay_contacts(
    uow: UnitOfWork,
    contacts: Iterable[ContactAttempt],
    *,
    policy: CarePolicy | None = None,
    rules: FollowUpRules = DEFAULT_RULES,
) -> ReplayReport:
    """Store a contact history, applying the follow-up rules as each contact happened.

    The same records as :func:`record_contact` for each contact in turn, at its own instant
    (``now`` is the contact's ``at``), but each resident's history is read once, carried in
    memory and written once: a bulk load of a ledger's past contacts reads and writes the store
    per resident, not per contact.

    Args:
        uow: The unit of work (not committed here).
        contacts: The contacts, each resident's in the order they happened.
        policy: The care policy; ``None`` for the store's (:func:`gridgov.settings.care_policy`).
        rules: The follow-up delays.

    Returns:
        How many contacts were stored and how many of the tasks they created are open.

    Raises:
        ValidationError: For an unknown resident; nothing is stored when the caller rolls back.
        ConflictError: If a contact or a task with the same key is already stored.
    """
    policy = care_policy(uow, policy)
    by_resident: dict[str, list[ContactAttempt]] = {}
    for c in contacts:
        by_resident.setdefault(c.resident_id, []).append(c)
    opened = 0
    replayed: list[ContactAttempt] = []
    created: list[CareTask] = []
    for resident_id, items in by_resident.items():
        try:
            household = uow.households.household_of(resident_id)
        except NotFoundError:
            raise ValidationError("resident_id", "unknown resident") from None
        history = _History.read(uow, household, household.member(resident_id))
        before = {t.id for t in history.open_tasks}
        final: dict[str, CareTask] = {}
        for c in items:
            contact = c
            if (c.household_id, c.cell_code) != (household.id, household.cell_code):
                contact = attrs.evolve(c, household_id=household.id, cell_code=household.cell_code)
            result = history.record(contact, now=contact.at, policy=policy, rules=rules)
            for task in result.created:
                if task.id in final or task.id in before:
                    raise ConflictError(f"care task {task.id!r} already exists")
            final.update((t.id, t) for t in (*result.closed, *result.cancelled, *result.created))
            replayed.append(contact)
        for task_id in before & final.keys():
            uow.care_tasks.update(final.pop(task_id))
        created.extend(final.values())
        opened += sum(1 for t in final.values() if t.state is TaskState.OPEN)
    # At once, their residents looked up per batch: a ledger's thousands of past contacts.
    stored = uow.contacts.add_many(replayed)
    uow.care_tasks.add_many(created)
    return ReplayReport(stored, opened)


def plan_tasks(
    uow: UnitOfWork,
    cell_code: str,
    *,
    now: pendulum.DateTime,
    policy: CarePolicy | None = None,
    rules: FollowUpRules = DEFAULT_RULES,
) -> tuple[CareTask, ...]:
    """Create the routine tasks every covered elder of a subtree is owed; the daily job.

    Tasks whose window has ended are cancelled as lapsed first, so that a routine contact still
    owed is planned again (overdue) and worklists carry no stale follow-ups.

    Returns:
        The tasks created (none for residents whose tasks are already open).
    """
    now = ensure_aware(now, "now")
    policy = care_policy(uow, policy)
    households = pages(lambda a: uow.households.in_subtree(cell_code, limit=500, after=a))
    created: list[CareTask] = []
    for a in assess_all(households, policy, on=now.date()):
        lapsed, new = _routine(uow, a, now, rules)
        if not (lapsed or new):
            continue
        # Only a resident whose tasks change is locked, then read again under the lock, so
        # that a contact recorded meanwhile is planned from, not planned beside.
        uow.locks.hold(f"resident:{a.resident.id}")
        lapsed, new = _routine(uow, a, now, rules)
        for task in lapsed:
            uow.care_tasks.update(task)
        planned = [uow.care_tasks.add(task) for task in new]
        record_events(uow, care_events(None, (*lapsed, *planned), now))
        created.extend(planned)
    return tuple(created)


def _routine(
    uow: UnitOfWork, a: Assessment, now: pendulum.DateTime, rules: FollowUpRules
) -> tuple[list[CareTask], list[CareTask]]:
    """Return the resident's open tasks to cancel as lapsed and the routine tasks owed."""
    contacts = uow.contacts.for_resident(a.resident.id, limit=_HISTORY).items
    open_tasks, lapsed = lapse(uow.care_tasks.open_for_resident(a.resident.id), now)
    return list(lapsed), list(plan_routine(a, contacts, open_tasks, now=now, rules=rules))


_URGENCY = {TaskStatus.OVERDUE: 0, TaskStatus.DUE: 1, TaskStatus.UPCOMING: 2}


@attrs.frozen
class WorklistEntry:
    """One task on a worklist, with why it is there.

    Args:
        task: The task.
        status: Its status at the worklist's instant.
        resident: The resident to contact.
    """

    task: CareTask
    status: TaskStatus
    resident: Resident

    @property
    def why(self) -> str:
        """Return why the task is on the list, in English and Chinese."""
        late = " (overdue)" if self.status is TaskStatus.OVERDUE else ""
        return f"{self.task.reason_en}{late} / {self.task.reason_zh}"

    def urgency(self) -> tuple[int, pendulum.DateTime, str]:
        """Return a sort key: overdue before due, then by due instant."""
        return (_URGENCY.get(self.status, 3), self.task.due, self.task.id)

    def __str__(self) -> str:
        due = self.task.due.in_timezone("Asia/Shanghai").format("MM-DD HH:mm")
        return (
            f"[{self.status.label_zh}] {mask_name(self.resident.name)} "
            f"{self.task.method.label_zh} by {due}: {self.why}"
        )


@attrs.frozen
class WorklistHousehold:
    """The tasks of one household: one visit serves them all.

    Args:
        household: The household.
        entries: Its tasks, most urgent first.
    """

    household: Household
    entries: tuple[WorklistEntry, ...]


@attrs.frozen
class WorklistStop:
    """A building (or a grid without buildings) on the day's route.

    Args:
        cell_code: The building's code.
        name: The building's name.
        households: Its households with tasks, most urgent first.
    """

    cell_code: str
    name: str
    households: tuple[WorklistHousehold, ...]

    @property
    def has_overdue(self) -> bool:
        """Return whether any task here is overdue."""
        return any(e.status is TaskStatus.OVERDUE for h in self.households for e in h.entries)


@attrs.frozen
class Worklist:
    """A worker's tasks for a day, grouped by building along the route.

    Buildings with an overdue task come first; otherwise buildings follow their codes, which
    number them along the grid. Within a building, households and tasks go most urgent first.

    Args:
        worker_id: The worker.
        on: The day.
        stops: The buildings to go to.
    """

    worker_id: str
    on: pendulum.Date
    stops: tuple[WorklistStop, ...]

    @property
    def entries(self) -> tuple[WorklistEntry, ...]:
        """Return every entry, in route order."""
        return tuple(e for s in self.stops for h in s.households for e in h.entries)

    def __len__(self) -> int:
        return len(self.entries)


def worklist(
    uow: UnitOfWork, worker_id: str, *, on: pendulum.Date, now: pendulum.DateTime
) -> Worklist:
    """Return the due and overdue care tasks of a worker's cells on ``on``.

    Only the worker's cells are read, through the task index: the cost grows with the worker's
    tasks, not with the population.

    Raises:
        NotFoundError: If the worker is unknown.
        ValidationError: If ``on`` or ``now`` is not a date or instant in the supported range.
    """
    on = ensure_date(on, "on")
    now = ensure_aware(now, "now")
    worker = uow.workers.get(worker_id)
    cells = worker.cells_on(on)
    # A cell inside another assigned cell is already covered by that cell's subtree.
    roots = [c for c in cells if not any(c != o and c.startswith(o) for o in cells)]
    day_end = now.replace(
        year=on.year, month=on.month, day=on.day, hour=0, minute=0, second=0, microsecond=0
    ).add(days=1)
    tasks: list[CareTask] = []
    for root in roots:

        def fetch(after: str | None, root: str = root) -> Page[CareTask]:
            return uow.care_tasks.open_in_subtree(
                root, starting_before=day_end, limit=1000, after=after
            )

        # The query keeps tasks whose window opens before the day ends: due today or late;
        # a lapsed one (plan_tasks cancels it) is left out.
        tasks.extend(t for t in pages(fetch) if t.end > now)
    # One read for every household, one for every building: not a round trip per task.
    households = uow.households.get_many(t.household_id for t in tasks)
    by_household: dict[str, list[WorklistEntry]] = {}
    for task in tasks:
        household = households.get(task.household_id)
        if household is None:
            raise NotFoundError("household", task.household_id)
        try:
            resident = household.member(task.resident_id)
        except NotFoundError:
            continue  # the resident left the household since the task was planned
        entry = WorklistEntry(task, task.status(now), resident)
        by_household.setdefault(household.id, []).append(entry)
    buildings: dict[str, list[WorklistHousehold]] = {}
    for hid, entries in by_household.items():
        entries.sort(key=WorklistEntry.urgency)
        buildings.setdefault(households[hid].cell_code, []).append(
            WorklistHousehold(households[hid], tuple(entries))
        )
    names = {code: cell.name for code, cell in uow.cells.get_many(buildings).items()}
    stops = [
        WorklistStop(
            code,
            names.get(code, code),
            tuple(sorted(group, key=lambda h: h.entries[0].urgency())),
        )
        for code, group in buildings.items()
    ]
    stops.sort(key=lambda s: (not s.has_overdue, s.cell_code))
    return Worklist(worker_id, on, tuple(stops))


@attrs.frozen
class Missed:
    """A covered elder not contacted as their tier requires in the period.

    Args:
        resident_id: The resident (no name: coverage reports circulate).
        household_id: The household.
        cell_code: The household's cell.
        tier: The tier code.
        shortfalls: ``(method, required, made)`` for each cadence not met.
    """

    resident_id: str
    household_id: str
    cell_code: str
    tier: str
    shortfalls: tuple[tuple[ContactMethod, int, int], ...]

    def __str__(self) -> str:
        parts = ", ".join(f"{m.value} {made}/{required}" for m, required, made in self.shortfalls)
        return f"{self.resident_id} ({self.tier}): {parts}"


@attrs.frozen
class Coverage:
    """Visit coverage of a cell's covered elders over a period.

    Args:
        cell_code: The cell (its whole subtree).
        start: The first day of the period.
        end: The day after the last.
        covered: Covered elders (in a tier) at the period's end.
        contacted: Of them, how many were reached at least once in the period (the national
            indicator: 100% a month).
        on_cadence: Of them, how many were contacted as often as their tier requires.
        missed: Those not on cadence, with their shortfalls.
    """

    cell_code: str
    start: pendulum.Date
    end: pendulum.Date
    covered: int
    contacted: int
    on_cadence: int
    missed: tuple[Missed, ...]

    @property
    def contacted_share(self) -> float:
        """Return the share reached at least once (1.0 when nobody is covered)."""
        return 1.0 if not self.covered else self.contacted / self.covered

    @property
    def on_cadence_share(self) -> float:
        """Return the share contacted as their tier requires (1.0 when nobody is covered)."""
        return 1.0 if not self.covered else self.on_cadence / self.covered


def _required(every_days: int, period_days: int) -> int:
    return max(1, math.floor(period_days / every_days))


def coverage(
    uow: UnitOfWork,
    cell_code: str,
    *,
    start: pendulum.Date,
    end: pendulum.Date,
    policy: CarePolicy | None = None,
    tz: str = "Asia/Shanghai",
) -> Coverage:
    """Measure how the covered elders of a subtree were contacted from ``start`` to ``end``.

    A cadence of N days over a period of D days requires ``max(1, D // N)`` reached contacts
    that satisfy its method within the period; a cadence longer than the period requires one
    within its last N days. Elders are assessed on the period's last day.

    Raises:
        ValidationError: If ``start`` or ``end`` is not a date in the supported range, or
            ``end`` is not after ``start``.
    """
    start = ensure_date(start, "start")
    end = ensure_date(end, "end")
    if not end > start:
        raise ValidationError("end", "the period must end after it starts")
    period_days = (end - start).days
    policy = care_policy(uow, policy)
    longest = max(c.every_days for t in policy.tiers for c in t.cadences)
    since = pendulum.datetime(start.year, start.month, start.day, tz=tz)
    until = pendulum.datetime(end.year, end.month, end.day, tz=tz)
    lookback = min(since, until.subtract(days=longest))
    by_resident: dict[str, list[ContactAttempt]] = {}
    for c in pages(
        lambda a: uow.contacts.in_subtree(
            cell_code, since=lookback, until=until, limit=1000, after=a
        )
    ):
        if c.outcome.reached:
            by_resident.setdefault(c.resident_id, []).append(c)
    households = pages(lambda a: uow.households.in_subtree(cell_code, limit=500, after=a))
    covered = contacted = on_cadence = 0
    missed: list[Missed] = []
    for a in assess_all(households, policy, on=end.subtract(days=1)):
        if a.tier is None:  # assess_all yields covered residents only
            continue
        covered += 1
        contacts = by_resident.get(a.resident.id, [])
        if any(since <= c.at < until for c in contacts):
            contacted += 1
        shortfalls = _shortfalls(a, contacts, since, until, period_days)
        if shortfalls:
            missed.append(
                Missed(
                    a.resident.id, a.household.id, a.household.cell_code, a.tier.code, shortfalls
                )
            )
        else:
            on_cadence += 1
    return Coverage(cell_code, start, end, covered, contacted, on_cadence, tuple(missed))


def _shortfalls(
    a: Assessment,
    contacts: Iterable[ContactAttempt],
    since: pendulum.DateTime,
    until: pendulum.DateTime,
    period_days: int,
) -> tuple[tuple[ContactMethod, int, int], ...]:
    out: list[tuple[ContactMethod, int, int]] = []
    for cadence in a.tier.cadences if a.tier is not None else ():
        method = effective_method(cadence, a.household)
        if cadence.every_days <= period_days:
            window_start, required = since, _required(cadence.every_days, period_days)
        else:
            window_start, required = until.subtract(days=cadence.every_days), 1
        made = sum(
            1 for c in contacts if window_start <= c.at < until and c.method.satisfies(method)
        )
        if made < required:
            out.append((method, required, made))
    return tuple(out)
