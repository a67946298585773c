"""Case use cases: report a case, act on it, sweep escalations, case KPIs.

``report_case`` and ``act_on_case`` take an open unit of work and leave committing to the
caller; publish the returned events after the commit. :class:`EscalationEngine` owns its units
of work: it commits each batch and then publishes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping

import attrs
import pendulum

from gridgov.access import Principal, Role
from gridgov.adapters.support import check_batch_size
from gridgov.cases.catalogue import TimeLimit
from gridgov.cases.components import Component
from gridgov.cases.departments import route
from gridgov.cases.model import (
    Case,
    CaseSource,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.cases.workflow import (
    OWNER_LEVELS,
    Action,
    CaseRole,
    CaseWorkflow,
    Escalation,
    Transition,
)
from gridgov.clock import ensure_aware
from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from gridgov.events import CaseEvent, EventSink
from gridgov.grid import GridCell
from gridgov.idempotency import idempotent_replaying
from gridgov.ids import new_id
from gridgov.outbox import record_events
from gridgov.ports import Page, Store, UnitOfWork
from gridgov.services._common import taken_id
from gridgov.services._sweep import claimed_batches
from gridgov.services.duplicates import flag_duplicates
from gridgov.services.kpis import CaseFigures, CaseKpis, case_kpis
from gridgov.services.placing import CellFinder
from gridgov.settings import case_workflow, stored_settings

__all__ = [
    "CASE_ROLES",
    "CaseFigures",
    "CaseKpis",
    "EscalationEngine",
    "UnitHierarchy",
    "act_on_case",
    "case_kpis",
    "publish",
    "report_case",
]

_log = logging.getLogger(__name__)


def publish(events: Iterable[CaseEvent], sinks: Iterable[EventSink]) -> None:
    """Deliver ``events`` to every sink, in order; call this after the commit.

    A failing subscriber is logged and does not stop delivery to the others: the change it
    reports is already committed.
    """
    sinks = tuple(sinks)
    for event in events:
        for sink in sinks:
            try:
                sink(event)
            except Exception:
                _log.exception("event subscriber failed on %s", type(event).__name__)


#: The case roles each platform role may act in. A unit of work scoped to a principal
#: (:func:`gridgov.services.scoped.scoped`) acts only in the roles its principal's roles grant,
#: and only under its own id; an unscoped unit is the platform's (the caller vouches).
CASE_ROLES: Mapping[Role, frozenset[CaseRole]] = {
    Role.GRID_WORKER: frozenset({CaseRole.REPORTER, CaseRole.HANDLER, CaseRole.VERIFIER}),
    Role.COMMUNITY_STAFF: frozenset(
        {CaseRole.REPORTER, CaseRole.DISPATCHER, CaseRole.HANDLER, CaseRole.VERIFIER}
    ),
    Role.STREET_SUPERVISOR: frozenset(
        {CaseRole.REPORTER, CaseRole.DISPATCHER, CaseRole.VERIFIER, CaseRole.SUPERVISOR}
    ),
    Role.DISTRICT_SUPERVISOR: frozenset(
        {CaseRole.REPORTER, CaseRole.DISPATCHER, CaseRole.VERIFIER, CaseRole.SUPERVISOR}
    ),
    Role.CITY_SUPERVISOR: frozenset({CaseRole.DISPATCHER, CaseRole.SUPERVISOR}),
    Role.AUDITOR: frozenset(),
    Role.INTEGRATION: frozenset({CaseRole.REPORTER, CaseRole.DISPATCHER}),
    Role.SYSTEM: frozenset(CaseRole),
}


def _acting(uow: UnitOfWork, actor: str, role: CaseRole, case_id: str) -> None:
    """Refuse a scoped unit's principal acting under another id or in a role not granted."""
    principal = getattr(uow, "principal", None)
    if not isinstance(principal, Principal):
        return
    if actor != principal.id:
        raise AccessDeniedError(f"{principal.id} may act on case {case_id} only as themselves")
    granted = frozenset().union(*(CASE_ROLES[r] for r in principal.roles))
    if role not in granted:
        roles = ", ".join(sorted(r.value for r in principal.roles)) or "no role"
        raise AccessDeniedError(
            f"{principal.id} ({roles}) may not act on case {case_id} as {role.value}"
        )


def _owning_unit(uow: UnitOfWork, cell: GridCell) -> GridCell:
    """Return ``cell`` if it can own a case, else its nearest ancestor that can."""
    while cell.level not in OWNER_LEVELS:
        if cell.parent_code is None:
            raise ValidationError("cell_code", "no grid above this cell to own the case")
        cell = uow.cells.get(cell.parent_code)
    return cell


