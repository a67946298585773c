"""Tests for the case lifecycle: transitions, roles, deadlines and the paused SLA clock."""

from __future__ import annotations

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from gridgov.calendar import WorkCalendar
from gridgov.cases import (
    TRANSITIONS,
    Action,
    Case,
    CaseRole,
    CaseSource,
    CaseState,
    CaseWorkflow,
    Location,
    Reporter,
    Satisfaction,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.errors import CalendarCoverageError, TransitionError, ValidationError
from gridgov.events import CaseReported, CaseStateChanged
from gridgov.grid import GridCell, GridLevel
from gridgov.serialization import structure, unstructure

TZ = "Asia/Shanghai"
CAL = WorkCalendar.china()
WF = CaseWorkflow(CAL)
GRID = GridCell("110105001001001", "第一网格", GridLevel.GRID, "110105001001")
COMMUNITY = GridCell("110105001001", "明宫社区", GridLevel.COMMUNITY, "110105001")
MONDAY = pendulum.datetime(2026, 11, 23, 10, tz=TZ)


def report(
    category: str = "complaint", at: pendulum.DateTime = MONDAY, workflow: CaseWorkflow = WF
) -> Case:
    """Return a fresh case reported in the grid."""
    return workflow.report(
        case_id="c1",
        category=category,
        source=CaseSource.HOTLINE_12345,
        location=Location(GRID.code, "明宫小区3号楼2单元"),
        reporter=Reporter("王小明", "13800138000"),
        description="楼道堆放杂物，影响通行",
        owner=GRID,
        at=at,
        actor="op1",
    ).case


def step(case: Case, action: Action, role: CaseRole, minutes: int, **kw: object) -> Case:
    """Apply ``action`` ``minutes`` after Monday 10:00 and return the case."""
    at = MONDAY.add(minutes=minutes)
    return WF.apply(case, action, actor=f"{role.value}-1", role=role, at=at, **kw).case  # type: ignore[arg-type]


def handled(case: Case) -> Case:
    """Return ``case`` registered, dispatched, started and handled."""
    case = step(case, Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20, worker="w1")
    case = step(case, Action.START, CaseRole.HANDLER, 30)
    return step(case, Action.HANDLE, CaseRole.HANDLER, 60, note="已清理")


def test_the_closed_loop_runs_from_report_to_evaluation() -> None:
    """The happy path visits every state of the closed loop in order."""
    case = handled(report())
    case = step(case, Action.VERIFY, CaseRole.VERIFIER, 90)
    case = step(case, Action.CLOSE, CaseRole.DISPATCHER, 100)
    case = step(
        case, Action.EVALUATE, CaseRole.DISPATCHER, 120, satisfaction=Satisfaction.SATISFIED
    )
    expected = [
        "reported",
        "registered",
        "dispatched",
        "in_progress",
        "handled",
        "verified",
        "closed",
        "evaluated",
    ]
    assert expected == [h.to_state.value for h in case.history]


def test_report_sets_the_registration_deadline_and_an_event() -> None:
    """A reported complaint must be registered within one working hour, and says so."""
    t = WF.report(
        case_id="c1",
        category="complaint",
        source=CaseSource.PATROL,
        location=Location(GRID.code),
        reporter=Reporter(),
        description="井盖缺失",
        owner=GRID,
        at=MONDAY,
        actor="w1",
    )
    deadline = t.case.current_deadline
    assert deadline is not None
    expected = (Stage.REGISTRATION, MONDAY.add(hours=1), "catalogue:complaint:registration")
    assert expected == (deadline.stage, deadline.due, deadline.rule)
    assert (CaseReported("c1", GRID.code, MONDAY, "complaint"),) == t.events


def test_handling_counts_from_receipt_not_from_dispatch() -> None:
    """The 15 working days of a complaint run from receipt (Guangdong 12345 rules)."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 600)
    deadline = case.current_deadline
    assert deadline is not None
    expected = (MONDAY, pendulum.datetime(2026, 12, 14, 17, 30, tz=TZ))
    assert expected == (deadline.start, deadline.due)


def test_wrong_role_raises_transition_error_naming_action_and_role() -> None:
    """A handler cannot register a case; the error names the action and the roles."""
    case = report()
    with pytest.raises(TransitionError) as info:
        step(case, Action.REGISTER, CaseRole.HANDLER, 5)
    assert "register on case 'c1' needs the role dispatcher, not handler" == str(info.value)


def test_illegal_transition_names_the_state_and_the_action() -> None:
    """A reported case cannot be closed; the error names the state and the action."""
    with pytest.raises(TransitionError) as info:
        step(report(), Action.CLOSE, CaseRole.DISPATCHER, 5)
    assert str(info.value).startswith("case 'c1' is reported: cannot close it")


def test_rejection_needs_a_reason() -> None:
    """Rejecting without a note is a ValidationError on ``note``."""
    with pytest.raises(ValidationError) as info:
        step(report(), Action.REJECT, CaseRole.DISPATCHER, 5)
    assert "note" == info.value.path


def test_naive_instant_is_refused() -> None:
    """A naive datetime for the action's instant is a ValidationError."""
    naive = pendulum.naive(2026, 11, 23, 11)
    with pytest.raises(ValidationError) as info:
        WF.apply(report(), Action.REGISTER, actor="d", role=CaseRole.DISPATCHER, at=naive)
    assert "at" == info.value.path


def test_unknown_category_is_refused() -> None:
    """Reporting in a category the catalogue lacks is a ValidationError on ``category``."""
    with pytest.raises(ValidationError) as info:
        report("astrology")
    assert "category" == info.value.path


def test_report_in_an_uncovered_year_raises_coverage_error() -> None:
    """In strict mode a case whose deadline falls in a year without an announcement is refused."""
    strict = CaseWorkflow(attrs.evolve(CAL, beyond="refuse"))
    with pytest.raises(CalendarCoverageError):
        report(at=pendulum.datetime(2027, 3, 1, 10, tz=TZ), workflow=strict)


def test_waiting_on_the_resident_stops_the_clock() -> None:
    """Two working days waiting for a corrected form move the handling deadline two days."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20)
    case = step(case, Action.START, CaseRole.HANDLER, 30)
    before = case.current_deadline
    assert before is not None
    wait_at = pendulum.datetime(2026, 11, 24, 9, tz=TZ)
    case = WF.apply(
        case,
        Action.WAIT_ON_RESIDENT,
        actor="w1",
        role=CaseRole.HANDLER,
        at=wait_at,
        note="缺少电费单，请补正",
    ).case
    assert case.next_check is None or case.current_deadline is not None
    resumed = WF.apply(
        case, Action.RESUME, actor="w1", role=CaseRole.HANDLER, at=wait_at.add(days=2)
    ).case
    after = resumed.current_deadline
    assert after is not None
    expected = CAL.add_working_days(before.due, 2)
    assert (expected, None) == (after.due, after.paused_at)


def test_a_paused_case_is_not_scheduled_for_escalation() -> None:
    """While a case waits on the resident, the engine has nothing to look at."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20)
    case = step(case, Action.START, CaseRole.HANDLER, 30)
    case = step(case, Action.WAIT_ON_RESIDENT, CaseRole.HANDLER, 40, note="待补材料")
    assert case.next_check is None


def test_approved_extension_moves_the_deadline() -> None:
    """An approved extension of 5 working days adds them to the handling deadline."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20)
    case = step(case, Action.START, CaseRole.HANDLER, 30)
    old = case.current_deadline
    assert old is not None
    case = step(
        case,
        Action.REQUEST_EXTENSION,
        CaseRole.HANDLER,
        40,
        note="需协调物业",
        extension=TimeLimit(5, TimeUnit.WORKING_DAYS),
    )
    case = step(case, Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, 50)
    new = case.current_deadline
    assert new is not None
    assert (CAL.add_working_days(old.due, 5), None) == (new.due, case.requested_extension)


def test_parking_needs_an_approved_extension_first() -> None:
    """A case is parked (挂账) only after an approved extension."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20)
    case = step(case, Action.START, CaseRole.HANDLER, 30)
    with pytest.raises(TransitionError):
        step(case, Action.PARK, CaseRole.SUPERVISOR, 40, note="需市级资金")
    case = step(
        case,
        Action.REQUEST_EXTENSION,
        CaseRole.HANDLER,
        40,
        note="需协调",
        extension=TimeLimit(5, TimeUnit.WORKING_DAYS),
    )
    case = step(case, Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, 50)
    case = step(case, Action.PARK, CaseRole.SUPERVISOR, 60, note="需市级资金，书面说明已存档")
    deadline = case.current_deadline
    assert deadline is not None
    assert (CaseState.PARKED, MONDAY.add(minutes=60)) == (case.state, deadline.paused_at)


def test_reopen_after_dissatisfied_call_back_starts_a_new_round() -> None:
    """A dissatisfied call-back reopens the case with a fresh handling limit."""
    case = handled(report())
    case = step(case, Action.VERIFY, CaseRole.VERIFIER, 90)
    case = step(case, Action.CLOSE, CaseRole.DISPATCHER, 100)
    case = step(
        case, Action.EVALUATE, CaseRole.DISPATCHER, 120, satisfaction=Satisfaction.DISSATISFIED
    )
    case = step(case, Action.REOPEN, CaseRole.DISPATCHER, 130, note="居民不满意，杂物未清完")
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 140)
    deadline = case.current_deadline
    assert deadline is not None
    expected = (CaseState.DISPATCHED, MONDAY.add(minutes=140), 2)
    handling_rounds = sum(1 for d in case.deadlines if d.stage is Stage.HANDLING)
    assert expected == (case.state, deadline.start, handling_rounds)


