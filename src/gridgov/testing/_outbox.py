"""The kit's contract for the outbox: see ``OutboxRepository`` and :mod:`gridgov.outbox`."""

from __future__ import annotations

import pendulum
import pytest

from gridgov.errors import ConflictError, ValidationError
from gridgov.events import CaseReported
from gridgov.outbox import StoredEvent, record_events
from gridgov.testing._world import GRID_A, UowFactory, _Base

__all__ = ["OutboxRepositoryContract", "stored_event"]

_AT = pendulum.datetime(2026, 12, 7, 9, tz="Asia/Shanghai")


def stored_event(
    n: int, aggregate_id: str = "k1", sequence: int = 1, *, recorded_minutes: int | None = None
) -> StoredEvent:
    """Return the ``n``-th sample event: a report of case ``aggregate_id``."""
    return StoredEvent(
        id=f"kev{n}",
        type="case.reported",
        aggregate="case",
        aggregate_id=aggregate_id,
        sequence=sequence,
        cell_code=GRID_A,
        at=_AT,
        data=f'{{"case_id": "{aggregate_id}", "n": {n}}}',
        recorded=_AT.add(minutes=n if recorded_minutes is None else recorded_minutes),
    )


def _reported(case_id: str) -> CaseReported:
    return CaseReported(case_id, GRID_A, _AT, category="c")


class OutboxRepositoryContract(_Base):
    """What every ``OutboxRepository`` does: numbers, the relay's order, marks and pruning."""

    def test_events_are_numbered_per_record_across_units(self, store: UowFactory) -> None:
        """Each record's events are numbered 1, 2, 3 ... over every unit that records them."""
        with store() as uow:
            record_events(uow, [_reported("k1"), _reported("k2"), _reported("k1")])
            uow.commit()
        with store() as uow:
            record_events(uow, [_reported("k1")])
            uow.commit()
        with store() as uow:
            numbers = [e.sequence for e in uow.outbox.for_aggregate("case", "k1")]
            last = {
                k: e.sequence
                for k, e in uow.outbox.last_events(
                    [("case", "k1"), ("case", "k2"), ("case", "k3")]
                ).items()
            }
        assert ([1, 2, 3], {("case", "k1"): 3, ("case", "k2"): 1}) == (numbers, last)

    def test_a_rolled_back_unit_leaves_no_event(self, store: UowFactory) -> None:
        """Events recorded in a unit that is not committed are gone; committed ones stay."""
        with store() as uow:
            record_events(uow, [_reported("k1")])
            uow.commit()
        with store() as uow:
            record_events(uow, [_reported("k1"), _reported("k2")])
            uow.rollback()
        with store() as uow:
            pending = [(e.aggregate_id, e.sequence) for e in uow.outbox.pending()]
        assert [("k1", 1)] == pending

    def test_pending_follows_recording_then_record_then_number(self, store: UowFactory) -> None:
        """Pending events come by ``recorded``, then record and number; ``limit`` cuts."""
        events = [
            stored_event(1, "k2", 1, recorded_minutes=5),
            stored_event(2, "k1", 2, recorded_minutes=5),
            stored_event(3, "k1", 1, recorded_minutes=5),
            stored_event(4, "k3", 1, recorded_minutes=1),
        ]
        with store() as uow:
            uow.outbox.add_many(events)
            uow.commit()
        with store() as uow:
            every = [e.id for e in uow.outbox.pending()]
            first = [e.id for e in uow.outbox.pending(limit=2)]
        assert (["kev4", "kev3", "kev2", "kev1"], ["kev4", "kev3"]) == (every, first)

    def test_marked_events_leave_pending_and_stale_marks_conflict(self, store: UowFactory) -> None:
        """A marked event is published; marking it again from its old version conflicts."""
        with store() as uow:
            uow.outbox.add_many([stored_event(1), stored_event(2, "k2")])
            uow.commit()
        at = _AT.add(hours=1)
        with store() as uow:
            first = uow.outbox.pending(limit=1)
            marked = uow.outbox.mark_published(first, at)
            uow.commit()
        with store() as uow:
            left = [e.id for e in uow.outbox.pending()]
            stored = uow.outbox.get("kev1")
            with pytest.raises(ConflictError):
                uow.outbox.mark_published(first, at)
        assert (["kev2"], (stored,), 2, at) == (left, marked, stored.version, stored.published)

    def test_a_number_taken_is_refused(self, store: UowFactory) -> None:
        """An event whose record already has that number is refused; nothing is stored."""
        with store() as uow:
            uow.outbox.add_many([stored_event(1)])
            uow.commit()
        with store() as uow:
            with pytest.raises(ConflictError):
                uow.outbox.add_many([stored_event(2, "k2"), stored_event(3, "k1", 1)])
            uow.commit()
        with store() as uow:
            pending = [e.id for e in uow.outbox.pending()]
        assert ["kev1"] == pending

    def test_prune_deletes_published_events_but_each_records_last(self, store: UowFactory) -> None:
        """Published events before the instant go, ``limit`` at a time; a record's last stays."""
        with store() as uow:
            uow.outbox.add_many(
                [stored_event(n, "k1", n) for n in (1, 2, 3)] + [stored_event(4, "k2")]
            )
            uow.commit()
        with store() as uow:
            uow.outbox.mark_published(uow.outbox.pending(), _AT.add(hours=1))
            uow.commit()
        with store() as uow:
            early = uow.outbox.prune(_AT.add(hours=1))  # nothing before that instant
            first = uow.outbox.prune(_AT.add(hours=2), limit=1)
            second = uow.outbox.prune(_AT.add(hours=2))
            uow.commit()
        with store() as uow:
            kept = [e.id for e in uow.outbox.for_aggregate("case", "k1")]
            numbered = {
                k: e.sequence
                for k, e in uow.outbox.last_events([("case", "k1"), ("case", "k2")]).items()
            }
        assert (0, 1, 1, ["kev3"], {("case", "k1"): 3, ("case", "k2"): 1}) == (
            early,
            first,
            second,
            kept,
            numbered,
        )

    def test_bad_calls_are_refused(self, store: UowFactory) -> None:
        """Something else than a StoredEvent, a naive instant or a zero limit: refused."""
        with store() as uow:
            with pytest.raises(ValidationError):
                uow.outbox.add_many(["kev1"])  # type: ignore[list-item]
            with pytest.raises(ValidationError):
                uow.outbox.mark_published([], pendulum.naive(2026, 12, 7))
            with pytest.raises(ValidationError):
                uow.outbox.pending(limit=0)
            with pytest.raises(ValidationError):
                uow.outbox.prune(pendulum.naive(2026, 12, 7))

    def test_an_events_facts_are_its_fields(self, store: UowFactory) -> None:
        """A stored event's facts are the event's fields, and it reads back as recorded."""
        with store() as uow:
            (recorded,) = record_events(uow, [_reported("k1")])
            uow.commit()
        with store() as uow:
            stored = uow.outbox.get(recorded.id)
        facts = {k: v for k, v in stored.facts().items() if k != "at"}
        assert ({"case_id": "k1", "cell_code": GRID_A, "category": "c"}, recorded) == (
            facts,
            stored,
        )
