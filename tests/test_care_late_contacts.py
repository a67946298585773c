"""Contacts recorded out of order, or twice, one by one or as a phone's queue: all kept once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridgov import (
    Address,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    Resident,
    Store,
    Tag,
    open_store,
)
from gridgov.care import ContactMethod
from gridgov.care.contacts import ContactAttempt, Outcome, TaskKind
from gridgov.errors import ConflictError, ValidationError
from gridgov.services.care import _contact_id, plan_tasks, record_contact
from gridgov.services.sync import QueuedContact, SyncedContact, sync_contacts

TZ = "Asia/Shanghai"
BASE = pendulum.datetime(2026, 11, 23, 8, 0, tz=TZ)  # Monday 08:00
SYNC = BASE.add(days=3, hours=12)  # when the phone syncs: after every contact
GRID = "610102003006001"
B1 = f"{GRID}001"


@attrs.frozen
class Sent:
    """A contact as a phone sends it: how, what it found, when."""

    method: ContactMethod
    outcome: Outcome
    at: pendulum.DateTime


def seeded(url: str = "memory://") -> Store:
    """Return a store with one grid, one building and an 83-year-old living alone."""
    s = open_store(url)
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
            GridCell(B1, "铁一村1号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        elder = Resident(
            "r1",
            "居民r1",
            birth_date=pendulum.Date(1943, 1, 1),
            tags={Tag.LIVING_ALONE},
            living_arrangement=LivingArrangement.ALONE,
        )
        uow.households.add(Household("h1", B1, Address("1号楼"), members=(elder,)))
        uow.commit()
    return s


State = tuple[list[tuple[object, ...]], list[tuple[object, ...]]]


def recorded(order: Sequence[Sent], *, planned_at: pendulum.DateTime | None = None) -> State:
    """Record ``order`` one contact per unit of work at SYNC; return stored contacts, open tasks.

    With ``planned_at``, the daily job plans the routine tasks at that instant first.
    """
    store = seeded()
    if planned_at is not None:
        with store() as uow:
            plan_tasks(uow, GRID, now=planned_at)
            uow.commit()
    for sent in order:
        with store() as uow:
            record_contact(
                uow,
                resident_id="r1",
                method=sent.method,
                outcome=sent.outcome,
                by="w1",
                at=sent.at,
                now=SYNC,
            )
            uow.commit()
    with store() as uow:
        contacts = uow.contacts.for_resident("r1", limit=100).items
        tasks = uow.care_tasks.open_for_resident("r1")
    store.close()
    return (
        sorted((c.id, c.method, c.outcome, c.at) for c in contacts),
        sorted((t.id, t.kind, t.method, t.rule, t.start, t.due, t.end, t.reason_en) for t in tasks),
    )


def in_time_order(sent: Sequence[Sent]) -> list[Sent]:
    """Return the distinct contacts of ``sent`` by instant, ties by id as the rules break them."""

    def order(s: Sent) -> tuple[pendulum.DateTime, str]:
        contact = ContactAttempt("c.x", "r1", "h1", B1, s.method, s.outcome, "w1", s.at)
        return (s.at, _contact_id(contact))

    return sorted(set(sent), key=order)


def open_kinds(state: State) -> list[tuple[object, object]]:
    """Return the kind and method of each open task, sorted."""
    return sorted(((t[1], t[2]) for t in state[1]), key=str)


CALL, VISIT = ContactMethod.PHONE, ContactMethod.HOME_VISIT
WELL, NO_ANSWER, UNWELL = Outcome.WELL, Outcome.NO_ANSWER, Outcome.UNWELL


def test_a_call_logged_for_earlier_after_a_later_one_is_stored() -> None:
    """A call at 08:50, then one logged for 08:20: both stored, tasks as in time order."""
    late = [Sent(CALL, WELL, BASE.add(minutes=50)), Sent(CALL, WELL, BASE.add(minutes=20))]

    arrived = recorded(late)

    assert (recorded(in_time_order(late)), 2) == (arrived, len(arrived[0]))


def test_a_visit_before_a_call_recorded_after_it_is_stored() -> None:
    """A call at 08:55 recorded first, then a visit at 08:51: both stored, tasks as in order."""
    late = [Sent(CALL, WELL, BASE.add(minutes=55)), Sent(VISIT, WELL, BASE.add(minutes=51))]

    arrived = recorded(late)

    assert (recorded(in_time_order(late)), 2) == (arrived, len(arrived[0]))


def test_two_missed_calls_in_reverse_still_call_for_a_visit() -> None:
    """Unanswered calls at 11:00 then 10:00 give the visit two unanswered calls call for."""
    late = [
        Sent(CALL, NO_ANSWER, SYNC.subtract(hours=1)),
        Sent(CALL, NO_ANSWER, SYNC.subtract(hours=2)),
    ]

    arrived = recorded(late)

    assert (recorded(in_time_order(late)), True) == (
        arrived,
        (TaskKind.FOLLOW_UP, VISIT) in open_kinds(arrived),
    )


def test_a_reached_call_between_two_missed_ones_cancels_the_visit() -> None:
    """A reached call at 10:30 arriving after missed calls at 10:00 and 11:00: no visit owed."""
    late = [
        Sent(CALL, NO_ANSWER, SYNC.subtract(hours=2)),
        Sent(CALL, NO_ANSWER, SYNC.subtract(hours=1)),
        Sent(CALL, WELL, SYNC.subtract(minutes=90)),
    ]

    arrived = recorded(late)

    assert (recorded(in_time_order(late)), False) == (
        arrived,
        (TaskKind.FOLLOW_UP, VISIT) in open_kinds(arrived),
    )


def test_an_unwell_call_before_a_well_one_still_asks_to_tell_the_family() -> None:
    """An unwell call at 11:00 arriving after a well one at 11:30: the family is still told."""
    late = [Sent(CALL, WELL, SYNC.subtract(minutes=30)), Sent(CALL, UNWELL, SYNC.subtract(hours=1))]

    arrived = recorded(late)

    assert (recorded(in_time_order(late)), True) == (
        arrived,
        (TaskKind.NOTIFY_CONTACT, CALL) in open_kinds(arrived),
    )


@pytest.mark.parametrize("days", [-2, 1, 3])
def test_a_late_contact_before_or_after_a_routine_window_is_as_in_time_order(days: int) -> None:
    """Routine tasks planned on Monday; a visit then a call logged later, in reverse order."""
    late = [
        Sent(CALL, WELL, BASE.add(days=max(days, 0), hours=2)),
        Sent(VISIT, WELL, BASE.add(days=days)),
    ]

    assert recorded(in_time_order(late), planned_at=BASE.subtract(days=3)) == recorded(
        late, planned_at=BASE.subtract(days=3)
    )


def test_a_contact_sent_twice_is_stored_once() -> None:
    """The same contact sent again is stored once, and the second sending changes nothing."""
    sent = [Sent(CALL, NO_ANSWER, BASE), Sent(CALL, NO_ANSWER, BASE)]

    assert recorded(sent[:1]) == recorded(sent)


def test_a_caller_contact_id_naming_another_contact_says_no_retry_helps() -> None:
    """A contact id that a different stored contact holds is refused, not retryable."""
    store = seeded()
    with store() as uow:
        record_contact(
            uow,
            resident_id="r1",
            method=CALL,
            outcome=WELL,
            by="w1",
            at=BASE,
            now=SYNC,
            contact_id="phone-1",
        )
        uow.commit()
    with store() as uow, pytest.raises(ConflictError) as info:
        record_contact(
            uow,
            resident_id="r1",
            method=CALL,
            outcome=NO_ANSWER,
            by="w1",
            at=BASE,
            now=SYNC,
            contact_id="phone-1",
        )
    store.close()

    assert (False, "phone-1") == (info.value.retryable, info.value.taken)


SENT = st.builds(
    Sent,
    st.sampled_from([CALL, VISIT, ContactMethod.VIDEO]),
    st.sampled_from(list(Outcome)),
    st.one_of(st.sampled_from([0, 30, 60]), st.integers(min_value=0, max_value=3 * 24 * 60)).map(
        lambda minutes: BASE.add(minutes=minutes)
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=st.lists(SENT, min_size=1, max_size=5, unique=True),
    planned=st.booleans(),
    data=st.data(),
)
def test_contacts_in_any_order_leave_what_time_order_leaves(
    contacts: list[Sent], planned: bool, data: st.DataObject
) -> None:
    """Any order of contacts, some sent twice, leaves the contacts and open tasks of time order."""
    shuffled = data.draw(st.permutations(contacts))
    repeats = data.draw(st.lists(st.sampled_from(contacts), max_size=2))
    at = data.draw(st.integers(min_value=0, max_value=len(shuffled)))
    arrived = [*shuffled[:at], *repeats, *shuffled[at:]]
    planned_at = BASE.subtract(days=2) if planned else None

    assert recorded(in_time_order(contacts), planned_at=planned_at) == recorded(
        arrived, planned_at=planned_at
    )


def _state(store: Store) -> State:
    """Return the stored contacts and open tasks of r1, as ``recorded`` does."""
    with store() as uow:
        contacts = uow.contacts.for_resident("r1", limit=100).items
        tasks = uow.care_tasks.open_for_resident("r1")
    return (
        sorted((c.id, c.method, c.outcome, c.at) for c in contacts),
        sorted((t.id, t.kind, t.method, t.rule, t.start, t.due, t.end, t.reason_en) for t in tasks),
    )


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgresql"])
def test_contacts_recorded_at_once_leave_what_time_order_leaves(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four workers record four contacts of one elder at the same moment: as in time order."""
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'care.db'}",
    }.get(kind) or request.getfixturevalue("postgres_schema")
    sent = [
        Sent(CALL, NO_ANSWER, BASE),
        Sent(CALL, NO_ANSWER, BASE.add(hours=3)),
        Sent(VISIT, WELL, BASE.add(days=1)),
        Sent(CALL, UNWELL, BASE.add(days=2)),
    ]
    store = seeded(url)
    gate = threading.Barrier(len(sent))

    def record(one: Sent) -> None:
        gate.wait(timeout=30)
        for _ in range(50):
            try:
                with store() as uow:
                    record_contact(
                        uow,
                        resident_id="r1",
                        method=one.method,
                        outcome=one.outcome,
                        by="w1",
                        at=one.at,
                        now=SYNC,
                    )
                    uow.commit()
                return
            except ConflictError as exc:
                if not exc.retryable:
                    raise

    threads = [threading.Thread(target=record, args=(one,)) for one in sent]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    at_once = _state(store)
    store.close()
    assert recorded(in_time_order(sent)) == at_once


