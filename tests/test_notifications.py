"""Notifications: the family of a missed elder told, receipts, retries, and the worker told."""

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

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
from gridgov.care.contacts import Outcome as ContactOutcome
from gridgov.care.contacts import TaskKind, TaskState
from gridgov.cli import main
from gridgov.errors import ValidationError
from gridgov.events import CaseEscalated
from gridgov.grid import Assignment, Worker, WorkerRole
from gridgov.households import EmergencyContact
from gridgov.notify import (
    DEFAULT_POLICY,
    Audience,
    Notification,
    NotificationPolicy,
    NotificationState,
    Outcome,
    Receipt,
    Rule,
)
from gridgov.notify.notifier import (
    DeliveryReport,
    Message,
    Notifier,
    Sent,
    TransportError,
    record_receipt,
)
from gridgov.notify.transports import LogTransport
from gridgov.outbox import record_events
from gridgov.services.care import record_contact
from gridgov.settings import Settings
from gridgov.testing import ManualClock, leaked

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 12, 7, 9, 0, tz=TZ)
GRID = "610102003006001"
BUILDING = f"{GRID}001"
SON_PHONE = "13812345678"
WORKER_PHONE = "13900001111"
SECRETS = ("田秀兰", "610102194403120024", "13587654321", "田小明", SON_PHONE, "铁一村1号楼3单元")


def _world(store: Store, *, son: bool = True) -> None:
    with store() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
            GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        contacts = (EmergencyContact(SECRETS[3], SON_PHONE, relationship="儿子"),) if son else ()
        elder = Resident(
            "r1",
            SECRETS[0],
            national_id=SECRETS[1],
            phone=SECRETS[2],
            tags={Tag.LIVING_ALONE},
            living_arrangement=LivingArrangement.ALONE,
            emergency_contacts=contacts,
        )
        uow.households.add(Household("h1", BUILDING, Address(SECRETS[5]), members=(elder,)))
        for worker_id, duty_cell, role in (
            ("v0", GRID, WorkerRole.VOLUNTEER),  # first by id, and never the one alerted
            ("w1", GRID, WorkerRole.GRID_WORKER),
            ("s1", "610102003", WorkerRole.STREET_SUPERVISOR),
        ):
            uow.workers.add(
                Worker(
                    worker_id,
                    {"v0": "钱志愿", "w1": "王网格"}.get(worker_id, "李督导"),
                    roles={role},
                    assignments=(Assignment(duty_cell, NOW.date().subtract(days=30)),),
                    phone={"v0": "13900003333", "w1": WORKER_PHONE}.get(worker_id, "13900002222"),
                )
            )
        uow.commit()


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Store]:
    """Return a store of each kind holding an elder living alone, her son and workers."""
    urls: dict[str, Callable[[], str]] = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path}/n.db",
    }
    urls["postgresql"] = lambda: str(request.getfixturevalue("postgres_schema"))
    urls["mysql"] = lambda: str(request.getfixturevalue("mysql_database"))
    s = open_store(urls[request.param]())
    _world(s)
    yield s
    s.close()


def _unwell_call(store: Store, minutes: int = 0) -> None:
    """The elder answers unwell ``minutes`` after NOW: the family is to be told."""
    _unwell_at(store, NOW.add(minutes=minutes))


def _unwell_at(store: Store, at: pendulum.DateTime) -> None:
    """The elder answers unwell at ``at``: a "notify contact" task, a follow-up."""
    with store() as uow:
        record_contact(
            uow,
            resident_id="r1",
            method=ContactMethod.PHONE,
            outcome=ContactOutcome.UNWELL,
            by="w1",
            at=at,
            now=at,
        )
        uow.commit()


def _family(store: Store) -> Notification:
    with store() as uow:
        return next(n for n in uow.notifications.about("r1") if n.audience is Audience.FAMILY)


def _notify_task_state(store: Store) -> TaskState:
    with store() as uow:
        return uow.care_tasks.get(_family(store).task_id or "").state


