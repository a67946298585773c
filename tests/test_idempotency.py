"""Idempotency keys: a service called again with a key returns the first result, once done."""

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov import Store, open_store
from gridgov.access import Principal, Role
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome
from gridgov.cases import Action, CaseRole, CaseSource
from gridgov.errors import ConflictError, ValidationError
from gridgov.idempotency import RememberedRequest, forget_expired, idempotent
from gridgov.ports import UnitOfWork
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.scheduling.series import occurrence_id
from gridgov.services.care import record_contact
from gridgov.services.cases import act_on_case, report_case
from gridgov.services.scheduling import cancel_registration, register_for_occurrence, sign_up
from gridgov.services.scoped import scoped
from gridgov.settings import Settings

TZ = "Asia/Shanghai"
AT = pendulum.datetime(2026, 12, 7, 10, tz=TZ)
GRID = "610102003006001"
# Saturday's picture-book reading: open to all, 15 places.
READING = occurrence_id("picture-books", pendulum.datetime(2026, 12, 12, 10, tz=TZ))


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Return the Minggong example."""
    return load_scenario(example_path())


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, scenario: Scenario, tmp_path: Path) -> Iterator[Store]:
    """Return a store filled with the Minggong example."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'g.db'}"
    s = open_store(url, scheme=scenario.scheme)
    populate(s, attrs.evolve(scenario, contacts=(), registrations=()))
    yield s
    s.close()


def _twice(store: Store, call: Callable[[UnitOfWork, str], object]) -> tuple[object, object]:
    """Call ``call`` with one key in two committed units; return both results."""
    results = []
    for _ in range(2):
        with store() as uow:
            results.append(call(uow, "key-1"))
            uow.commit()
    return results[0], results[1]


def _keyed(
    call: Callable[[UnitOfWork, str], object], suffix: str, uow: UnitOfWork, key: str
) -> object:
    """Call ``call`` with ``key`` and ``suffix``: one key per kind of write."""
    return call(uow, key + suffix)


def _report(uow: UnitOfWork, key: str, description: str = "楼道灯坏了") -> object:
    principal = getattr(uow, "principal", None)  # a scoped unit acts as its principal
    return report_case(
        uow,
        category="help",
        source=CaseSource.HOTLINE_12345,
        cell_code=GRID,
        description=description,
        at=AT,
        actor=principal.id if isinstance(principal, Principal) else "w1",
        idempotency_key=key,
    )


def test_a_repeated_report_returns_the_first_case_without_events(store: Store) -> None:
    """Reported twice under one key: one case stored, the same case returned, no events twice."""
    first, again = _twice(store, _report)
    with store() as uow:
        stored = uow.cases.open_in_subtree(GRID, limit=100).items
    reported = [c for c in stored if c.description == "楼道灯坏了"]
    assert (first.case, (), [first.case]) == (again.case, again.events, reported)  # type: ignore[attr-defined]
    assert first.events  # type: ignore[attr-defined]


def test_a_key_reused_for_another_request_is_refused(store: Store) -> None:
    """The same key with other arguments is a ConflictError no retry helps; nothing stored."""
    _twice(store, _report)
    with store() as uow, pytest.raises(ConflictError) as info:
        _report(uow, "key-1", description="电梯坏了")
    assert False is info.value.retryable


def test_a_retry_received_later_is_the_same_request(store: Store) -> None:
    """A retry the server stamps minutes later (its at, its now) gets the first result."""
    resident = "h000001-1"
    calls: list[Callable[[UnitOfWork, str, pendulum.DateTime], object]] = [
        lambda uow, key, received: (
            report_case(
                uow,
                category="help",
                source=CaseSource.HOTLINE_12345,
                cell_code=GRID,
                description="楼道灯坏了",
                at=received,
                actor="w1",
                idempotency_key=key,
            ).case
        ),
        lambda uow, key, received: record_contact(
            uow,
            resident_id=resident,
            method=ContactMethod.PHONE,
            outcome=Outcome.WELL,
            by="w1",
            at=AT,
            now=received,
            idempotency_key=key,
        ),
        lambda uow, key, received: register_for_occurrence(
            uow, occurrence_id=READING, resident_id=resident, at=received, idempotency_key=key
        ),
    ]
    firsts: list[object] = []
    agains: list[object] = []
    for i, call in enumerate(calls):
        for results, received in ((firsts, AT), (agains, AT.add(minutes=3))):
            with store() as uow:
                results.append(call(uow, f"retry-{i}", received))
                uow.commit()
    assert firsts == agains


def test_received_must_name_a_parameter() -> None:
    """Declaring as received a parameter the service lacks is a TypeError at decoration."""

    def service(uow: UnitOfWork, *, at: pendulum.DateTime, idempotency_key: str | None) -> int:
        return 1

    with pytest.raises(TypeError) as info:
        idempotent(received=("now",))(service)
    assert "service has no parameter now" in str(info.value)