# -- a phone's queue synced in one call (gridgov.services.sync) -----------------------------


def queued(i: int, sent: Sent, resident: str = "r1") -> QueuedContact:
    """Return the ``i``-th contact of a phone's queue."""
    return QueuedContact(f"phone.{i}", resident, sent.method, sent.outcome, "w1", sent.at)


def synced_state(queue: list[QueuedContact]) -> tuple[tuple[SyncedContact, ...], object, object]:
    """Sync ``queue`` into a fresh store; return the answers, stored contacts and open tasks."""
    store = seeded()
    answers = sync_contacts(store, queue, now=SYNC)
    with store() as uow:
        contacts = sorted(c.id for c in uow.contacts.for_resident("r1", limit=100).items)
        tasks = sorted((t.due, t.id) for t in uow.care_tasks.open_for_resident("r1"))
    store.close()
    return answers, contacts, tasks


def test_a_queue_out_of_order_is_kept_whole_and_answered_in_its_order() -> None:
    """A call at 08:50, one at 08:20 and a visit at 08:51 after a call at 08:55: all kept."""
    sent = [
        Sent(CALL, WELL, BASE.add(minutes=50)),
        Sent(CALL, WELL, BASE.add(minutes=20)),
        Sent(CALL, NO_ANSWER, BASE.add(minutes=55)),
        Sent(VISIT, WELL, BASE.add(minutes=51)),
    ]
    queue = [queued(i, s) for i, s in enumerate(sent)]

    answers, contacts, _ = synced_state(queue)

    assert [q.id for q in queue] == [a.id for a in answers]
    assert ([None] * 4, sorted(q.id for q in queue)) == ([a.error for a in answers], contacts)
    assert [q.at for q in queue] == [a.result.contact.at for a in answers if a.result]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(range(4)))
