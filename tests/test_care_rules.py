"""Routine cadences and follow-up rules: the Minggong story and the other defaults."""

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.care import DEFAULT_POLICY, ContactMethod, assess
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState, TaskStatus
from gridgov.care.rules import (
    FollowUpRules,
    _last_reached,
    _shift,
    follow_up,
    paused,
    plan_routine,
)
from gridgov.errors import ValidationError
from gridgov.households import (
    Address,
    ForwardingContact,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
    Tag,
)

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
CELL = "610102003006001001"


def tian(status: HouseholdStatus = HouseholdStatus.RESIDENT) -> Household:
    """Return 田大爷's household: 71, living alone (the article's story)."""
    r = Resident(
        "r1",
        "田林",
        birth_date=pendulum.Date(1955, 5, 1),
        tags={Tag.LIVING_ALONE},
        living_arrangement=LivingArrangement.ALONE,
    )
    forwarding = (
        ForwardingContact("未央区", "13912345678") if status is HouseholdStatus.RELOCATED else None
    )
    return Household(
        "h1", CELL, Address("铁一村"), status=status, members=(r,), forwarding=forwarding
    )


def contact(
    outcome: Outcome, at: pendulum.DateTime, method: ContactMethod = ContactMethod.PHONE
) -> ContactAttempt:
    """Return a contact with Tian."""
    return ContactAttempt(f"c{at.int_timestamp}", "r1", "h1", CELL, method, outcome, "w1", at)


def test_routine_tasks_follow_the_tier_cadences() -> None:
    """A general-tier elder never contacted owes a visit and a call, due now."""
    h = tian()
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    tasks = plan_routine(a, [], [], now=NOW)
    assert [(ContactMethod.HOME_VISIT, NOW), (ContactMethod.PHONE, NOW)] == [
        (t.method, t.due) for t in tasks
    ]
    assert "general tier: home visit every 90 days; no home visit on record" == tasks[0].reason_en


def test_next_routine_task_is_one_cadence_after_the_last_reaching_contact() -> None:
    """A call that reached the resident moves the next call one cadence (30 days) later."""
    h = tian()
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    last = contact(Outcome.WELL, NOW.subtract(days=10))
    unanswered = contact(Outcome.NO_ANSWER, NOW.subtract(days=2))
    (visit, call) = plan_routine(a, [last, unanswered], [], now=NOW)
    assert last.at.add(days=30) == call.due
    assert TaskStatus.UPCOMING == call.status(NOW)
    assert TaskStatus.DUE == visit.status(NOW)


def test_relocated_households_are_called_instead_of_visited() -> None:
    """A relocated household's visit cadence becomes a phone task, and says why."""
    h = tian(HouseholdStatus.RELOCATED)
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    tasks = plan_routine(a, [], [], now=NOW)
    assert [ContactMethod.PHONE] == [t.method for t in tasks]
    assert "(已外迁,改为电话)" in tasks[0].reason_zh


def test_the_minggong_story() -> None:
    """An evasive "all fine" leads to a second call; "unwell" to notifying family and a visit."""
    first = contact(Outcome.EVASIVE, NOW)
    plan = follow_up(first, [], [])
    assert [(TaskKind.FOLLOW_UP, ContactMethod.PHONE, NOW.add(hours=1))] == [
        (t.kind, t.method, t.due) for t in plan.create
    ]
    second = contact(Outcome.UNWELL, NOW.add(minutes=30))
    plan2 = follow_up(second, [first], list(plan.create))
    assert [
        (TaskKind.NOTIFY_CONTACT, second.at.add(hours=1)),
        (TaskKind.FOLLOW_UP, second.at.add(hours=24)),
    ] == [(t.kind, t.due) for t in plan2.create]
    assert [(plan.create[0].id, TaskState.DONE)] == [(t.id, t.state) for t in plan2.close]


def test_two_unanswered_calls_lead_to_a_visit_within_two_hours() -> None:
    """The first unanswered call asks for another call, the second for a visit within 2 h."""
    first = contact(Outcome.NO_ANSWER, NOW)
    second = contact(Outcome.NO_ANSWER, NOW.add(hours=1))
    plan = follow_up(second, [first], [])
    assert [(ContactMethod.HOME_VISIT, second.at.add(hours=2))] == [
        (t.method, t.due) for t in plan.create
    ]
    assert () == plan.close


def test_hospitalisation_pauses_the_cadence() -> None:
    """A hospitalisation cancels routine visits and plans no new ones until reached again."""
    h = tian()
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    visit, call = plan_routine(a, [], [], now=NOW)
    hospital = contact(Outcome.HOSPITALISED, NOW)
    plan = follow_up(hospital, [], [visit, call])
    # The call that learnt of the hospital stay did the routine call; the visit is off.
    assert ([call.id], [visit.id]) == ([t.id for t in plan.close], [t.id for t in plan.cancel])
    assert [ContactMethod.PHONE] == [t.method for t in plan.create]
    assert () == plan_routine(a, [hospital], [], now=NOW.add(days=3))
    back_home = contact(Outcome.WELL, NOW.add(days=8))
    assert 2 == len(plan_routine(a, [hospital, back_home], [], now=NOW.add(days=8)))


@pytest.mark.parametrize("outcome", [Outcome.DECEASED, Outcome.MOVED])
def test_death_or_move_closes_every_task(outcome: Outcome) -> None:
    """A deceased or moved resident's open tasks are all cancelled, and none planned."""
    h = tian()
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    routine = plan_routine(a, [], [], now=NOW)
    c = contact(outcome, NOW, ContactMethod.HOME_VISIT)
    plan = follow_up(c, [], list(routine))
    assert ({TaskState.CANCELLED}, ()) == ({t.state for t in plan.cancel}, plan.create)
    assert () == plan_routine(a, [c], [], now=NOW.add(days=40))