class Gateway:
    """A transport that records what it is given and answers as told."""

    def __init__(self, *answers: Sent | TransportError) -> None:
        self.answers = list(answers)
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    def send(self, message: Message) -> Sent:
        """Record ``message``; answer with the next answer (the last one repeats)."""
        with self.lock:
            self.messages.append(message)
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, TransportError):
            raise answer
        return answer


def _notifier(store: Store, transport: object, clock: ManualClock) -> Notifier:
    return Notifier(store, transport, clock=clock)  # type: ignore[arg-type]


def test_the_family_notification_is_stored_with_the_unwell_call(store: Store) -> None:
    """The call that asks to tell the family stores the family's notification, due at once."""
    _unwell_call(store)
    n = _family(store)
    with store() as uow:
        task = uow.care_tasks.get(n.task_id or "")
    assert (NotificationState.PENDING, NOW, TaskKind.NOTIFY_CONTACT) == (
        n.state,
        n.next_at,
        task.kind,
    )


def test_the_family_is_told_and_the_task_closes_with_the_proof(store: Store) -> None:
    """A log transport delivers: the notification, its task and the outbox say so."""
    _unwell_call(store)
    log = LogTransport()
    report = _notifier(store, log, ManualClock(NOW.add(minutes=1))).deliver_once()
    n = _family(store)
    with store() as uow:
        proof = [e.type for e in uow.outbox.for_aggregate("notification", n.id)]
    assert (NotificationState.DELIVERED, TaskState.DONE, ["notification.delivered"]) == (
        n.state,
        _notify_task_state(store),
        proof,
    )
    assert 1 <= report.delivered == report.sent


def test_the_log_holds_the_message_but_no_personal_data(store: Store) -> None:
    """The log line has the masked phone and masked name: no ID, phone, name or address."""
    _unwell_call(store)
    log = LogTransport()
    _notifier(store, log, ManualClock(NOW.add(minutes=1))).deliver_once()
    family = [line for line in log.lines if '"family"' in line]
    assert (1, [], True) == (len(family), leaked(log.lines, SECRETS), "138****5678" in family[0])


def test_the_message_text_is_the_policy_template_with_masked_facts(store: Store) -> None:
    """The family reads the zh template with the masked name, at the son's number."""
    _unwell_call(store)
    gateway = Gateway(Sent(delivered=True))
    _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    family = next(m for m in gateway.messages if m.to.audience is Audience.FAMILY)
    assert (
        "【社区网格】网格员今日联系您的家人田**时情况异常，请尽快与其联系或回电社区。",
        SON_PHONE,
        "r1:family",
    ) == (family.text, family.to.phone.value, family.to.id)


def test_an_accepted_message_waits_for_its_receipt(store: Store) -> None:
    """Accepted: awaiting the receipt; a delivered receipt closes it and the task; again: same."""
    _unwell_call(store)
    gateway = Gateway(Sent(delivered=False, provider_id="sms-1"))
    _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    waiting = _family(store)
    receipt = Receipt(waiting.message_id(1), True, NOW.add(minutes=2), "DELIVRD")
    for _ in range(2):
        with store() as uow:
            record_receipt(uow, receipt)
            uow.commit()
    done = _family(store)
    assert (
        NotificationState.AWAITING_RECEIPT,
        NotificationState.DELIVERED,
        [Outcome.ACCEPTED, Outcome.DELIVERED],
        TaskState.DONE,
    ) == (waiting.state, done.state, [a.outcome for a in done.attempts], _notify_task_state(store))


def test_a_gateway_down_retries_then_the_worker_is_told(store: Store) -> None:
    """Three failed sends, 5 and 10 minutes apart, fail it; the grid worker gets the alert."""
    _unwell_call(store)
    gateway = Gateway(TransportError("HTTP 503", retryable=True))
    clock = ManualClock(NOW.add(minutes=1))
    waits = []
    for _ in range(3):
        _notifier(store, gateway, clock).deliver_once()
        n = _family(store)
        waits.append(None if n.next_at is None else (n.next_at - clock.now()).in_minutes())
        clock.set(n.next_at or clock.now())
    with store() as uow:
        alert = uow.notifications.get(n.escalated_to or "")
    gateway.answers = [Sent(delivered=True)]
    _notifier(store, gateway, clock).deliver_once()
    told = gateway.messages[-1]
    assert (
        [5, 10, None],
        NotificationState.FAILED,
        (Audience.WORKER, "w1", WORKER_PHONE),
        TaskState.OPEN,
    ) == (
        waits,
        n.state,
        (alert.audience, told.to.id, told.to.phone.value),
        _notify_task_state(store),
    )
    assert "【网格提醒】通知家属未能送达（田**），请尽快电话联系或上门。" == told.text