def test_reopen_after_a_satisfied_call_back_is_refused() -> None:
    """Only a dissatisfied call-back reopens a case."""
    case = handled(report())
    case = step(case, Action.VERIFY, CaseRole.VERIFIER, 90)
    case = step(case, Action.CLOSE, CaseRole.DISPATCHER, 100)
    case = step(
        case, Action.EVALUATE, CaseRole.DISPATCHER, 120, satisfaction=Satisfaction.SATISFIED
    )
    with pytest.raises(TransitionError):
        step(case, Action.REOPEN, CaseRole.DISPATCHER, 130, note="再看看")


def test_dispatch_to_the_community_changes_owner_and_level() -> None:
    """Dispatching to the community committee makes it the owner, from that instant."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20, to=COMMUNITY, worker="s1")
    expected = (COMMUNITY.code, GridLevel.COMMUNITY, "s1", MONDAY.add(minutes=20))
    assert expected == (case.owner_cell, case.owner_level, case.owner_worker, case.level_since)


def test_state_change_event_names_the_action_and_states() -> None:
    """Every transition yields an event naming the action and the states."""
    t = WF.apply(report(), Action.REGISTER, actor="d1", role=CaseRole.DISPATCHER, at=MONDAY)
    expected = (
        CaseStateChanged("c1", GRID.code, MONDAY, "register", "reported", "registered", "d1"),
    )
    assert expected == t.events


def test_steps_cannot_go_back_in_time() -> None:
    """An action dated before the case's last step is refused."""
    with pytest.raises(ValidationError) as info:
        step(report(), Action.REGISTER, CaseRole.DISPATCHER, -5)
    assert "at" == info.value.path


