"""Case stories in scenario files: a case as reported and the steps taken on it, replayed.

A story is a ``[[cases]]`` table of ``scenario.toml``::

    [[cases]]
    id = "mg-2026-1101"
    category = "proxy_service"
    source = "proxy_service"
    cell_code = "610102003006006"
    description = "拆迁户用电补助申请，申请书填写有误需重开"
    reported_at = 2026-11-24T09:10:00+08:00
    actor = "secretary"
    reporter = { name = "王建国", phone = "13700000000" }

    [[cases.steps]]                        # one table per step, in time order
    action = "register"
    role = "dispatcher"
    actor = "secretary"
    at = 2026-11-24T09:15:00+08:00

Replaying a story reports the case and takes each step through
:func:`gridgov.services.cases.act_on_case`; before each step the escalations due by then are
carried out, so the history reads as if the engine had been sweeping all along.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.cases.catalogue import TimeLimit
from gridgov.cases.model import CaseSource, Reporter, Satisfaction, Urgency
from gridgov.cases.workflow import DUPLICATE_ACTIONS, Action, CaseRole, CaseWorkflow
from gridgov.errors import ValidationError
from gridgov.ports import UnitOfWork
from gridgov.services.cases import UnitHierarchy, act_on_case, report_case
from gridgov.services.duplicates import mark_duplicate

__all__ = ["CaseStep", "CaseStory", "replay_cases"]


@attrs.frozen
class CaseStep:
    """One action taken on a case in a story; see :meth:`CaseWorkflow.apply`.

    Args:
        action: What was done.
        role: The role it was done in.
        actor: Who did it.
        at: When.
        note: Notes or reasons.
        to_cell: For dispatch: the unit dispatched to.
        worker: For dispatch: the worker assigned.
        extension: For an extension request, e.g. ``"5 working days"``.
        satisfaction: For evaluation: the call-back verdict.
        department: For dispatch: the functional department dispatched to (default: routed
            by category and cell, see :func:`gridgov.services.cases.act_on_case`).
        duplicate_of: For ``merge`` and ``mark_duplicate``: the case the story's case
            duplicates (:func:`gridgov.services.duplicates.mark_duplicate`).
    """

    action: Action = attrs.field(validator=v.instance_of(Action))
    role: CaseRole = attrs.field(validator=v.instance_of(CaseRole))
    actor: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    note: str = attrs.field(default="", validator=v.text(2000, allow_empty=True))
    to_cell: str | None = attrs.field(default=None, validator=v.optional(v.text(64)))
    worker: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    extension: TimeLimit | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(TimeLimit))
    )
    satisfaction: Satisfaction | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Satisfaction))
    )
    department: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    duplicate_of: str | None = attrs.field(default=None, validator=v.optional(v.identifier))


def _steps(value: Iterable[CaseStep]) -> tuple[CaseStep, ...]:
    return v.to_tuple(value)


def _to_point(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen(repr=False)
class CaseStory:
    """A case of a scenario: how it was reported and what was done, in time order.

    Args:
        id: The case's key.
        category: Its catalogue category.
        source: How it came in.
        cell_code: The grid or building it lies in.
        description: What was reported.
        reported_at: When it was received.
        actor: Who recorded it.
        reporter: Who reported it.
        address: The address as reported.
        point: ``(longitude, latitude)``, if known.
        urgency: Overrides the category's urgency.
        external_id: Its id in another system.
        component_id: The registered component it is about, if any.
        steps: What was done, in time order.
    """

    id: str = attrs.field(validator=v.identifier)
    category: str = attrs.field(validator=v.identifier)
    source: CaseSource = attrs.field(validator=v.instance_of(CaseSource))
    cell_code: str = attrs.field(validator=v.text(64))
    description: str = attrs.field(validator=v.text(4000))
    reported_at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    actor: str = attrs.field(validator=v.identifier)
    reporter: Reporter = attrs.field(factory=Reporter, validator=v.instance_of(Reporter))
    address: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    point: tuple[float, float] | None = attrs.field(default=None, converter=_to_point)
    urgency: Urgency | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Urgency))
    )
    external_id: str | None = attrs.field(default=None, validator=v.optional(v.text(100)))
    component_id: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    steps: tuple[CaseStep, ...] = attrs.field(
        default=(), converter=_steps, validator=v.collection_of(CaseStep)
    )

    def __attrs_post_init__(self) -> None:
        last = self.reported_at
        for i, step in enumerate(self.steps):
            if step.at < last:
                raise ValidationError(f"steps[{i}].at", "earlier than the step before it")
            last = step.at

    def __repr__(self) -> str:
        return f"CaseStory(id={self.id!r}, category={self.category!r}, steps={len(self.steps)})"


def replay_cases(uow: UnitOfWork, workflow: CaseWorkflow, stories: Iterable[CaseStory]) -> int:
    """Report each story's case and take its steps, escalating on the way; return how many.

    Args:
        uow: The unit of work (not committed here).
        workflow: The catalogue, calendar and escalation policy.
        stories: The stories.

    Raises:
        ValidationError: Naming the story (``cases[2].steps[1]``) and the problem.
        TransitionError: If a step is not allowed where the story takes it.
    """
    hierarchy = UnitHierarchy(uow)
    count = 0
    for i, story in enumerate(stories):
        try:
            case = report_case(
                uow,
                workflow,
                category=story.category,
                source=story.source,
                cell_code=story.cell_code,
                description=story.description,
                at=story.reported_at,
                actor=story.actor,
                reporter=story.reporter,
                address=story.address,
                point=story.point,
                urgency=story.urgency,
                external_id=story.external_id,
                case_id=story.id,
                component_id=story.component_id,
            ).case
        except ValidationError as exc:
            raise exc.within(f"cases[{i}]") from None
        for j, step in enumerate(story.steps):
            # Escalate at each instant a sweeping engine would have, up to the step.
            while case.next_check is not None and case.next_check <= step.at:
                escalated, _, _ = workflow.escalate(case, case.next_check, hierarchy)
                if escalated == case:
                    break
                case = uow.cases.update(escalated)
            try:
                if step.action in DUPLICATE_ACTIONS:
                    if step.duplicate_of is None:
                        raise ValidationError("duplicate_of", "name the case it duplicates")
                    case = mark_duplicate(
                        uow,
                        workflow,
                        case.id,
                        of=step.duplicate_of,
                        actor=step.actor,
                        role=step.role,
                        at=step.at,
                        note=step.note,
                        merge=step.action is Action.MERGE,
                    ).case
                    continue
                case = act_on_case(
                    uow,
                    workflow,
                    case.id,
                    step.action,
                    actor=step.actor,
                    role=step.role,
                    at=step.at,
                    note=step.note,
                    to_cell=step.to_cell,
                    worker=step.worker,
                    extension=step.extension,
                    satisfaction=step.satisfaction,
                    department=step.department,
                ).case
            except ValidationError as exc:
                raise exc.within(f"cases[{i}].steps[{j}]") from None
        count += 1
    return count