def test_no_emergency_contact_fails_at_once_to_the_worker(tmp_path: object) -> None:
    """Nobody to call: refused without a retry, and the worker is told."""
    store = open_store("memory://")
    _world(store, son=False)
    _unwell_call(store)
    report = _notifier(store, Gateway(Sent(True)), ManualClock(NOW.add(minutes=1))).deliver_once()
    n = _family(store)
    assert (NotificationState.FAILED, Outcome.REFUSED, "the resident has no emergency contact") == (
        n.state,
        n.attempts[-1].outcome,
        n.attempts[-1].detail,
    )
    assert 1 == report.failed


def test_no_receipt_in_time_counts_as_a_failed_attempt(store: Store) -> None:
    """Accepted but no receipt within 30 minutes: sent again, under the next message id."""
    _unwell_call(store)
    gateway = Gateway(Sent(delivered=False))
    clock = ManualClock(NOW.add(minutes=1))
    _notifier(store, gateway, clock).deliver_once()
    clock.set(NOW.add(minutes=31))
    _notifier(store, gateway, clock).deliver_once()
    clock.set(NOW.add(minutes=36))
    _notifier(store, gateway, clock).deliver_once()
    n = _family(store)
    ids = [m.id for m in gateway.messages if m.to.audience is Audience.FAMILY]
    assert (
        [Outcome.ACCEPTED, Outcome.NO_RECEIPT, Outcome.ACCEPTED],
        [f"{n.id}:1", f"{n.id}:2"],
    ) == ([a.outcome for a in n.attempts], ids)


def test_a_task_closed_another_way_cancels_its_notification(store: Store) -> None:
    """The family came by and the task was closed: the message is not sent."""
    _unwell_call(store)
    with store() as uow:
        task = next(
            t for t in uow.care_tasks.open_for_resident("r1") if t.kind is TaskKind.NOTIFY_CONTACT
        )
        uow.care_tasks.update(task.done("visited by the family"))
        uow.commit()
    gateway = Gateway(Sent(True))
    _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    assert (NotificationState.CANCELLED, []) == (
        _family(store).state,
        [m for m in gateway.messages if m.to.audience is Audience.FAMILY],
    )


def test_a_receipt_naming_no_message_is_refused(store: Store) -> None:
    """A receipt for message 7 of a notification sent once names the field, stores nothing."""
    _unwell_call(store)
    n = _family(store)
    with store() as uow, pytest.raises(ValidationError) as caught:
        record_receipt(uow, Receipt(n.message_id(7), True, NOW))
    assert ("message_id", NotificationState.PENDING) == (caught.value.path, _family(store).state)


def test_an_escalated_case_tells_the_supervisor_of_the_cell_above(store: Store) -> None:
    """``case.escalated`` to the street notifies the worker on duty there."""
    with store() as uow:
        record_events(
            uow,
            [
                CaseEscalated(
                    "c1",
                    GRID,
                    NOW,
                    from_cell="610102003006",
                    to_cell="610102003",
                    from_level=GridLevel.COMMUNITY,
                    to_level=GridLevel.STREET,
                    rule="overdue",
                )
            ],
        )
        uow.commit()
    gateway = Gateway(Sent(True))
    _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    (message,) = gateway.messages
    assert ("s1", "【督办】案件c1已升级至自强路街道，请督办。") == (message.to.id, message.text)