def test_any_order_of_a_queue_leaves_what_time_order_leaves(order: list[int]) -> None:
    """Whatever order the queue comes in, the store ends as with the queue in time order."""
    sent = [
        Sent(CALL, NO_ANSWER, BASE.add(minutes=10)),
        Sent(CALL, NO_ANSWER, BASE.add(hours=2)),
        Sent(CALL, WELL, BASE.add(hours=5)),
        Sent(VISIT, WELL, BASE.add(days=1)),
    ]
    queue = [queued(i, s) for i, s in enumerate(sent)]

    _, contacts, tasks = synced_state([queue[i] for i in order])

    assert synced_state(queue)[1:] == (contacts, tasks)


def test_a_queue_sent_twice_stores_each_contact_once() -> None:
    """Sent again, the queue is answered with the same contacts and nothing more is stored."""
    queue = [queued(i, Sent(CALL, WELL, BASE.add(minutes=10 * i))) for i in range(3)]
    store = seeded()
    first = sync_contacts(store, queue, now=SYNC)
    again = sync_contacts(store, queue, now=SYNC)
    with store() as uow:
        stored = uow.contacts.for_resident("r1", limit=100).items
    assert [a.result.contact for a in first if a.result] == [
        a.result.contact for a in again if a.result
    ]
    assert 3 == len(stored)


