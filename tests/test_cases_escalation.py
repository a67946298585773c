"""Tests for escalation policies and the escalation of one case (pure, without storage)."""

from __future__ import annotations

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.calendar import WorkCalendar
from gridgov.cases import (
    DEFAULT_ESCALATION,
    Action,
    Anchor,
    Case,
    CaseRole,
    CaseSource,
    CaseWorkflow,
    EscalationKind,
    EscalationPolicy,
    EscalationStep,
    Location,
    Reporter,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.cases.escalation import next_check
from gridgov.errors import ValidationError
from gridgov.events import CaseEscalated, CaseReminded, DeadlineMissed
from gridgov.grid import GridCell, GridLevel

TZ = "Asia/Shanghai"
CAL = WorkCalendar.china()
WF = CaseWorkflow(CAL)
CELLS = {
    "110105": GridCell("110105", "朝阳区", GridLevel.DISTRICT),
    "110105001": GridCell("110105001", "建外街道", GridLevel.STREET, "110105"),
    "110105001001": GridCell("110105001001", "明宫社区", GridLevel.COMMUNITY, "110105001"),
    "110105001001001": GridCell("110105001001001", "第一网格", GridLevel.GRID, "110105001001"),
}
GRID = CELLS["110105001001001"]
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)


class Tree:
    """A fixed hierarchy with one worker on duty per unit."""

    def parent_unit(self, cell_code: str) -> GridCell | None:
        """Return the parent cell."""
        parent = CELLS[cell_code].parent_code
        return None if parent is None else CELLS[parent]

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> str | None:
        """Return ``duty-<code>`` or, besides that one, ``relief-<code>``."""
        first = f"duty-{cell_code}"
        return first if besides != first else f"relief-{cell_code}"


TREE = Tree()


def dispatched(category: str = "complaint", workflow: CaseWorkflow = WF) -> Case:
    """Return a case dispatched to the grid on Monday 23 November 2026 at 10:30."""
    case = workflow.report(
        case_id="c1",
        category=category,
        source=CaseSource.WALK_IN,
        location=Location(GRID.code),
        reporter=Reporter(),
        description="路灯不亮",
        owner=GRID,
        at=MONDAY,
        actor="w1",
    ).case
    for action, minutes in ((Action.REGISTER, 10), (Action.DISPATCH, 30)):
        case = workflow.apply(
            case, action, actor="d1", role=CaseRole.DISPATCHER, at=MONDAY.add(minutes=minutes)
        ).case
    return case


def at(day: int, hour: int = 9) -> pendulum.DateTime:
    """Return ``day`` November 2026 (or December, past 30) at ``hour`` in Beijing."""
    if day > 30:
        return pendulum.datetime(2026, 12, day - 30, hour, tz=TZ)
    return pendulum.datetime(2026, 11, day, hour, tz=TZ)


def test_small_matters_stay_in_the_grid_for_one_working_day() -> None:
    """Unhandled after one working day, the case rises to the community's unit on duty."""
    case = dispatched()
    assert at(24, 17).add(minutes=30) == case.next_check
    raised, escalations, events = WF.escalate(case, at(25), TREE)
    expected = ("110105001001", GridLevel.COMMUNITY, "duty-110105001001", at(25))
    actual = (raised.owner_cell, raised.owner_level, raised.owner_worker, raised.level_since)
    assert expected == actual
    assert [EscalationKind.RAISE_LEVEL] == [e.kind for e in escalations]
    assert [CaseEscalated] == [type(e) for e in events]


def test_big_matters_stay_in_the_community_for_three_working_days() -> None:
    """After three more working days the community's case rises to the street."""
    case, _, _ = WF.escalate(dispatched(), at(25), TREE)
    assert at(30, 17).add(minutes=30) == case.next_check
    street, escalations, _ = WF.escalate(case, at(31), TREE)
    assert ("110105001", ["community_to_street"]) == (
        street.owner_cell,
        [e.rule for e in escalations],
    )