def test_two_notifiers_at_once_send_each_message_once(tmp_path: object) -> None:
    """Two notifiers in threads over one SQLite store: no message id is sent twice."""
    store = open_store(f"sqlite:///{tmp_path}/two.db")
    _world(store)
    for minutes in range(0, 240, 30):
        _unwell_call(store, minutes)
    gateway = Gateway(Sent(True))
    clock = ManualClock(NOW.add(hours=5))
    notifiers = [Notifier(store, gateway, clock=clock, batch_size=2) for _ in range(2)]
    threads = [threading.Thread(target=n.run, kwargs={"until_empty": True}) for n in notifiers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [m.id for m in gateway.messages]
    with store() as uow:
        unsent = uow.notifications.due(clock.now())
    store.close()
    assert (len(set(ids)), ()) == (len(ids), unsent)
    assert len(ids) >= 8


def test_a_stored_policy_decides_who_is_told(store: Store) -> None:
    """A policy saved in the settings, telling the worker only in English, is the one used."""
    policy = NotificationPolicy(
        rules=(
            Rule(
                "care.family_to_notify",
                Audience.WORKER,
                zh="通知${resident}的家属",
                en="Tell the family of ${resident} by ${due}",
            ),
        ),
        language="en",
    )
    with store() as uow:
        uow.settings.save(Settings(notifications=policy))
        uow.commit()
    _unwell_call(store)
    gateway = Gateway(Sent(True))
    _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    assert [("w1", "Tell the family of 田** by 12-07 10:00")] == [
        (m.to.id, m.text) for m in gateway.messages
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"zh": "您好 ${phone}"}, "zh"),
        ({"en": "broken ${"}, "en"),
        ({"event_type": "notification.failed"}, "rules[0]"),
    ],
)
def test_a_bad_rule_names_its_field(change: dict[str, Any], path: str) -> None:
    """An unknown placeholder, a broken template or a reserved event type is refused."""
    rule = DEFAULT_POLICY.rules[0]
    with pytest.raises(ValidationError) as caught:
        NotificationPolicy(rules=(attrs.evolve(rule, **change),))
    assert path == caught.value.path


def test_two_rules_for_one_event_and_audience_are_refused() -> None:
    """A policy may tell an audience of an event once."""
    rule = DEFAULT_POLICY.rules[0]
    with pytest.raises(ValidationError) as caught:
        NotificationPolicy(rules=(rule, rule))
    assert "rules[1]" == caught.value.path


def test_reports_add_up() -> None:
    """Delivery reports add field by field (a notifier's run totals its rounds)."""
    assert DeliveryReport(1, 2, 3, 4, 5) == DeliveryReport(1, 0, 3, 0, 5) + DeliveryReport(
        0, 2, 0, 4, 0
    )


def test_a_notification_the_policy_no_longer_asks_for_is_cancelled(store: Store) -> None:
    """The policy changed after the event: the notification is cancelled, never sent."""
    _unwell_call(store)
    with store() as uow:
        uow.settings.save(Settings(notifications=attrs.evolve(DEFAULT_POLICY, rules=())))
        uow.commit()
    gateway = Gateway(Sent(True))
    report = _notifier(store, gateway, ManualClock(NOW.add(minutes=1))).deliver_once()
    assert (NotificationState.CANCELLED, [], 2) == (
        _family(store).state,
        gateway.messages,
        report.cancelled,
    )