def test_a_visit_closes_open_calls_too() -> None:
    """A home visit that reached the resident fulfils open phone and visit tasks alike."""
    h = tian()
    a = assess(h.members[0], h, DEFAULT_POLICY, on=NOW.date())
    routine = plan_routine(a, [], [], now=NOW)
    plan = follow_up(contact(Outcome.WELL, NOW, ContactMethod.HOME_VISIT), [], list(routine))
    assert {t.id for t in routine} == {t.id for t in plan.close}


def test_follow_up_rules_are_configurable_and_validated() -> None:
    """Delays come from FollowUpRules; a zero delay is rejected naming the field."""
    plan = follow_up(
        contact(Outcome.NO_ANSWER, NOW), [], [], rules=FollowUpRules(second_call_within=15)
    )
    assert NOW.add(minutes=15) == plan.create[0].due
    with pytest.raises(ValidationError) as info:
        FollowUpRules(visit_after_unanswered_within=0)
    assert "visit_after_unanswered_within" == info.value.path


def test_task_window_must_be_ordered() -> None:
    """A task whose due instant precedes its start is rejected."""
    with pytest.raises(ValidationError):
        CareTask(
            "t1",
            "r1",
            "h1",
            CELL,
            TaskKind.ROUTINE,
            ContactMethod.PHONE,
            start=NOW,
            due=NOW.subtract(hours=1),
            end=NOW,
            reason_en="x",
            reason_zh="x",
            rule="r",
        )


def test_naive_contact_instant_is_rejected() -> None:
    """A contact at a naive datetime is a ValidationError naming ``at``."""
    naive = pendulum.naive(2026, 11, 28, 9)
    with pytest.raises(ValidationError) as info:
        ContactAttempt("c1", "r1", "h1", CELL, ContactMethod.PHONE, Outcome.WELL, "w1", naive)
    assert "at" == info.value.path


_ZONES = ("Asia/Shanghai", "Europe/London", "America/New_York", "UTC")


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.integers(min_value=0, max_value=4_000_000_000),
    zone=st.sampled_from(_ZONES),
    fixed=st.booleans(),
    days=st.integers(min_value=0, max_value=400),
    extra=st.integers(min_value=0, max_value=200_000),
    sign=st.sampled_from((1, -1)),
)
def test_the_rules_shift_instants_as_pendulum_does(
    seconds: int, zone: str, fixed: bool, days: int, extra: int, sign: int
) -> None:
    """_shift gives pendulum's instant, zone, offset and type, at a fixed offset or in a zone."""
    instant = pendulum.from_timestamp(seconds, tz=zone)
    if fixed:  # as read from a file or a store: the offset only
        parsed = pendulum.parse(instant.isoformat())
        assert isinstance(parsed, pendulum.DateTime)
        instant = parsed
    span = pendulum.duration(days=days, seconds=extra)
    expected = instant + span if sign > 0 else instant - span
    actual = _shift(instant, span, sign)
    assert (type(expected), expected.isoformat(), expected.tzinfo) == (
        type(actual),
        actual.isoformat(),
        actual.tzinfo,
    )


@given(why=st.text(max_size=210))
def test_closing_a_task_changes_its_state_and_reason_only(why: str) -> None:
    """Closing equals attrs.evolve of state and reason, and checks the reason as evolve does."""
    task = plan_routine(
        assess(tian().members[0], tian(), DEFAULT_POLICY, on=NOW.date()), [], [], now=NOW
    )[0]
    for state, close in ((TaskState.DONE, task.done), (TaskState.CANCELLED, task.cancelled)):
        expected: object
        try:
            expected = attrs.evolve(task, state=state, closed_by=why)
        except ValidationError as exc:
            expected = (exc.path, str(exc))
        try:
            actual: object = close(why)
        except ValidationError as exc:
            actual = (exc.path, str(exc))
        assert expected == actual


def _paused_by_sorting(contacts: list[ContactAttempt]) -> str | None:
    """Return why routine contacts stop, as the rules first found it: by sorting the history."""
    for c in sorted(contacts, key=lambda c: c.at, reverse=True):
        if c.outcome in (Outcome.DECEASED, Outcome.MOVED):
            return str(c.outcome.value)
        if c.outcome is Outcome.HOSPITALISED:
            return "hospitalised"
        if c.outcome.reached or c.outcome is Outcome.DISCHARGED:
            return None
    return None


@given(
    history=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5),
            st.sampled_from(Outcome),
            st.sampled_from(ContactMethod),
        ),
        max_size=12,
    )
)
def test_the_rules_read_a_history_in_one_pass_as_sorting_it_reads_it(
    history: list[tuple[int, Outcome, ContactMethod]],
) -> None:
    """Paused and _last_reached find what sorting the history and taking the maximum find."""
    contacts = [
        ContactAttempt(f"c{i}", "r1", "h1", CELL, method, outcome, "w1", NOW.add(hours=hour))
        for i, (hour, outcome, method) in enumerate(history)
    ]
    for method in ContactMethod:
        reached = [c for c in contacts if c.outcome.reached and c.method.satisfies(method)]
        expected = max(reached, key=lambda c: (c.at, c.id), default=None)
        assert expected == _last_reached(contacts, method)
    assert _paused_by_sorting(contacts) == paused(contacts)