def test_a_second_sweep_at_the_same_instant_does_nothing() -> None:
    """Escalation is idempotent: what fired is recorded on the case."""
    once, first, _ = WF.escalate(dispatched(), at(25), TREE)
    twice, second, events = WF.escalate(once, at(25), TREE)
    assert (once, (), ()) == (twice, second, events)
    assert len(first) == 1


def test_overdue_case_gets_missed_mark_formal_reminders_and_supervision() -> None:
    """Past its deadline a consultation is marked missed, formally reminded, then supervised."""
    workflow = CaseWorkflow(CAL, escalation=EscalationPolicy(_deadline_steps()))
    case = dispatched("consultation", workflow)
    due = case.current_deadline
    assert due is not None
    assert at(25, 17).add(minutes=30) == due.due
    kinds: list[str] = []
    for day in (25, 26, 27, 30, 31, 32, 33, 34, 35, 36):
        case, escalations, _ = workflow.escalate(case, at(day, 18), TREE)
        kinds.extend(f"{day}:{e.kind.value}" for e in escalations)
    expected = [
        "25:remind",
        "25:deadline_missed",
        "26:formal_reminder",
        "27:formal_reminder",
        "30:formal_reminder",
        "31:formal_reminder",
        "32:formal_reminder",
        "33:supervise",
    ]
    assert expected == kinds


def _deadline_steps() -> tuple[EscalationStep, ...]:
    return tuple(s for s in DEFAULT_ESCALATION.steps if s.anchor is Anchor.DEADLINE)


def test_a_late_sweep_fires_a_repeating_step_once() -> None:
    """A sweep a week late sends one formal reminder, not one per missed day."""
    workflow = CaseWorkflow(CAL, escalation=EscalationPolicy(_deadline_steps()))
    case = dispatched("consultation", workflow)
    late, escalations, _ = workflow.escalate(case, at(31, 18), TREE)
    expected = ["remind", "deadline_missed", "formal_reminder"]
    assert expected == [e.kind.value for e in escalations]
    formal = sorted(k for k in late.fired if k.startswith("formal_reminder"))
    assert 4 == len(formal)


def test_formal_reminder_is_copied_to_the_supervising_unit() -> None:
    """The formal reminder names the owner and copies the unit above it."""
    workflow = CaseWorkflow(CAL, escalation=EscalationPolicy(_deadline_steps()))
    case = dispatched("consultation", workflow)
    _, _, events = workflow.escalate(case, at(26, 18), TREE)
    reminders = [e for e in events if isinstance(e, CaseReminded) and e.kind == "formal_reminder"]
    assert [("110105001001001", "110105001001")] == [(e.owner_cell, e.copied_to) for e in reminders]
    assert [Stage.HANDLING.value] == [e.stage for e in events if isinstance(e, DeadlineMissed)]


def test_step_before_the_deadline_counts_working_days_backwards() -> None:
    """A reminder one working day before a deadline on Monday fires at Friday's close."""
    policy = EscalationPolicy(
        (
            EscalationStep(
                "eve",
                EscalationKind.REMIND,
                "due tomorrow",
                "明日到期",
                offset=TimeLimit(1, TimeUnit.WORKING_DAYS),
                before=True,
            ),
        ),
        mark_missed=False,
    )
    workflow = CaseWorkflow(CAL, escalation=policy)
    case = workflow.report(
        case_id="c1",
        category="consultation",
        source=CaseSource.WALK_IN,
        location=Location(GRID.code),
        reporter=Reporter(),
        description="咨询",
        owner=GRID,
        at=pendulum.datetime(2026, 11, 26, 10, tz=TZ),
        actor="w1",
    ).case
    case = workflow.apply(
        case, Action.REGISTER, actor="d", role=CaseRole.DISPATCHER, at=at(26, 11)
    ).case
    case = workflow.apply(
        case, Action.DISPATCH, actor="d", role=CaseRole.DISPATCHER, at=at(26, 12)
    ).case
    assert pendulum.datetime(2026, 11, 27, 17, 30, tz=TZ) == next_check(policy, case, CAL)