def test_repeated_writes_of_every_kind_change_the_store_once(store: Store) -> None:
    """Contacts, registrations, sign-ups and cancellations sent twice are done once."""
    resident, volunteer = "h000001-1", "h000002-1"
    calls: list[Callable[[UnitOfWork, str], object]] = [
        lambda uow, key: record_contact(
            uow,
            resident_id=resident,
            method=ContactMethod.PHONE,
            outcome=Outcome.WELL,
            by="w1",
            at=AT,
            now=AT,
            idempotency_key=key,
        ),
        lambda uow, key: register_for_occurrence(
            uow, occurrence_id=READING, resident_id=resident, at=AT, idempotency_key=key
        ),
        lambda uow, key: sign_up(
            uow,
            shift_id="cleaning-2026-12-04",
            resident_id=volunteer,
            at=AT.subtract(days=6),
            idempotency_key=key,
        ),
    ]
    for i, call in enumerate(calls):
        first, again = _twice(store, functools.partial(_keyed, call, f"-{i}"))
        assert first == again
    with store() as uow:
        contacts = uow.contacts.for_resident(resident).items
        registrations = uow.registrations.for_resident(resident, start=AT, end=AT.add(days=30))
        signups = uow.signups.for_shift("cleaning-2026-12-04")
    assert (1, 1, 1) == (
        len(contacts),
        len(registrations),
        len([s for s in signups if s.resident_id == volunteer]),
    )
    cancelled, cancelled_again = _twice(
        store,
        lambda uow, key: cancel_registration(
            uow, registrations[0].id, at=AT.add(minutes=1), idempotency_key=key + "-cancel"
        ),
    )
    assert cancelled == cancelled_again


def test_a_repeated_case_action_acts_once(store: Store) -> None:
    """Registering a case twice under one key registers it once; the repeat is the first result."""
    case = _twice(store, _report)[0].case  # type: ignore[attr-defined]
    first, again = _twice(
        store,
        lambda uow, key: act_on_case(
            uow,
            None,
            case.id,
            Action.REGISTER,
            actor="c1",
            role=CaseRole.DISPATCHER,
            at=AT.add(minutes=5),
            idempotency_key=key + "-register",
        ),
    )
    with store() as uow:
        history = uow.cases.get(case.id).history
    assert (first.case, 2) == (again.case, len(history))  # type: ignore[attr-defined]


def test_one_key_at_once_from_many_threads_does_the_work_once(store: Store) -> None:
    """Eight units reporting under one key at once store one case and all get it."""
    got: list[str] = []
    errors: list[Exception] = []
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(20):  # a retryable conflict is tried again, as a client would
            try:
                with store() as uow:
                    case_id = _report(uow, "same").case.id  # type: ignore[attr-defined]
                    uow.commit()  # the memory store may refuse it: counted once committed
                got.append(case_id)
                return
            except ConflictError as exc:
                if not exc.retryable:
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with store() as uow:
        stored = uow.cases.open_in_subtree(GRID, limit=100).items
    assert ([], 8, 1) == (errors, len(got), len(set(got)))
    assert set(got) <= {c.id for c in stored}


def test_another_principal_cannot_replay_a_request(store: Store) -> None:
    """A key one principal used answers no other: the other gets a ConflictError."""
    community = "610102003006"
    one = Principal("p1", {Role.GRID_WORKER}, {community})
    other = Principal("p2", {Role.GRID_WORKER}, {community})
    denials: list[object] = []
    with store() as uow:
        _report(scoped(uow, one, audit=denials.append), "mine")
        uow.commit()
    with store() as uow, pytest.raises(ConflictError):
        _report(scoped(uow, other, audit=denials.append), "mine")


def test_expired_keys_are_forgotten_and_the_work_done_again(store: Store) -> None:
    """Past the store's retention a key is forgotten; forget_expired deletes expired keys."""
    with store() as uow:
        uow.settings.save(attrs.evolve(uow.settings.get(), requests_kept_hours=1))
        uow.commit()
    _twice(store, _report)
    later = pendulum.now("UTC").add(hours=2)
    assert 1 == forget_expired(store, now=later)
    with store() as uow:
        again = _report(uow, "key-1")
        uow.commit()
    with store() as uow:
        stored = [c for c in uow.cases.open_in_subtree(GRID, limit=100).items if c.id]
    assert 2 == len([c for c in stored if c.description == "楼道灯坏了"])
    assert again.events  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["", " padded", "x" * 129, "tab\there", 7])
def test_bad_keys_are_refused_on_the_field(store: Store, key: object) -> None:
    """A key that is empty, too long, padded or not printable text: ValidationError on it."""
    with store() as uow, pytest.raises(ValidationError) as info:
        _report(uow, key)  # type: ignore[arg-type]
    assert "idempotency_key" == info.value.path


def test_remembered_requests_round_trip_in_the_store(store: Store) -> None:
    """A remembered request stored is read back equal, a version later."""
    request = RememberedRequest(
        id="k",
        service="s",
        fingerprint="f" * 64,
        result="{}",
        at=AT,
        expires=AT.add(hours=1),
    )
    with store() as uow:
        uow.requests.add(request)
        uow.commit()
    with store() as uow:
        assert attrs.evolve(request, version=1) == uow.requests.get("k")
    assert Settings().requests_kept_hours == 24
