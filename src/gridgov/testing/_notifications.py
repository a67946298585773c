"""The kit's contract for notifications: see ``NotificationRepository`` and gridgov.notify."""

from __future__ import annotations

import time

import attrs
import pendulum

from gridgov.errors import ConflictError, GridgovError, ValidationError
from gridgov.events import FamilyToNotify
from gridgov.notify import Audience, Notification, NotificationState
from gridgov.outbox import record_events
from gridgov.testing._samples import _race
from gridgov.testing._world import GRID_A, UowFactory, _Base

__all__ = ["NotificationRepositoryContract", "sample_notification"]

_AT = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")


def sample_notification(n: int, subject_id: str = "r1", *, due_minutes: int = 0) -> Notification:
    """Return the ``n``-th sample notification: the family of ``subject_id`` to tell."""
    return Notification(
        id=f"kno{n}.family",
        event_id=f"kno{n}",
        event_type="care.family_to_notify",
        audience=Audience.FAMILY,
        cell_code=GRID_A,
        subject_id=subject_id,
        facts=f'{{"resident_id": "{subject_id}", "n": {n}}}',
        created=_AT.add(minutes=n),
        next_at=_AT.add(minutes=due_minutes),
    )


class NotificationRepositoryContract(_Base):
    """What every ``NotificationRepository`` does: the notifier's queue and a person's list."""

    def test_events_store_their_notifications_in_the_same_unit(self, store: UowFactory) -> None:
        """Recording a "family to notify" stores its family notification; a rollback neither."""
        event = FamilyToNotify(
            resident_id="r9",
            cell_code=GRID_A,
            at=_AT,
            task_id="t9",
            kind="notify_contact",
            due=_AT.add(hours=2),
            rule="unwell",
        )
        with store() as uow:
            record_events(uow, [event])  # rolled back: never committed
        with store() as uow:
            (stored,) = record_events(uow, [event])
            uow.commit()
        with store() as uow:
            found = uow.notifications.about("r9")
        assert [(f"{stored.id}.family", Audience.FAMILY, "t9", _AT)] == [
            (n.id, n.audience, n.task_id, n.next_at) for n in found
        ]

    def test_due_is_the_queue_by_next_at_then_id(self, store: UowFactory) -> None:
        """Due: ``next_at`` at or before the instant, earliest first; finished ones never."""
        with store() as uow:
            uow.notifications.add_many(
                [
                    sample_notification(1, due_minutes=30),
                    sample_notification(2, due_minutes=10),
                    sample_notification(3, due_minutes=10),
                    sample_notification(4, due_minutes=90),
                ]
            )
            uow.commit()
        with store() as uow:
            finished = attrs.evolve(
                uow.notifications.get("kno3.family"),
                state=NotificationState.DELIVERED,
                next_at=None,
            )
            uow.notifications.update(finished)
            uow.commit()
        with store() as uow:
            due = [n.id for n in uow.notifications.due(_AT.add(minutes=30))]
            first = [n.id for n in uow.notifications.due(_AT.add(minutes=90), limit=1)]
        assert (["kno2.family", "kno1.family"], ["kno2.family"]) == (due, first)

    def test_racing_claims_take_disjoint_rounds(self, store: UowFactory) -> None:
        """Four units claiming at once take disjoint due notifications, each exactly once."""
        with store() as uow:
            uow.notifications.add_many([sample_notification(i, due_minutes=i) for i in range(12)])
            uow.commit()
        claimed: list[str] = []
        failures: list[str] = []

        def round_(_: int) -> None:
            try:
                with store() as uow:
                    due = uow.notifications.claim_due(_AT.add(hours=1), limit=3)
                    for n in due:  # the lease: moved past the round
                        uow.notifications.update(attrs.evolve(n, next_at=_AT.add(hours=2)))
                    time.sleep(0.01)  # hold the claim while the others claim
                    uow.commit()
                    claimed.extend(n.id for n in due)
            except GridgovError as exc:
                failures.append(type(exc).__name__)

        _race(4, round_)
        expected = sorted(sample_notification(i).id for i in range(12))
        assert ([], expected) == (failures, sorted(claimed))

    def test_about_lists_one_subject_by_creation(self, store: UowFactory) -> None:
        """``about`` returns one person's notifications oldest first, and no one else's."""
        with store() as uow:
            uow.notifications.add_many(
                [
                    sample_notification(5, "r2"),
                    sample_notification(2, "r1"),
                    sample_notification(3, "r2"),
                ]
            )
            uow.commit()
        with store() as uow:
            assert ["kno3.family", "kno5.family"] == [n.id for n in uow.notifications.about("r2")]

    def test_a_stale_update_and_a_duplicate_are_refused(self, store: UowFactory) -> None:
        """Updating from an old version, or adding a stored id, is a ConflictError."""
        with store() as uow:
            stored = uow.notifications.add(sample_notification(1))
            uow.commit()
        with store() as uow:
            uow.notifications.update(attrs.evolve(stored, next_at=_AT.add(hours=1)))
            uow.commit()
        outcomes = []
        for stale in (True, False):
            with store() as uow:
                try:
                    if stale:
                        uow.notifications.update(attrs.evolve(stored, next_at=None))
                    else:
                        uow.notifications.add(sample_notification(1))
                    uow.commit()
                    outcomes.append("stored")
                except ConflictError:
                    outcomes.append("conflict")
        assert ["conflict", "conflict"] == outcomes

    def test_bad_input_is_refused_by_field(self, store: UowFactory) -> None:
        """A naive instant or a zero limit names the field."""
        fields = []
        with store() as uow:
            for at, limit in ((pendulum.naive(2026, 12, 7), 10), (_AT, 0)):
                try:
                    uow.notifications.due(at, limit=limit)
                except ValidationError as exc:
                    fields.append(exc.path)
        assert ["at_or_before", "limit"] == fields
