"""Satisfaction call-backs (回访满意度): the call-back a closed case owes its reporter.

Closing a case plans its call-back: the workflow sets ``Case.callback_due`` (the closing instant
plus :attr:`~gridgov.cases.workflow.CaseWorkflow.callback_within`, two working days by default)
and records a ``case.callback_due`` event, for the hotline's call-back team to pick up.
:func:`pending_callbacks` lists the closed cases still waiting for theirs.

:func:`record_callback` records the outcome (满意, 基本满意, 不满意, or 无法联系 when no one
answered): the case is evaluated and a ``case.callback_recorded`` event goes to the outbox.
Recording the same outcome again changes nothing (a retry, or two operators' screens); a
different outcome for a case already called back is refused: the first one stands.
A dissatisfied reporter's case may then be reopened (``Action.REOPEN``); its next closing plans
a new call-back.

The satisfaction rate (:attr:`~gridgov.services.kpis.CaseFigures.satisfaction_rate`) counts
the call-backs that reached the reporter: unreachable ones are in no denominator.
"""

from __future__ import annotations

import pendulum

from gridgov.cases.model import Case, CaseState, Satisfaction
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow, Transition
from gridgov.errors import ConflictError, TransitionError, ValidationError
from gridgov.ports import UnitOfWork
from gridgov.services._common import pages
from gridgov.services.cases import act_on_case

__all__ = ["pending_callbacks", "record_callback"]


def record_callback(
    uow: UnitOfWork,
    case_id: str,
    outcome: Satisfaction,
    *,
    at: pendulum.DateTime,
    actor: str,
    note: str = "",
    workflow: CaseWorkflow | None = None,
) -> Transition:
    """Record the outcome of a closed case's call-back.

    The call-back is an evaluation (``Action.EVALUATE``) by a dispatcher: through a unit scoped
    to a principal, ``actor`` is the principal and its roles must grant the dispatcher's.

    Args:
        uow: The unit of work (not committed here).
        case_id: The case.
        outcome: The reporter's verdict, or ``Satisfaction.UNREACHABLE``.
        at: When the call-back was made.
        actor: Who made it.
        note: What the reporter said, if worth keeping.
        workflow: The rules; ``None`` for the store's settings.

    Returns:
        The case and the events to publish after the commit (none when the same outcome was
        recorded before).

    Raises:
        ValidationError: If ``outcome`` is not a :class:`~gridgov.cases.model.Satisfaction`.
        NotFoundError: If there is no such case.
        TransitionError: If the case is not closed (nor already called back).
        ConflictError: If another outcome was recorded for this closing.
        AccessDeniedError: If a scoped unit's principal may not act as a dispatcher.
    """
    if not isinstance(outcome, Satisfaction):
        raise ValidationError("outcome", f"one of {', '.join(s.value for s in Satisfaction)}")
    case = uow.cases.get(case_id)
    if case.state is CaseState.EVALUATED and case.satisfaction is not None:
        if case.satisfaction is outcome:
            return Transition(case, ())
        raise ConflictError(
            f"case {case_id!r}: its call-back is recorded ({case.satisfaction.value}); "
            f"{outcome.value} is not recorded over it"
        )
    if case.state is not CaseState.CLOSED:
        raise TransitionError(
            f"case {case_id!r} is {case.state.value}: it is called back once it is closed"
        )
    return act_on_case(
        uow,
        workflow,
        case_id,
        Action.EVALUATE,
        actor=actor,
        role=CaseRole.DISPATCHER,
        at=at,
        note=note,
        satisfaction=outcome,
    )


def pending_callbacks(
    uow: UnitOfWork,
    cell_code: str,
    *,
    reported_since: pendulum.DateTime,
    until: pendulum.DateTime,
) -> list[Case]:
    """Return the closed cases of the subtree still waiting for their call-back.

    The cases reported in ``[reported_since, until)`` are read (no index holds the call-back
    queue: a worklist reads a recent period), by ``callback_due`` then id.

    Raises:
        ValidationError: On naive instants or ``until`` before ``reported_since``.
        NotFoundError: If the cell is not stored.
    """
    waiting = [
        case
        for case in pages(
            lambda a: uow.cases.reported_in_subtree(
                cell_code, since=reported_since, until=until, limit=500, after=a
            )
        )
        if case.callback_pending
    ]
    return sorted(waiting, key=lambda c: (c.callback_due, c.id))