def test_allowed_lists_the_actions_of_a_role_in_a_state() -> None:
    """A handler of a dispatched case may start it or return it."""
    case = step(report(), Action.REGISTER, CaseRole.DISPATCHER, 10)
    case = step(case, Action.DISPATCH, CaseRole.DISPATCHER, 20)
    assert (Action.RETURN, Action.START) == WF.allowed(case, CaseRole.HANDLER)


def test_repr_masks_the_reporter_and_hides_the_address() -> None:
    """No name, phone, address or description appears in a case's repr."""
    case = report()
    text = repr(case) + repr(case.reporter) + repr(case.location)
    leaked = [s for s in ("王小明", "13800138000", "明宫小区", "楼道") if s in text]
    assert [] == leaked


def test_cases_round_trip_through_serialization() -> None:
    """A case with history and deadlines survives unstructure and structure."""
    case = handled(report())
    assert case == structure(unstructure(case), Case)


ROLES = list(CaseRole)
ACTIONS = list(Action)


class Lifecycle(RuleBasedStateMachine):
    """Random actions by random roles: legal ones advance, illegal ones change nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.case = report()
        self.minutes = 0

    @rule(action=st.sampled_from(ACTIONS), role=st.sampled_from(ROLES), gap=st.integers(0, 3000))
    def act(self, action: Action, role: CaseRole, gap: int) -> None:
        """Try ``action`` as ``role`` ``gap`` minutes after the previous step."""
        self.minutes += gap
        at = MONDAY.add(minutes=self.minutes)
        before = self.case
        rule_ = TRANSITIONS[action]
        try:
            self.case = WF.apply(
                before,
                action,
                actor="u",
                role=role,
                at=at,
                note="说明",
                extension=TimeLimit(2, TimeUnit.WORKING_DAYS),
                satisfaction=Satisfaction.DISSATISFIED,
                duplicate_of="c-first",
            ).case
        except TransitionError:
            legal = before.state in rule_.sources and role in rule_.roles
            # Parking and reopening have conditions; a duplicate is never called back.
            assert (not legal) or action in (Action.PARK, Action.REOPEN) or before.is_duplicate
            return
        assert (rule_.target, True) == (self.case.state, role in rule_.roles)
        assert before.history == self.case.history[: len(before.history)]

    @invariant()
    def deadlines_are_consistent(self) -> None:
        """At most one unmet deadline runs per stage and the current one matches the state."""
        current = self.case.current_deadline
        if self.case.state.stage is None:
            assert current is None
        elif current is not None:
            assert self.case.state.stage is current.stage

    @invariant()
    def closed_cases_are_not_scheduled(self) -> None:
        """A case that is no longer open is never due for escalation."""
        if not self.case.is_open:
            assert self.case.next_check is None


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


@given(st.sampled_from(["consultation", "help", "complaint", "emergency", "utilities"]))
def test_every_category_reports_with_a_registration_deadline(category: str) -> None:
    """Any default category yields a case whose next check is its registration deadline."""
    case = report(category)
    deadline = case.current_deadline
    assert deadline is not None
    assert (Stage.REGISTRATION, deadline.due) == (deadline.stage, case.next_check)


def test_evolving_a_case_with_a_bad_field_is_a_validation_error() -> None:
    """Direct construction with a wrong type names the field."""
    with pytest.raises(ValidationError) as info:
        attrs.evolve(report(), state="closed")  # type: ignore[arg-type]
    assert "state" == info.value.path