def test_a_refused_contact_does_not_hold_back_the_others() -> None:
    """An unknown resident and a contact in the future are refused; the rest are stored."""
    queue = [
        queued(0, Sent(CALL, WELL, BASE)),
        queued(1, Sent(CALL, WELL, BASE.add(minutes=5)), resident="nobody"),
        queued(2, Sent(CALL, WELL, SYNC.add(hours=1))),
        queued(3, Sent(VISIT, WELL, BASE.add(minutes=30))),
    ]

    answers, contacts, _ = synced_state(queue)

    assert [False, True, True, False] == [a.result is None for a in answers]
    assert ["phone.0", "phone.3"] == contacts
    assert (False, False) == (answers[1].retryable, answers[2].retryable)
    assert "resident" in (answers[1].error or "")


def test_a_queue_holding_something_else_is_refused_whole() -> None:
    """An item that is not a QueuedContact: ValidationError naming it, nothing stored."""
    store = seeded()
    with pytest.raises(ValidationError) as info:
        sync_contacts(store, [queued(0, Sent(CALL, WELL, BASE)), "call"], now=SYNC)  # type: ignore[list-item]
    with store() as uow:
        stored = uow.contacts.for_resident("r1", limit=100).items
    assert ("contacts[1]", ()) == (info.value.path, stored)


def test_a_naive_sync_instant_is_refused() -> None:
    """``now`` without a time zone is a ValidationError on ``now``."""
    with pytest.raises(ValidationError) as info:
        sync_contacts(seeded(), [], now=pendulum.naive(2026, 11, 26))
    assert "now" == info.value.path