class NotifierMachine(RuleBasedStateMachine):
    """Unwell calls, rounds with any gateway answer, receipts and time passing, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.store = open_store("memory://")
        _world(self.store)
        # Two attempts a minute apart: a short run reaches the end of the retries.
        self.policy = attrs.evolve(DEFAULT_POLICY, attempts=2, retry_minutes=1)
        with self.store() as uow:
            uow.settings.save(Settings(notifications=self.policy))
            uow.commit()
        self.clock = ManualClock(NOW)
        self.gateway = Gateway(Sent(True))
        self.calls = 0

    @precondition(lambda self: self.calls < 4)
    @rule(minutes=st.integers(1, 90))
    def unwell_call(self, minutes: int) -> None:
        """The elder answers unwell again: more notifications."""
        self.clock.set(self.clock.now().add(minutes=minutes))
        self.calls += 1
        _unwell_at(self.store, self.clock.now())

    @rule(answer=st.sampled_from(["delivered", "accepted", "down", "refused"]))
    def round(self, answer: str) -> None:
        """A notifier round, the gateway answering the same to every message."""
        answers: dict[str, Sent | TransportError] = {
            "delivered": Sent(True),
            "accepted": Sent(False),
            "down": TransportError("HTTP 503", retryable=True),
            "refused": TransportError("HTTP 400", retryable=False),
        }
        self.gateway.answers = [answers[answer]]
        Notifier(self.store, self.gateway, clock=self.clock).deliver_once()

    @rule(delivered=st.booleans(), data=st.data())
    def receipt(self, delivered: bool, data: st.DataObject) -> None:
        """A receipt for a message sent (perhaps an old one, perhaps again)."""
        if not self.gateway.messages:
            return
        message = data.draw(st.sampled_from(self.gateway.messages))
        with self.store() as uow:
            record_receipt(uow, Receipt(message.id, delivered, self.clock.now()))
            uow.commit()

    @rule(minutes=st.sampled_from([1, 6, 11, 31, 120]))
    def wait(self, minutes: int) -> None:
        """Time passes: retries and receipt deadlines come due."""
        self.clock.set(self.clock.now().add(minutes=minutes))

    def _all(self) -> list[Notification]:
        with self.store() as uow:
            return list(uow.notifications.about("r1"))

    @invariant()
    def states_hold(self) -> None:
        """Finished ones wait for nothing; others are due some time; attempts are bounded."""
        broken = [
            n.id
            for n in self._all()
            if (n.next_at is None) != n.state.finished or n.sent > self.policy.attempts
        ]
        assert [] == broken

    @invariant()
    def delivery_closes_the_task_and_failure_tells_the_worker(self) -> None:
        """Delivered family notices closed their task; failed ones (not workers') were passed on."""
        with self.store() as uow:
            notifications = list(uow.notifications.about("r1"))
            stored = {n.id for n in notifications}
            broken = [
                n.id
                for n in notifications
                if (
                    n.state is NotificationState.DELIVERED
                    and n.task_id is not None
                    and uow.care_tasks.get(n.task_id).state is TaskState.OPEN
                )
                or (
                    n.state is NotificationState.FAILED
                    and n.audience is not Audience.WORKER
                    and n.escalated_to not in stored
                )
            ]
        assert [] == broken

    @invariant()
    def each_message_is_sent_once(self) -> None:
        """No message id reaches the gateway twice."""
        ids = [m.id for m in self.gateway.messages]
        assert len(set(ids)) == len(ids)


TestNotifierMachine = NotifierMachine.TestCase
TestNotifierMachine.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


def test_the_command_sends_through_the_log_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gridgov notify --log FILE --until-empty --json``: the lines, masked, and the counts."""
    url = f"sqlite:///{tmp_path}/cmd.db"
    store = open_store(url)
    _world(store)
    _unwell_call(store)
    store.close()
    log = tmp_path / "sent.jsonl"
    code = main(["notify", "--db", url, "--log", str(log), "--until-empty", "--json"])
    lines = log.read_text(encoding="utf-8").splitlines()
    report = json.loads(capsys.readouterr().out)
    assert (0, 2, [], {"sent": 2, "delivered": 2, "retried": 0, "failed": 0, "cancelled": 0}) == (
        code,
        len(lines),
        leaked(lines, SECRETS),
        report,
    )


def test_the_webhook_needs_its_secret_in_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``$GRIDGOV_WEBHOOK_SECRET``: exit 2, the variable named, nothing sent."""
    monkeypatch.delenv("GRIDGOV_WEBHOOK_SECRET", raising=False)
    code = main(["notify", "--db", f"sqlite:///{tmp_path}/w.db", "--webhook", "https://x.example"])
    error = capsys.readouterr().err
    assert (2, True) == (code, "GRIDGOV_WEBHOOK_SECRET" in error)
