"""Duplicate cases: flagged when reported, then merged into another or marked a duplicate.

See :mod:`gridgov.cases.duplicates` for the rule. :func:`flag_duplicates` is what
:func:`gridgov.services.cases.report_case` runs on every new case; :func:`mark_duplicate`
closes a case into another, keeps the link on both and tells the reporter (the notification
policy's ``case.duplicate`` rule, :mod:`gridgov.notify`), or records that the reporter left no
way to be told (the ``case.duplicate`` event's ``reporter_reachable``).
"""

from __future__ import annotations

import logging

import attrs
import pendulum

from gridgov.cases.catalogue import ServiceCatalogue
from gridgov.cases.duplicates import Sighting, linked, matches, sighting
from gridgov.cases.model import Case
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow, Transition
from gridgov.clock import ensure_aware
from gridgov.errors import NotFoundError, ValidationError
from gridgov.events import CaseMarkedDuplicate
from gridgov.idempotency import idempotent_replaying
from gridgov.outbox import record_events
from gridgov.ports import UnitOfWork
from gridgov.settings import case_workflow, duplicate_rule

__all__ = ["flag_duplicates", "mark_duplicate"]

_log = logging.getLogger(__name__)

# How many earlier reports of one component or category the check reads: the latest ones in
# the window, far more than a problem gathers before someone merges them.
_READ = 50


def _minor(catalogue: ServiceCatalogue, code: str) -> str | None:
    """Return the standard minor category ``code`` counts as, or ``None`` outside the trees."""
    if code not in catalogue:
        return None
    standard = catalogue.standard(code)
    return standard.code if standard.tree is not None else None


def flag_duplicates(uow: UnitOfWork, catalogue: ServiceCatalogue, case: Case) -> tuple[str, ...]:
    """Return the ids of the stored cases ``case`` may duplicate, oldest first.

    Reads, over the whole store (a scope never narrows what a rule counts), the reports of its
    component and of every category that counts as its minor category within the window of
    the store's rule (:func:`gridgov.settings.duplicate_rule`).
    """
    rule = duplicate_rule(uow)
    since = case.reported_at - rule.window
    until = case.reported_at.add(microseconds=1)  # a report at the same instant counts
    earlier: list[Sighting] = []
    if case.component_id is not None:
        earlier += uow.cases.sightings(
            since=since, until=until, component_id=case.component_id, limit=_READ
        )
    kind = _minor(catalogue, case.category)
    if kind is not None:
        for category in catalogue.categories:
            if _minor(catalogue, category.code) == kind:
                earlier += uow.cases.sightings(
                    since=since, until=until, category=category.code, limit=_READ
                )
    return matches(sighting(case), earlier, rule, lambda code: _minor(catalogue, code))


def _without_events(transition: Transition) -> Transition:
    """A repeated request's result: its events went out after the first."""
    return attrs.evolve(transition, events=())


@idempotent_replaying(_without_events, received=("at",))
def mark_duplicate(
    uow: UnitOfWork,
    workflow: CaseWorkflow | None,
    case_id: str,
    *,
    of: str,
    actor: str,
    at: pendulum.DateTime,
    merge: bool = False,
    note: str = "",
    role: CaseRole = CaseRole.DISPATCHER,
    idempotency_key: str | None = None,
) -> Transition:
    """Close ``case_id`` as a duplicate of ``of`` (or merge it into ``of``); link both ways.

    The duplicate is closed (``Action.MARK_DUPLICATE`` or ``Action.MERGE``) with its
    :attr:`~gridgov.cases.model.Case.duplicate_of`; the other case lists it in
    :attr:`~gridgov.cases.model.Case.duplicates` with a history line. A
    :class:`~gridgov.events.CaseMarkedDuplicate` event is recorded, and with it the reporter's
    notification when the reporter can be told (a phone, or a resident id).

    Args:
        uow: The unit of work (not committed here).
        workflow: The catalogue, calendar and escalation policy; ``None`` for the store's.
        case_id: The duplicate.
        of: The case that handles the problem.
        actor: Who decides.
        at: When.
        merge: Whether the duplicate is merged (合并: its report joins the other case's) rather
            than marked a duplicate (重复件); both close it and are counted alike.
        note: Why; default: ``"duplicate of <of>"`` or ``"merged into <of>"``.
        role: The role the actor acts in (a dispatcher's, by default).
        idempotency_key: As for :func:`gridgov.services.cases.act_on_case`.

    Returns:
        The closed duplicate and the events to publish after the commit.

    Raises:
        NotFoundError: If ``case_id`` is not stored.
        ValidationError: If ``of`` is not stored, is the case itself, or is itself a duplicate.
        TransitionError: If the duplicate is closed already, or the role may not do it.
        AccessDeniedError: As for :func:`gridgov.services.cases.act_on_case`.
    """
    # services.cases imports this module (its reports flag duplicates): imported when called.
    from gridgov.services.cases import _acting

    at = ensure_aware(at, "at")
    _acting(uow, actor, role, case_id)
    workflow = case_workflow(uow, workflow)
    case = uow.cases.get(case_id)
    try:
        other = uow.cases.get(of)
    except NotFoundError:
        raise ValidationError("of", "no such case") from None
    action = Action.MERGE if merge else Action.MARK_DUPLICATE
    note = note.strip() or (f"merged into {of}" if merge else f"duplicate of {of}")
    survivor = linked(other, case, actor=actor, role=role.value, at=at, merged=merge)
    transition = workflow.apply(
        case, action, actor=actor, role=role, at=at, note=note, duplicate_of=of
    )
    stored = uow.cases.update(transition.case)
    uow.cases.update(survivor)
    reporter = case.reporter
    event = CaseMarkedDuplicate(
        case.id,
        case.cell_code,
        at,
        duplicate_of=of,
        merged=merge,
        reporter_reachable=reporter.phone is not None or reporter.resident_id is not None,
    )
    events = (*transition.events, event)
    record_events(uow, events)
    _log.debug("case %s: %s %s by %s", case_id, action.value, of, actor)
    return Transition(stored, events)
