"""The closed-loop workflow: which action may happen in which state, by which role, and its effects.

:class:`CaseWorkflow` is pure: given a case, an action, an actor and an instant it returns the
new case (state, owner, deadlines, history, next escalation check) and the domain events, or
raises. Storage and publishing are the services' business.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import pendulum

from gridgov._levels import GridLevel
from gridgov.calendar import WorkCalendar
from gridgov.cases.catalogue import (
    DEFAULT_CATALOGUE,
    Category,
    ServiceCatalogue,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.cases.escalation import (
    DEFAULT_ESCALATION,
    EscalationKind,
    EscalationPolicy,
    Firing,
    due_firings,
    next_firing,
)
from gridgov.cases.model import (
    PAUSED_STATES,
    Case,
    CaseSource,
    CaseState,
    Deadline,
    DeadlineChange,
    HistoryEntry,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.clock import ensure_aware
from gridgov.errors import TransitionError, ValidationError
from gridgov.events import (
    CallbackDue,
    CallbackRecorded,
    CaseEscalated,
    CaseEvent,
    CaseReassigned,
    CaseReminded,
    CaseReported,
    CaseStateChanged,
    DeadlineMissed,
)
from gridgov.grid import GridCell

__all__ = [
    "DEFAULT_CALLBACK_WITHIN",
    "DUPLICATE_ACTIONS",
    "OWNER_LEVELS",
    "Action",
    "CaseRole",
    "CaseWorkflow",
    "Escalation",
    "Hierarchy",
    "Transition",
]


class CaseRole(enum.Enum):
    """The role an actor acts in on a case."""

    REPORTER = "reporter"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    VERIFIER = "verifier"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "reporter": "上报人",
            "dispatcher": "受理派遣员",
            "handler": "处置人员",
            "verifier": "核查员",
            "supervisor": "督办领导",
            "system": "系统",
        }[self.value]


class Action(enum.Enum):
    """What an actor does to a case."""

    REGISTER = "register"
    REJECT = "reject"
    DISPATCH = "dispatch"
    RETURN = "return"
    START = "start"
    WAIT_ON_RESIDENT = "wait_on_resident"
    RESUME = "resume"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    PARK = "park"
    UNPARK = "unpark"
    HANDLE = "handle"
    VERIFY = "verify"
    FAIL_VERIFICATION = "fail_verification"
    CLOSE = "close"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    MERGE = "merge"
    """Close it into another case of the same problem (合并) (gridgov.cases.duplicates)."""
    MARK_DUPLICATE = "mark_duplicate"
    """Close it as a duplicate of another case (重复件): see :mod:`gridgov.cases.duplicates`."""


@attrs.frozen
class _Rule:
    sources: frozenset[CaseState]
    target: CaseState
    roles: frozenset[CaseRole]
    needs_note: bool = False


def _rule(
    sources: set[CaseState], target: CaseState, roles: set[CaseRole], needs_note: bool = False
) -> _Rule:
    return _Rule(frozenset(sources), target, frozenset(roles), needs_note)


S = CaseState
R = CaseRole
OPEN_STATES = frozenset(s for s in CaseState if s.is_open)
#: The actions that close a case as a duplicate of another.
DUPLICATE_ACTIONS = frozenset({Action.MERGE, Action.MARK_DUPLICATE})
#: The transition table: the states an action starts from, where it leads, who may take it.
TRANSITIONS: dict[Action, _Rule] = {
    Action.REGISTER: _rule({S.REPORTED}, S.REGISTERED, {R.DISPATCHER}),
    Action.REJECT: _rule({S.REPORTED}, S.REJECTED, {R.DISPATCHER}, needs_note=True),
    Action.DISPATCH: _rule({S.REGISTERED, S.RETURNED, S.REOPENED}, S.DISPATCHED, {R.DISPATCHER}),
    Action.RETURN: _rule({S.DISPATCHED, S.IN_PROGRESS}, S.RETURNED, {R.HANDLER}, needs_note=True),
    Action.START: _rule({S.DISPATCHED}, S.IN_PROGRESS, {R.HANDLER}),
    Action.WAIT_ON_RESIDENT: _rule(
        {S.IN_PROGRESS}, S.WAITING_ON_RESIDENT, {R.HANDLER}, needs_note=True
    ),
    Action.RESUME: _rule({S.WAITING_ON_RESIDENT}, S.IN_PROGRESS, {R.HANDLER}),
    Action.REQUEST_EXTENSION: _rule(
        {S.IN_PROGRESS}, S.EXTENSION_REQUESTED, {R.HANDLER}, needs_note=True
    ),
    Action.APPROVE_EXTENSION: _rule({S.EXTENSION_REQUESTED}, S.IN_PROGRESS, {R.SUPERVISOR}),
    Action.DENY_EXTENSION: _rule(
        {S.EXTENSION_REQUESTED}, S.IN_PROGRESS, {R.SUPERVISOR}, needs_note=True
    ),
    Action.PARK: _rule({S.IN_PROGRESS}, S.PARKED, {R.SUPERVISOR}, needs_note=True),
    Action.UNPARK: _rule({S.PARKED}, S.IN_PROGRESS, {R.SUPERVISOR}),
    Action.HANDLE: _rule({S.IN_PROGRESS}, S.HANDLED, {R.HANDLER}, needs_note=True),
    Action.VERIFY: _rule({S.HANDLED}, S.VERIFIED, {R.VERIFIER}),
    Action.FAIL_VERIFICATION: _rule({S.HANDLED}, S.IN_PROGRESS, {R.VERIFIER}, needs_note=True),
    Action.CLOSE: _rule({S.VERIFIED}, S.CLOSED, {R.DISPATCHER}),
    Action.EVALUATE: _rule({S.CLOSED}, S.EVALUATED, {R.DISPATCHER}),
    Action.REOPEN: _rule({S.EVALUATED}, S.REOPENED, {R.DISPATCHER}, needs_note=True),
    # A duplicate is closed from any open state, by whoever registers and dispatches cases.
    Action.MERGE: _rule(set(OPEN_STATES), S.CLOSED, {R.DISPATCHER}, needs_note=True),
    Action.MARK_DUPLICATE: _rule(set(OPEN_STATES), S.CLOSED, {R.DISPATCHER}, needs_note=True),
}
del S, R


# An action, the earlier action it checks, and what its actor did then.
_DUTIES: dict[Action, tuple[Action, str]] = {
    Action.APPROVE_EXTENSION: (Action.REQUEST_EXTENSION, "requested the extension"),
    Action.DENY_EXTENSION: (Action.REQUEST_EXTENSION, "requested the extension"),
    Action.VERIFY: (Action.HANDLE, "handled the case"),
    Action.FAIL_VERIFICATION: (Action.HANDLE, "handled the case"),
}


def _check_duties(case: Case, action: Action, actor: str) -> None:
    """Refuse an approval or verification by whoever did what it checks (the last time)."""
    if action not in _DUTIES:
        return
    checked, done = _DUTIES[action]
    last = next((e for e in reversed(case.history) if e.action == checked.value), None)
    if last is not None and last.actor == actor:
        raise TransitionError(
            f"{action.value} on case {case.id!r}: {actor!r} {done}, so another must decide "
            "(separation of duties)"
        )


@attrs.frozen
class Transition:
    """The result of an action: the new case and what happened.

    Args:
        case: The case after the action.
        events: The domain events to publish once the change is committed.
    """

    case: Case
    events: tuple[CaseEvent, ...]


@attrs.frozen
class Escalation:
    """One escalation the engine carried out, with its explanation.

    Args:
        case_id: The case.
        kind: What was done.
        rule: The policy step (or ``"deadline_missed"``).
        due_at: When the firing was scheduled.
        at: When the sweep carried it out.
        reason_en: Why, in English.
        reason_zh: Why, in Chinese.
        from_cell: The owning unit before.
        to_cell: The owning unit after.
        from_level: The owner's level before.
        to_level: The owner's level after.
        provisional_years: The provisional years ``due_at`` rested on; empty when final.
    """

    case_id: str
    kind: EscalationKind
    rule: str
    due_at: pendulum.DateTime
    at: pendulum.DateTime
    reason_en: str
    reason_zh: str
    from_cell: str
    to_cell: str
    from_level: GridLevel
    to_level: GridLevel
    provisional_years: tuple[int, ...] = ()


class Hierarchy(Protocol):
    """What escalation needs to know about the grid: the unit above and who is on duty."""

    def parent_unit(self, cell_code: str) -> GridCell | None:
        """Return the cell one level above ``cell_code``'s, or ``None`` at the top."""
        ...

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> str | None:
        """Return the id of a worker on duty for ``cell_code`` on ``day`` other than ``besides``."""
        ...