def _cell(uow: UnitOfWork, code: str, field: str) -> GridCell:
    try:
        return uow.cells.get(code)
    except NotFoundError:
        raise ValidationError(field, "no such cell") from None


def _cell_path(uow: UnitOfWork, code: str) -> list[str]:
    """Return ``code`` and its ancestors' codes, nearest first."""
    path = [code]
    cell = uow.cells.get(code)
    while cell.parent_code is not None and len(path) < 16:  # the bound guards a corrupt tree
        path.append(cell.parent_code)
        cell = uow.cells.get(cell.parent_code)
    return path


def _department(
    uow: UnitOfWork,
    workflow: CaseWorkflow,
    category: str,
    cell_code: str,
    given: str | None,
    note: str,
) -> tuple[str | None, str]:
    """Return the department a dispatch goes to, and its note (the routing's reason if empty)."""
    settings = stored_settings(uow)
    departments = settings.departments if settings is not None else ()
    if given is not None:
        if not any(d.id == given for d in departments):
            raise ValidationError("department", "no such department in the store's settings")
        return given, note
    if not departments or category not in workflow.catalogue:
        return None, note
    routing = route(workflow.catalogue, departments, category, _cell_path(uow, cell_code))
    if routing is None:
        return None, note
    reason = f"{routing.reason_en} / {routing.reason_zh}"
    return routing.department.id, note if note.strip() else reason


def _component(uow: UnitOfWork, component_id: str) -> Component:
    try:
        return uow.components.get(component_id)
    except NotFoundError:
        raise ValidationError("component_id", "no such component") from None


def _without_events(transition: Transition) -> Transition:
    """A repeated request's result: its events went out after the first."""
    return attrs.evolve(transition, events=())


@idempotent_replaying(_without_events, received=("at",))
def report_case(
    uow: UnitOfWork,
    workflow: CaseWorkflow | None = None,
    *,
    category: str,
    source: CaseSource,
    cell_code: str | None = None,
    description: str,
    at: pendulum.DateTime,
    actor: str,
    reporter: Reporter | None = None,
    address: str = "",
    point: tuple[float, float] | None = None,
    urgency: Urgency | None = None,
    external_id: str | None = None,
    case_id: str | None = None,
    component_id: str | None = None,
    idempotency_key: str | None = None,
) -> Transition:
    """Record a newly received case, owned by the grid it lies in.

    The earlier cases it may duplicate are flagged on it
    (:attr:`~gridgov.cases.model.Case.possible_duplicates`): those about the same component,
    and those of the same minor category near it, reported within the window of the store's
    duplicate rule (:func:`gridgov.settings.duplicate_rule`; :mod:`gridgov.cases.duplicates`).

    Args:
        uow: The unit of work (not committed here).
        workflow: The catalogue, calendar and escalation policy; ``None`` for the store's
            settings (:func:`gridgov.settings.case_workflow`).
        category: The catalogue category code.
        source: How the case came in.
        cell_code: The grid or building the case lies in; ``None``: placed by ``point``, else
            by ``address`` (:class:`gridgov.services.placing.CellFinder`).
        description: What was reported.
        at: When it was received.
        actor: Who recorded it.
        reporter: Who reported it (anonymous by default).
        address: The address as reported.
        point: ``(longitude, latitude)``, if known.
        urgency: Overrides the category's default urgency.
        external_id: Its id in another system; a second report with the same id is refused.
        case_id: The key, e.g. the id a platform gave the request. Default: a new id from
            :func:`gridgov.ids.new_id`, ``case.<UTC instant received, to the ms>.<16
            characters>``, which sorts by receipt and clashes with no other case, however many
            arrive at once.
        component_id: The registered component (部件) it is about, if any; its cell and point
            are the case's when none is given.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The stored case and the events to publish after the commit.

    Raises:
        ValidationError: On an unknown category, cell or component, a naive instant, any
            invalid field; nothing is stored. Without a cell (nor a component):
            :class:`~gridgov.errors.OutsideGridError`,
            :class:`~gridgov.errors.UnknownAddressError` or
            :class:`~gridgov.errors.AmbiguousAddressError` (all ValidationErrors) when the point
            or address places the case in no single cell.
        MissingExtraError: Without a cell, given a point, if the ``geo`` extra is missing.
        ConflictError: If ``case_id`` names a stored case, or the external id is stored (a
            retry will not help); or if a concurrent writer got in the way (``retryable``).
        CalendarCoverageError: If a deadline falls in a year the calendar does not cover.
    """
    transition = reported(
        uow,
        workflow,
        category=category,
        source=source,
        cell_code=cell_code,
        description=description,
        at=at,
        actor=actor,
        reporter=reporter,
        address=address,
        point=point,
        urgency=urgency,
        external_id=external_id,
        case_id=case_id,
        component_id=component_id,
    )
    # A new case: its events are numbered from 1 without a look-up.
    record_events(uow, transition.events, new=True)
    return transition


