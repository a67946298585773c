"""The outbox from the services' side, and the relay over a publisher that records or fails."""

from collections.abc import Iterator, Sequence

import pendulum
import pytest

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
from gridgov.care.contacts import Outcome
from gridgov.errors import ConflictError, ValidationError
from gridgov.households import EmergencyContact
from gridgov.outbox import StoredEvent, cloud_event
from gridgov.outbox.relay import Message, Relay, message_of, subject_of
from gridgov.services.care import record_contact
from gridgov.testing import ManualClock, leaked

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
GRID = "610102003006001"
BUILDING = f"{GRID}001"
SECRETS = (
    "田秀兰",
    "610102194403120024",
    "13587654321",
    "田小明",
    "13812345678",
    "铁一村1号楼3单元",
)


@pytest.fixture(params=["memory://", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    """Return a memory or SQLite store holding one elder living alone, with a son to call."""
    url = request.param if request.param == "memory://" else f"sqlite:///{tmp_path}/o.db"
    s = open_store(url)
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
            GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        elder = Resident(
            "r1",
            SECRETS[0],
            national_id=SECRETS[1],
            phone=SECRETS[2],
            tags={Tag.LIVING_ALONE},
            living_arrangement=LivingArrangement.ALONE,
            emergency_contacts=(EmergencyContact(SECRETS[3], SECRETS[4], relationship="儿子"),),
        )
        uow.households.add(Household("h1", BUILDING, Address(SECRETS[5]), members=(elder,)))
        uow.commit()
    yield s
    s.close()


def _call(store: Store, outcome: Outcome, minutes: int, *, commit: bool = True) -> None:
    at = NOW.add(minutes=minutes)
    with store() as uow:
        record_contact(
            uow,
            resident_id="r1",
            method=ContactMethod.PHONE,
            outcome=outcome,
            by="w1",
            at=at,
            now=at,
        )
        if commit:
            uow.commit()


def _pending(store: Store) -> tuple[StoredEvent, ...]:
    with store() as uow:
        return uow.outbox.pending(limit=1000)


def test_a_missed_elder_leaves_the_events_of_the_story_in_order(store: Store) -> None:
    """Two missed calls, then "unwell": each call's contact and tasks, the family to notify."""
    _call(store, Outcome.NO_ANSWER, 0)
    _call(store, Outcome.NO_ANSWER, 30)
    _call(store, Outcome.UNWELL, 60)
    by_call: dict[pendulum.DateTime, list[str]] = {}
    for e in _pending(store):
        by_call.setdefault(e.recorded, []).append(e.type.removeprefix("care."))
    expected = [
        ["contact_recorded", "follow_up_due", "task_planned", "task_planned"],
        ["contact_recorded", "follow_up_due"],
        [
            "contact_recorded",
            "family_to_notify",
            "follow_up_due",
            "task_done",
            "task_done",
            "task_planned",
        ],
    ]
    assert expected == [sorted(types) for types in by_call.values()]


def test_a_rolled_back_contact_leaves_no_event(store: Store) -> None:
    """A contact whose unit of work is not committed leaves nothing in the outbox."""
    _call(store, Outcome.NO_ANSWER, 0, commit=False)
    assert () == _pending(store)


def test_events_of_a_care_story_hold_no_personal_data(store: Store) -> None:
    """No name, ID number, phone or address of the elder or the family in any event."""
    _call(store, Outcome.NO_ANSWER, 0)
    _call(store, Outcome.NO_ANSWER, 30)
    _call(store, Outcome.UNWELL, 60)
    texts = [m.data.decode() for m in map(message_of, _pending(store))]
    assert (True, []) == (len(texts) >= 5, leaked(texts, SECRETS))


def test_a_cloud_event_is_structured_cloudevents_1_0(store: Store) -> None:
    """The envelope has the required attributes, an RFC 3339 time and the extensions."""
    _call(store, Outcome.NO_ANSWER, 0)
    event = next(e for e in _pending(store) if e.type == "care.contact_recorded")
    envelope = cloud_event(event, source="urn:gridgov:610102")
    assert {
        "specversion": "1.0",
        "id": event.id,
        "source": "urn:gridgov:610102",
        "type": "gridgov.care.contact_recorded",
        "subject": event.aggregate_id,
        "time": "2026-11-28T09:00:00+08:00",
        "datacontenttype": "application/json",
        "sequence": "000000000001",
        "aggregate": "contact",
        "aggregateid": event.aggregate_id,
        "cellcode": BUILDING,
    } == {k: v for k, v in envelope.items() if k != "data"}


def _event(type_: str, cell_code: str) -> StoredEvent:
    return StoredEvent(
        id="e1",
        type=type_,
        aggregate="case",
        aggregate_id="c1",
        sequence=1,
        cell_code=cell_code,
        at=NOW,
        data="{}",
        recorded=NOW,
    )


def test_subjects_name_the_type_and_a_token_safe_cell() -> None:
    """``gridgov.<type>.<cell>``; dots, stars and spaces in a cell code become ``_``."""
    assert "gridgov.case.escalated.61_01___" == subject_of(_event("case.escalated", "61.01 *>"))


class Recording:
    """A publisher that keeps what it is sent; it acknowledges only ``accept`` messages a call."""

    def __init__(self, accept: Sequence[int] = ()) -> None:
        self.sent: list[Message] = []
        self.accept = list(accept)

    def publish(self, messages: Sequence[Message]) -> int:
        """Keep the messages acknowledged."""
        n = self.accept.pop(0) if self.accept else len(messages)
        self.sent.extend(messages[:n])
        return n

    def close(self) -> None:
        """Nothing to release."""


def _events(store: Store, n: int) -> None:
    for i in range(n):
        _call(store, Outcome.WELL, i)


def test_the_relay_publishes_every_event_once_in_order_and_marks_them(store: Store) -> None:
    """Batches of 2: every event published in the outbox's order, then none pending."""
    _events(store, 3)
    expected = [e.id for e in _pending(store)]
    publisher = Recording()
    report = Relay(store, publisher, batch_size=2).run(until_empty=True)
    assert (expected, (), len(expected)) == (
        [m.id for m in publisher.sent],
        _pending(store),
        report.published,
    )


def test_a_partly_acknowledged_batch_is_retried_from_the_first_not_acknowledged(
    store: Store,
) -> None:
    """A broker that takes 1 of a batch, then fails, then recovers: each event once, in order."""
    _events(store, 2)
    expected = [e.id for e in _pending(store)]
    publisher = Recording(accept=[1, 0])
    report = Relay(store, publisher, batch_size=100, backoff=0.01).run(until_empty=True)
    assert (expected, 2) == ([m.id for m in publisher.sent], report.failures)


def test_published_events_are_pruned_after_the_retention_but_each_records_last(
    store: Store,
) -> None:
    """Events published longer ago than the retention go, except each record's last one."""
    _call(store, Outcome.NO_ANSWER, 0)
    _call(store, Outcome.NO_ANSWER, 30)
    _call(store, Outcome.WELL, 60)
    recorded = _pending(store)
    clock = ManualClock(NOW)
    relay = Relay(store, Recording(), retention=pendulum.duration(days=1), clock=clock)
    relay.run(until_empty=True)
    clock.advance(pendulum.duration(days=2))
    pruned = relay.prune()
    last = {e.key: e.sequence for e in sorted(recorded, key=lambda e: e.sequence)}
    with store() as uow:
        stored = {e.id for r in recorded for e in uow.outbox.for_aggregate(*r.key)}
    kept = [e.id for e in recorded if e.id in stored]
    expected = [e.id for e in recorded if e.sequence == last[e.key]]
    assert (len(recorded) - len(expected), expected) == (pruned, kept)


def test_bad_relay_settings_are_refused(store: Store) -> None:
    """A batch size of 0, a subject prefix with a star and a zero backoff: ValidationErrors."""
    paths = []
    for kwargs in ({"batch_size": 0}, {"subject_prefix": "a.*"}, {"backoff": 0}):
        with pytest.raises(ValidationError) as info:
            Relay(store, Recording(), **kwargs)
        paths.append(info.value.path)
    assert ["batch_size", "subject_prefix", "backoff"] == paths


def test_a_refusing_relay_conflict_is_retryable() -> None:
    """A partly acknowledged batch is reported as a retryable conflict by ``relay_once``."""
    s = open_store("memory://")
    with s() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.outbox.add(_event("case.reported", "610102"))
        uow.commit()
    with pytest.raises(ConflictError) as info:
        Relay(s, Recording(accept=[0])).relay_once()
    assert info.value.retryable