#: How soon after closing a case its reporter is called back (回访): a proposal, not sourced;
#: a deployment sets its own (``CaseWorkflow(callback_within=...)``).
DEFAULT_CALLBACK_WITHIN = TimeLimit(2, TimeUnit.WORKING_DAYS)

#: The levels whose units can own a case.
OWNER_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)


@attrs.frozen
class CaseWorkflow:
    """The rules a platform runs its cases by: catalogue, working calendar, escalation policy.

    Args:
        calendar: The working calendar time limits are counted on.
        catalogue: The service catalogue.
        escalation: The escalation policy.
        separation_of_duties: Whether whoever requested an extension may not approve or deny
            it, and whoever handled a case may not verify it (or fail its verification).
        callback_within: How soon after closing the reporter is called back (回访): the
            case's ``callback_due`` (:data:`DEFAULT_CALLBACK_WITHIN`, a proposal).
    """

    calendar: WorkCalendar
    catalogue: ServiceCatalogue = DEFAULT_CATALOGUE
    escalation: EscalationPolicy = DEFAULT_ESCALATION
    separation_of_duties: bool = True
    callback_within: TimeLimit = DEFAULT_CALLBACK_WITHIN

    def _deadline(self, category: Category, stage: Stage, start: pendulum.DateTime) -> Deadline:
        limit = category.limit(stage)
        return self.timed(
            Deadline(
                stage=stage,
                start=start,
                due=start,  # counted by timed()
                limit=limit,
                rule=f"catalogue:{category.code}:{stage.value}",
                reason_en=f"{category.label_en}: {stage.value} within {limit} ({category.source})",
                reason_zh=f"{category.label_zh}：{limit.label_zh}内{stage.label_zh}",
            )
        )

    def timed(self, deadline: Deadline) -> Deadline:
        """Return ``deadline`` with its due instant counted on this workflow's calendar.

        The limit runs from ``start``; each recorded change then moves it in order: a pause
        that ended adds the time the clock stood still, an extension adds its time to the due
        instant. ``provisional_years`` says which years of the count were provisional.

        Raises:
            CalendarCoverageError: If the count needs a year the calendar does not cover.
        """
        calendar = self.calendar
        due = deadline.limit.due(deadline.start, calendar)
        for change in deadline.changes:
            if change.extension is not None:
                due = change.extension.due(due, calendar)
            elif change.resumed_at is not None:
                due = self._resumed_due(deadline.limit, due, change.at, change.resumed_at)
        years = calendar.provisional_years(deadline.start, due) if _counted(deadline) else ()
        return attrs.evolve(deadline, due=due, provisional_years=years)

    def _resumed_due(
        self,
        limit: TimeLimit,
        due: pendulum.DateTime,
        paused: pendulum.DateTime,
        resumed: pendulum.DateTime,
    ) -> pendulum.DateTime:
        """Return ``due`` moved by the time the clock stood still from ``paused``."""
        if limit.unit.on_calendar:
            left = self.calendar.working_time_between(paused, due)
            return self.calendar.add_working_time(max(resumed, paused), left)
        return due.add(seconds=max(0.0, (resumed - paused).total_seconds()))

    def rescheduled(self, case: Case) -> Case:
        """Return ``case`` with its next escalation check counted on this workflow's rules."""
        firing = next_firing(self.escalation, case, self.calendar)
        if firing is None:
            return attrs.evolve(case, next_check=None, next_check_provisional_years=())
        return attrs.evolve(
            case, next_check=firing.at, next_check_provisional_years=firing.provisional_years
        )

    def report(
        self,
        *,
        case_id: str,
        category: str,
        source: CaseSource,
        location: Location,
        reporter: Reporter,
        description: str,
        owner: GridCell,
        at: pendulum.DateTime,
        actor: str,
        urgency: Urgency | None = None,
        external_id: str | None = None,
    ) -> Transition:
        """Return a newly received case with its registration deadline.

        Args:
            case_id: The new case's key.
            category: Its catalogue category code.
            source: How it came in.
            location: Where it is.
            reporter: Who reported it.
            description: What was reported.
            owner: The grid (or higher) cell that receives it.
            at: When it was received.
            actor: Who recorded it.
            urgency: Defaults to emergency for emergency categories, else normal.
            external_id: Its id in another system.

        Raises:
            ValidationError: On an unknown category, a naive instant, an owner cell below the
                grid level, or any invalid field.
            CalendarCoverageError: If the deadline falls in a year the calendar does not cover.
        """
        at = ensure_aware(at, "at")
        cat = self._category(category)
        if owner.level not in OWNER_LEVELS:
            raise ValidationError("owner", "a case is owned by a grid or a unit above it")
        if urgency is None:
            urgency = Urgency.EMERGENCY if cat.emergency else Urgency.NORMAL
        case = Case(
            id=case_id,
            category=cat.code,
            source=source,
            location=location,
            reporter=reporter,
            description=description,
            urgency=urgency,
            state=CaseState.REPORTED,
            owner_cell=owner.code,
            owner_level=owner.level,
            reported_at=at,
            deadlines=(self._deadline(cat, Stage.REGISTRATION, at),),
            history=(
                HistoryEntry(
                    "report",
                    actor,
                    CaseRole.REPORTER.value,
                    at,
                    CaseState.REPORTED,
                    CaseState.REPORTED,
                    owner_cell=owner.code,
                ),
            ),
            external_id=external_id,
            level_since=at,
        )
        event = CaseReported(case.id, case.cell_code, at, cat.code)
        return Transition(self.rescheduled(case), (event,))

    def _category(self, code: str) -> Category:
        if not isinstance(code, str) or code not in self.catalogue:
            raise ValidationError("category", "not in the service catalogue")
        return self.catalogue.get(code)

    def allowed(
        self, case: Case, role: CaseRole, *, duplicates: bool = False
    ) -> tuple[Action, ...]:
        """Return the actions ``role`` may take on ``case`` now.

        Args:
            case: The case.
            role: The role.
            duplicates: Whether to include a merge and marking it a duplicate, which need
                another case besides (:mod:`gridgov.cases.duplicates`); left out by default.
        """
        return tuple(
            a
            for a, r in TRANSITIONS.items()
            if case.state in r.sources
            and role in r.roles
            and (duplicates or a not in DUPLICATE_ACTIONS)
        )

    def apply(
        self,
        case: Case,
        action: Action,
        *,
        actor: str,
        role: CaseRole,
        at: pendulum.DateTime,
        note: str = "",
        to: GridCell | None = None,
        worker: str | None = None,
        extension: TimeLimit | None = None,
        satisfaction: Satisfaction | None = None,
        department: str | None = None,
        duplicate_of: str | None = None,
    ) -> Transition:
        """Take ``action`` on ``case`` and return the result.

        Args:
            case: The case as stored.
            action: What to do.
            actor: Who does it.
            role: The role they act in.
            at: When (not before the case's last history entry).
            note: Handling notes, reasons; required by rejections, returns, waits, extension
                requests, parking, handling, failed verification and reopening.
            to: For dispatch: the unit to dispatch to (default: the current owner).
            worker: For dispatch: the worker to assign.
            extension: For an extension request: how much more time.
            satisfaction: For evaluation: the call-back verdict.
            department: For dispatch: the functional department that is to handle it
                (``None``: the area's own team).
            duplicate_of: For a merge or a duplicate: the case it duplicates (the link back is
                :func:`gridgov.cases.duplicates.linked`'s); ignored by other actions.

        Raises:
            TransitionError: If the action is not allowed in the case's state, or not for the role.
            ValidationError: On a missing note or parameter, a naive or earlier instant.
            CalendarCoverageError: If a deadline falls in a year the calendar does not cover.
        """
        if not isinstance(action, Action):
            raise ValidationError("action", "expected an Action")
        if not isinstance(role, CaseRole):
            raise ValidationError("role", "expected a CaseRole")
        at = ensure_aware(at, "at")
        rule = TRANSITIONS[action]
        if case.state not in rule.sources:
            raise TransitionError(
                f"case {case.id!r} is {case.state.value}: cannot {action.value} it "
                f"(allowed from {', '.join(sorted(s.value for s in rule.sources))})"
            )
        if role not in rule.roles:
            raise TransitionError(
                f"{action.value} on case {case.id!r} needs the role "
                f"{' or '.join(sorted(r.value for r in rule.roles))}, not {role.value}"
            )
        if rule.needs_note and not (isinstance(note, str) and note.strip()):
            raise ValidationError("note", f"{action.value} needs a note saying why or what")
        if self.separation_of_duties:
            _check_duties(case, action, actor)
        if case.history and at < case.history[-1].at:
            raise ValidationError("at", "earlier than the case's last recorded step")
        changes = self._effects(case, action, at, to, worker, extension, satisfaction)
        if action is Action.DISPATCH:
            changes["owner_department"] = department
        if action in DUPLICATE_ACTIONS:
            if not isinstance(duplicate_of, str) or duplicate_of == case.id:
                raise ValidationError("duplicate_of", "name the other case it duplicates")
            changes["duplicate_of"] = duplicate_of
        new = attrs.evolve(case, state=rule.target, **changes)
        entry = HistoryEntry(
            action.value,
            actor,
            role.value,
            at,
            case.state,
            rule.target,
            note=note,
            owner_cell=new.owner_cell,
            owner_worker=new.owner_worker,
            owner_department=new.owner_department,
        )
        new = self._restage(attrs.evolve(new, history=(*new.history, entry)), case, action, at)
        event = CaseStateChanged(
            case.id, case.cell_code, at, action.value, case.state.value, rule.target.value, actor
        )
        events: tuple[CaseEvent, ...] = (event,)
        if action is Action.CLOSE and new.callback_due is not None:
            events += (CallbackDue(case.id, case.cell_code, at, case.category, new.callback_due),)
        elif action is Action.EVALUATE and new.satisfaction is not None:
            outcome = new.satisfaction.value
            events += (
                CallbackRecorded(case.id, case.cell_code, at, case.category, outcome, actor),
            )
        return Transition(self.rescheduled(new), events)

    def _effects(
        self,
        case: Case,
        action: Action,
        at: pendulum.DateTime,
        to: GridCell | None,
        worker: str | None,
        extension: TimeLimit | None,
        satisfaction: Satisfaction | None,
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if action is Action.DISPATCH:
            unit = to
            if unit is not None:
                if unit.level not in OWNER_LEVELS:
                    raise ValidationError("to", "dispatch to a grid or a unit above it")
                if unit.code != case.owner_cell:
                    changes.update(owner_cell=unit.code, owner_level=unit.level, level_since=at)
            changes["owner_worker"] = worker
            if unit is None or unit.code == case.owner_cell:
                changes["level_since"] = at
        elif action is Action.REQUEST_EXTENSION:
            if not isinstance(extension, TimeLimit):
                raise ValidationError("extension", "say how much more time is requested")
            changes["requested_extension"] = extension
        elif action is Action.PARK and not self._extension_approved(case):
            raise TransitionError(
                f"case {case.id!r} can be parked only after an approved extension"
            )
        elif action is Action.EVALUATE and case.is_duplicate:
            raise TransitionError(
                f"case {case.id!r} is a duplicate: its reporter is called back on "
                f"case {case.duplicate_of!r}"
            )
        elif action is Action.CLOSE:
            changes["callback_due"] = self.callback_within.due(at, self.calendar)
        elif action is Action.EVALUATE:
            if not isinstance(satisfaction, Satisfaction):
                raise ValidationError("satisfaction", "record the call-back verdict")
            changes["satisfaction"] = satisfaction
        elif action is Action.REOPEN and case.satisfaction is not Satisfaction.DISSATISFIED:
            raise TransitionError(
                f"case {case.id!r} can be reopened only after a dissatisfied call-back"
            )
        return changes

    @staticmethod
    def _extension_approved(case: Case) -> bool:
        handling = case.deadline(Stage.HANDLING)
        start = handling.start if handling is not None else case.reported_at
        return any(
            h.action == Action.APPROVE_EXTENSION.value and h.at >= start for h in case.history
        )

    def _restage(self, case: Case, before: Case, action: Action, at: pendulum.DateTime) -> Case:
        """Close, open, pause, resume or extend deadlines after a transition."""
        deadlines = list(case.deadlines)
        cat = self._category(case.category)

        def replace(stage: Stage, change: Callable[[Deadline], Deadline]) -> None:
            for i in range(len(deadlines) - 1, -1, -1):
                if deadlines[i].stage is stage:
                    deadlines[i] = change(deadlines[i])
                    return

        old_stage, new_stage = before.state.stage, case.state.stage
        if old_stage is not None and old_stage is not new_stage:
            current = before.current_deadline
            # A return or a duplicate's closing meets no limit: nobody did the stage's work.
            if current is not None and action not in (Action.RETURN, *DUPLICATE_ACTIONS):
                replace(old_stage, lambda d: attrs.evolve(d, met_at=at))
        if new_stage is not None and new_stage is not old_stage:
            latest = case.deadline(new_stage)
            if new_stage is Stage.HANDLING:
                if action is Action.FAIL_VERIFICATION and latest is not None:
                    replace(new_stage, lambda d: attrs.evolve(d, met_at=None))
                elif latest is None:
                    deadlines.append(self._deadline(cat, Stage.HANDLING, case.reported_at))
                elif latest.met_at is not None:  # a reopened case gets a fresh round
                    deadlines.append(self._deadline(cat, Stage.HANDLING, at))
            else:
                deadlines.append(self._deadline(cat, new_stage, at))
        if case.state in PAUSED_STATES and before.state not in PAUSED_STATES:
            replace(Stage.HANDLING, lambda d: attrs.evolve(d, paused_at=at))
        elif before.state in PAUSED_STATES and case.state not in PAUSED_STATES:
            replace(Stage.HANDLING, lambda d: self._resumed(d, at))
        if action is Action.APPROVE_EXTENSION and case.requested_extension is not None:
            extra = case.requested_extension
            extension = DeadlineChange(at, extension=extra)
            replace(
                Stage.HANDLING,
                lambda d: self.timed(attrs.evolve(d, changes=(*d.changes, extension))),
            )
        if action in (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION):
            case = attrs.evolve(case, requested_extension=None)
        return attrs.evolve(case, deadlines=tuple(deadlines))

    def _resumed(self, deadline: Deadline, at: pendulum.DateTime) -> Deadline:
        """Move the due instant by the time the clock stood still."""
        paused = deadline.paused_at
        if paused is None:
            return deadline
        pause = DeadlineChange(paused, resumed_at=max(at, paused))
        return self.timed(
            attrs.evolve(deadline, paused_at=None, changes=(*deadline.changes, pause))
        )

    # -- escalation ------------------------------------------------------------------------

    def escalate(
        self, case: Case, now: pendulum.DateTime, hierarchy: Hierarchy
    ) -> tuple[Case, tuple[Escalation, ...], tuple[CaseEvent, ...]]:
        """Carry out every escalation of ``case`` due at ``now``.

        A repeating step that fell due several times since the last sweep acts once and counts
        the missed repetitions as done, so a late sweep does not flood the owner.

        Returns:
            The case (unchanged if nothing was due), the escalations and the events.

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If a firing instant falls in a year the calendar does not
                cover.
        """
        now = ensure_aware(now, "now")
        done: list[Escalation] = []
        events: list[CaseEvent] = []
        for _ in range(1000):  # each firing is recorded, so this ends; the bound guards bugs
            due = due_firings(self.escalation, case, self.calendar, now)
            if not due:
                break
            case = self._fire(case, due[0], now, hierarchy, done, events)
        return self.rescheduled(case), tuple(done), tuple(events)

    def _fire(
        self,
        case: Case,
        firing: Firing,
        now: pendulum.DateTime,
        hierarchy: Hierarchy,
        done: list[Escalation],
        events: list[CaseEvent],
    ) -> Case:
        fired = {firing.key}
        step = firing.step
        if step is not None and step.repeat_every is not None:
            # Count the repetitions that also fell due before now as done.
            at, n, prefix = firing.at, firing.times, firing.key.rsplit("#", 1)[0]
            while n < step.max_times:
                at = step.repeat_every.due(at, self.calendar)
                if at > now:
                    break
                n += 1
                fired.add(f"{prefix}#{n}")
        before_cell, before_level, before_worker = (
            case.owner_cell,
            case.owner_level,
            case.owner_worker,
        )
        changes: dict[str, Any] = {}
        if firing.kind is EscalationKind.DEADLINE_MISSED:
            assert firing.stage is not None
            reason_en = f"the {firing.stage.value} deadline passed"
            reason_zh = f"{firing.stage.label_zh}超期"
            rule = "deadline_missed"
            events.append(
                DeadlineMissed(case.id, case.cell_code, now, firing.stage.value, firing.at)
            )
        else:
            assert step is not None
            reason_en, reason_zh, rule = step.reason_en, step.reason_zh, step.name
            if firing.kind is EscalationKind.RAISE_LEVEL:
                parent = hierarchy.parent_unit(case.owner_cell)
                if parent is not None and parent.level in OWNER_LEVELS:
                    worker = hierarchy.on_duty(
                        parent.code, now.in_timezone(self.calendar.tz).date(), besides=None
                    )
                    changes.update(
                        owner_cell=parent.code,
                        owner_level=parent.level,
                        owner_worker=worker,
                        level_since=now,
                    )
                    events.append(
                        CaseEscalated(
                            case.id,
                            case.cell_code,
                            now,
                            before_cell,
                            parent.code,
                            before_level,
                            parent.level,
                            rule,
                        )
                    )
            elif firing.kind is EscalationKind.REASSIGN:
                worker = hierarchy.on_duty(
                    case.owner_cell,
                    now.in_timezone(self.calendar.tz).date(),
                    besides=case.owner_worker,
                )
                if worker is not None:
                    changes["owner_worker"] = worker
                    events.append(
                        CaseReassigned(case.id, case.cell_code, now, before_worker, worker, rule)
                    )
            else:
                copied = None
                if firing.kind is not EscalationKind.REMIND:
                    parent = hierarchy.parent_unit(case.owner_cell)
                    copied = parent.code if parent is not None else None
                events.append(
                    CaseReminded(
                        case.id,
                        case.cell_code,
                        now,
                        firing.kind.value,
                        case.owner_cell,
                        case.owner_worker,
                        copied,
                        rule,
                    )
                )
        entry = HistoryEntry(
            firing.kind.value,
            "system",
            CaseRole.SYSTEM.value,
            now,
            case.state,
            case.state,
            note=f"{reason_en} / {reason_zh}",
            owner_cell=str(changes.get("owner_cell", case.owner_cell)),
            owner_worker=changes.get("owner_worker", case.owner_worker),
            rule=rule,
            owner_department=case.owner_department,
        )
        case = attrs.evolve(
            case, history=(*case.history, entry), fired=case.fired | fired, **changes
        )
        done.append(
            Escalation(
                case.id,
                firing.kind,
                rule,
                firing.at,
                now,
                reason_en,
                reason_zh,
                before_cell,
                case.owner_cell,
                before_level,
                case.owner_level,
                firing.provisional_years,
            )
        )
        return case


def _counted(deadline: Deadline) -> bool:
    """Return whether a deadline is counted on the working calendar (its limit or extensions)."""
    return deadline.limit.unit.on_calendar or any(
        c.extension is not None and c.extension.unit.on_calendar for c in deadline.changes
    )