def reported(
    uow: UnitOfWork,
    workflow: CaseWorkflow | None,
    *,
    category: str,
    source: CaseSource,
    cell_code: str | None = None,
    description: str,
    at: pendulum.DateTime,
    actor: str,
    reporter: Reporter | None = None,
    address: str = "",
    point: tuple[float, float] | None = None,
    urgency: Urgency | None = None,
    external_id: str | None = None,
    case_id: str | None = None,
    component_id: str | None = None,
) -> Transition:
    """Store a newly received case as :func:`report_case` does, but record no events.

    For bulk imports, which record the events of all their cases at once
    (:func:`gridgov.outbox.record_events` with ``new=True``) in the same unit of work.
    """
    at = ensure_aware(at, "at")
    _acting(uow, actor, CaseRole.REPORTER, case_id or "(new)")
    component = None if component_id is None else _component(uow, component_id)
    if component is not None:
        # A case about a component lies where the component does, unless told otherwise.
        point = component.point if point is None else point
        cell_code = component.cell_code if cell_code is None else cell_code
    if cell_code is None:
        cell_code = CellFinder.of_store(uow).place(point=point, address=address)
    cell = _cell(uow, cell_code, "cell_code")
    owner = _owning_unit(uow, cell)
    key = case_id or new_id("case", at)
    workflow = case_workflow(uow, workflow)
    transition = workflow.report(
        case_id=key,
        category=category,
        source=source,
        location=Location(cell.code, address, point),
        reporter=reporter or Reporter(),
        description=description,
        owner=owner,
        at=at,
        actor=actor,
        urgency=urgency,
        external_id=external_id,
    )
    case = attrs.evolve(transition.case, component_id=component_id)
    case = attrs.evolve(case, possible_duplicates=flag_duplicates(uow, workflow.catalogue, case))
    try:
        stored = uow.cases.add(case)
    except ConflictError as exc:
        if case_id is not None and exc.taken == case_id:
            raise taken_id("case", case_id) from None
        raise
    _log.debug("case %s reported in %s (%s)", key, cell.code, category)
    return Transition(stored, transition.events)


@idempotent_replaying(_without_events, received=("at",))
def act_on_case(
    uow: UnitOfWork,
    workflow: CaseWorkflow | None,
    case_id: str,
    action: Action,
    *,
    actor: str,
    role: CaseRole,
    at: pendulum.DateTime,
    note: str = "",
    to_cell: str | None = None,
    worker: str | None = None,
    extension: TimeLimit | None = None,
    satisfaction: Satisfaction | None = None,
    department: str | None = None,
    idempotency_key: str | None = None,
) -> Transition:
    """Take ``action`` on a stored case; see :meth:`CaseWorkflow.apply`.

    A dispatch names the functional department that is to handle the case, or leaves it to
    the store's departments (:attr:`~gridgov.settings.Settings.departments`): the case goes to
    the one responsible for its category that serves its cell
    (:func:`gridgov.cases.departments.route`), and the reason is the dispatch's note when it
    has none of its own. Without such a department the area's own team handles it.

    Args:
        uow: The unit of work (not committed here).
        workflow: The catalogue, calendar and escalation policy; ``None`` for the store's
            settings (:func:`gridgov.settings.case_workflow`).
        case_id: The case.
        action: What to do.
        actor: Who does it.
        role: The role they act in.
        at: When.
        note: Notes or reasons.
        to_cell: For dispatch: the unit to dispatch to.
        worker: For dispatch: the worker to assign.
        extension: For an extension request: how much more time.
        satisfaction: For evaluation: the call-back verdict.
        department: For dispatch: the id of a department of the store's settings; default:
            routed by category and cell.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The stored case and the events to publish after the commit.

    Raises:
        NotFoundError: If there is no such case.
        TransitionError: If the action is not allowed in the state or for the role, or the
            actor did what the action checks (separation of duties: who requested an extension
            does not approve it, who handled a case does not verify it).
        AccessDeniedError: If ``uow`` is scoped to a principal whose roles do not grant
            ``role`` (:data:`CASE_ROLES`), or ``actor`` is not the principal's id.
        ValidationError: On a bad parameter; nothing is stored.
        ConflictError: If the case changed since it was read.
    """
    _acting(uow, actor, role, case_id)
    workflow = case_workflow(uow, workflow)
    case = uow.cases.get(case_id)
    to = None if to_cell is None else _cell(uow, to_cell, "to_cell")
    if to is not None and to.level not in OWNER_LEVELS:
        raise ValidationError("to_cell", "dispatch to a grid or a unit above it")
    if action is Action.DISPATCH:
        department, note = _department(
            uow, workflow, case.category, case.cell_code, department, note
        )
    elif department is not None:
        raise ValidationError("department", "only a dispatch names a department")
    transition = workflow.apply(
        case,
        action,
        actor=actor,
        role=role,
        at=at,
        note=note,
        to=to,
        worker=worker,
        extension=extension,
        satisfaction=satisfaction,
        department=department,
    )
    stored = uow.cases.update(transition.case)
    record_events(uow, transition.events)
    _log.debug("case %s: %s by %s as %s", case_id, action.value, actor, role.value)
    return Transition(stored, transition.events)