def test_reassign_gives_the_case_to_another_worker_of_the_unit() -> None:
    """A reassign step moves the case to a worker on duty other than the current one."""
    policy = EscalationPolicy(
        (
            EscalationStep(
                "reassign_idle",
                EscalationKind.REASSIGN,
                "no progress in 2 working hours",
                "两个工作小时无进展，改派",
                anchor=Anchor.LEVEL_ENTRY,
                offset=TimeLimit(2, TimeUnit.WORKING_HOURS),
            ),
        ),
        mark_missed=False,
    )
    workflow = CaseWorkflow(CAL, escalation=policy)
    case = dispatched(workflow=workflow)
    case = workflow.apply(case, Action.START, actor="w", role=CaseRole.HANDLER, at=at(23, 11)).case
    case = attrs.evolve(case, owner_worker=f"duty-{GRID.code}")
    moved, escalations, _ = workflow.escalate(case, at(23, 15), TREE)
    assert (f"relief-{GRID.code}", ["reassign"]) == (
        moved.owner_worker,
        [e.kind.value for e in escalations],
    )


def test_a_handled_case_is_no_longer_raised() -> None:
    """Level escalation stops once the grid has handled the case."""
    case = dispatched()
    case = WF.apply(case, Action.START, actor="w", role=CaseRole.HANDLER, at=at(23, 11)).case
    case = WF.apply(
        case, Action.HANDLE, actor="w", role=CaseRole.HANDLER, at=at(23, 15), note="已修复"
    ).case
    _, escalations, _ = WF.escalate(case, at(25), TREE)
    assert [] == [e for e in escalations if e.kind is EscalationKind.RAISE_LEVEL]


def test_the_district_is_the_top_of_the_ladder() -> None:
    """A case owned by the district is never raised further."""
    case = attrs.evolve(
        dispatched(), owner_cell="110105", owner_level=GridLevel.DISTRICT, level_since=MONDAY
    )
    policy = EscalationPolicy(
        (
            EscalationStep(
                "up",
                EscalationKind.RAISE_LEVEL,
                "up",
                "上提",
                anchor=Anchor.LEVEL_ENTRY,
                offset=TimeLimit(1, TimeUnit.HOURS),
            ),
        ),
        mark_missed=False,
    )
    assert next_check(policy, case, CAL) is None


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"share": 1.5}, "share"),
        ({"share": 0.5, "offset": TimeLimit(1, TimeUnit.HOURS)}, "share"),
        ({"before": True}, "before"),
        ({"max_times": 3}, "max_times"),
        ({"max_times": 0}, "max_times"),
        ({"action": EscalationKind.DEADLINE_MISSED}, "action"),
    ],
)
def test_bad_steps_are_refused(kwargs: dict[str, object], path: str) -> None:
    """Inconsistent step settings raise a ValidationError naming the field."""
    fields: dict[str, object] = {
        "name": "s",
        "action": EscalationKind.REMIND,
        "reason_en": "r",
        "reason_zh": "r",
    }
    fields.update(kwargs)
    with pytest.raises(ValidationError) as info:
        EscalationStep(**fields)  # type: ignore[arg-type]
    assert path == info.value.path


def test_duplicate_step_names_are_refused() -> None:
    """Step names key the firings, so they must be unique."""
    s = EscalationStep("s", EscalationKind.REMIND, "r", "r", share=0.5)
    with pytest.raises(ValidationError) as info:
        EscalationPolicy((s, s))
    assert "steps[1].name" == info.value.path


@given(st.integers(0, 60 * 24 * 20))
def test_sweeping_twice_is_the_same_as_sweeping_once(minutes: int) -> None:
    """For any sweep instant, a second sweep at that instant changes nothing."""
    now = MONDAY.add(minutes=minutes)
    once, _, _ = WF.escalate(dispatched(), now, TREE)
    twice, again, _ = WF.escalate(once, now, TREE)
    assert (once, ()) == (twice, again)
    assert once.next_check is None or once.next_check > now