class UnitHierarchy:
    """The grid hierarchy as a unit of work stores it, for escalation (see ``Hierarchy``)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._parents: dict[str, GridCell | None] = {}

    def parent_unit(self, cell_code: str) -> GridCell | None:
        """Return the cell one level above ``cell_code``'s, or ``None`` at the top."""
        if cell_code not in self._parents:
            cell = self._uow.cells.get(cell_code)
            parent = None if cell.parent_code is None else self._uow.cells.get(cell.parent_code)
            self._parents[cell_code] = parent
        return self._parents[cell_code]

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> str | None:
        """Return the first worker (by id) on duty for ``cell_code`` on ``day``, not ``besides``."""
        ids = sorted(w.id for w in self._uow.workers.assigned_to(cell_code, on=day))
        return next((i for i in ids if i != besides), None)


class EscalationEngine:
    """Sweeps the cases whose next escalation check has come, and carries out what is due.

    Args:
        store: The store holding the cases.
        workflow: The catalogue, calendar and escalation policy; ``None`` for the store's
            settings (:func:`gridgov.settings.case_workflow`), read at each batch.
        subscribers: Event sinks, called after each batch commits.
        batch_size: Cases handled per transaction.
    """

    def __init__(
        self,
        store: Store,
        workflow: CaseWorkflow | None = None,
        *,
        subscribers: Iterable[EventSink] = (),
        batch_size: int = 500,
    ) -> None:
        check_batch_size(batch_size)
        self._store = store
        self._workflow = workflow
        self._subscribers = tuple(subscribers)
        self._batch_size = batch_size

    def sweep(self, now: pendulum.DateTime) -> tuple[Escalation, ...]:
        """Carry out every escalation due at ``now`` and return them, by next check then case id.

        Reads only the cases whose ``next_check`` has come (an index in every store), so its
        cost grows with the due cases, not with all open ones. Idempotent: what fired is
        recorded on the case, so a second sweep at the same instant does nothing.

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If a firing falls in a year the calendar does not cover.
        """
        now = ensure_aware(now, "now")
        done: list[Escalation] = []

        def claim(uow: UnitOfWork, after: str | None) -> Page[Case]:
            # Claimed, not only read: other sweepers skip these cases until this unit ends.
            return uow.cases.claim_due(at_or_before=now, limit=self._batch_size, after=after)

        batches = claimed_batches(self._store, claim, functools.partial(self._batch, now))
        for escalations, events in batches:
            done.extend(escalations)
            publish(events, self._subscribers)
        _log.info("escalation sweep at %s: %d escalations", now.isoformat(), len(done))
        return tuple(done)

    def _batch(
        self, now: pendulum.DateTime, uow: UnitOfWork, cases: tuple[Case, ...]
    ) -> tuple[list[Escalation], list[CaseEvent]]:
        hierarchy = UnitHierarchy(uow)
        workflow = case_workflow(uow, self._workflow)
        escalations: list[Escalation] = []
        events: list[CaseEvent] = []
        for case in cases:
            try:
                new, fired, happened = workflow.escalate(case, now, hierarchy)
            except CalendarCoverageError as exc:
                raise CalendarCoverageError(f"case {case.id}: {exc}") from None
            if new != case:
                uow.cases.update(new)
            escalations.extend(fired)
            events.extend(happened)
        record_events(uow, events)
        return escalations, events
