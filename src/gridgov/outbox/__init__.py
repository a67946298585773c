"""The transactional outbox: every domain event stored in the unit of work of its change.

A service that changes records also calls :func:`record_events` with the events of the change,
in the same unit of work. The events are then exactly as durable as the change: a rolled-back
unit leaves none, a committed one leaves all of them, whatever happens to the process after the
commit. A relay (:mod:`gridgov.outbox.relay`) reads the events not yet published, in order,
publishes them to a broker at least once, and marks them published.

Each stored event has:

- an ``id`` that is the CloudEvents ``id`` and the broker's de-duplication key;
- a ``sequence`` per aggregate (1, 2, 3 ... for one case, one care task, one registration): a
  consumer that has seen ``n`` of a record knows the next is ``n + 1``;
- the aggregate's cell code (for subjects and scoped consumers) and a masked payload: personal
  data only as references (a resident's id), never a name, a phone or an ID number.

:func:`cloud_event` gives the CloudEvents 1.0 envelope (structured JSON mode).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pendulum

from gridgov import _json, serialization
from gridgov import _validation as v
from gridgov.errors import ValidationError
from gridgov.events import DomainEvent
from gridgov.ids import new_ids
from gridgov.notify import planned
from gridgov.settings import notification_policy

if TYPE_CHECKING:
    from gridgov.ports import UnitOfWork

__all__ = [
    "SOURCE",
    "SPEC_VERSION",
    "TYPE_PREFIX",
    "StoredEvent",
    "cloud_event",
    "record_events",
]

SPEC_VERSION = "1.0"
TYPE_PREFIX = "gridgov."
"""CloudEvents types are ``gridgov.`` + the event's ``TYPE``: ``gridgov.case.escalated``."""
SOURCE = "urn:gridgov"
"""The default CloudEvents ``source``; a deployment names itself (``urn:gridgov:610102``)."""


def _data(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.startswith("{"):
        raise ValidationError(attribute.name, "expected a JSON object as text")


def _sequence(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(attribute.name, "expected a whole number from 1")


@attrs.frozen
class StoredEvent:
    """A domain event as the outbox keeps it.

    Args:
        id: The event's key: the CloudEvents ``id`` and the broker's message id.
        type: What happened, e.g. ``"case.escalated"``.
        aggregate: The kind of record the event is about, e.g. ``"case"``.
        aggregate_id: That record's key.
        sequence: The event's number among the record's events, from 1.
        cell_code: The cell the record lies in.
        at: When it happened.
        data: The event's masked facts, as JSON object text.
        recorded: The relay's order: when it happened (``at``), or when its record's previous
            event did if that is later, so that a record's events are in order.
        published: When a relay had it acknowledged; ``None`` while pending.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    type: str = attrs.field(validator=v.text(100))
    aggregate: str = attrs.field(validator=v.identifier)
    aggregate_id: str = attrs.field(validator=v.text(128))
    sequence: int = attrs.field(validator=_sequence)
    cell_code: str = attrs.field(validator=v.text(64))
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    data: str = attrs.field(validator=_data, repr=False)
    recorded: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    published: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def key(self) -> tuple[str, str]:
        """Return ``(aggregate, aggregate_id)``: whose sequence the event is in."""
        return (self.aggregate, self.aggregate_id)

    def facts(self) -> dict[str, Any]:
        """Return the event's facts (``data``) as a dict."""
        facts: dict[str, Any] = _json.loads(self.data)
        return facts


def _facts(event: DomainEvent) -> str:
    facts = serialization.unstructure(event)
    if not isinstance(facts, Mapping):  # pragma: no cover - every event is an attrs class
        raise TypeError(type(event).__name__)
    return _json.dumps(dict(facts))


def record_events(
    uow: UnitOfWork, events: Iterable[DomainEvent], *, new: bool = False
) -> tuple[StoredEvent, ...]:
    """Store ``events`` in the outbox of ``uow``, numbered per aggregate; return them.

    Call it in the unit of work that made the change, before its commit. The notifications
    the store's notification policy asks for (:mod:`gridgov.notify`) are stored with them.

    Args:
        uow: The unit of work (a :class:`~gridgov.ports.UnitOfWork`).
        events: The change's events, in the order they happened.
        new: Whether every event is about a record this unit of work created (a case just
            reported): their numbers start at 1 without a look-up. A record stored before with
            events then fails the unit with a ConflictError, as a number taken does.

    Raises:
        ConflictError: If another unit numbered an event of the same record at once
            (``retryable``: the change itself raced with another).
    """
    events = tuple(events)
    if not events:
        return ()
    keys = {(e.AGGREGATE, e.aggregate_id) for e in events}
    last: dict[tuple[str, str], tuple[int, pendulum.DateTime]] = (
        {}
        if new
        else {k: (e.sequence, e.recorded) for k, e in uow.outbox.last_events(keys).items()}
    )
    ids = new_ids("ev", max(e.at for e in events), len(events))
    stored: list[StoredEvent] = []
    for event, key in zip(events, ids, strict=True):
        record = (event.AGGREGATE, event.aggregate_id)
        number, before = last.get(record, (0, event.at))
        # The relay's order is by this instant: never before the record's previous event.
        recorded = max(event.at, before).in_tz("UTC")
        last[record] = (number + 1, recorded)
        stored.append(
            StoredEvent(
                id=key,
                type=event.TYPE,
                aggregate=record[0],
                aggregate_id=record[1],
                sequence=number + 1,
                cell_code=event.cell_code,
                at=event.at,
                data=_facts(event),
                recorded=recorded,
                version=1,  # as the store keeps it: what add_many stores is at version 1
            )
        )
    uow.outbox.add_many(stored)
    # The notifications the events call for are as durable as the events (gridgov.notify).
    notifications = planned(stored, notification_policy(uow))
    if notifications:
        uow.notifications.add_many(notifications)
    return tuple(stored)


def cloud_event(event: StoredEvent, *, source: str = SOURCE) -> dict[str, Any]:
    """Return ``event`` as a CloudEvents 1.0 event in structured JSON mode.

    The extension attributes ``sequence`` (the CloudEvents sequence extension: the number as
    text, zero-padded so that text order is number order), ``aggregate``, ``aggregateid`` and
    ``cellcode`` carry the outbox's order and routing.

    Args:
        event: The stored event.
        source: The deployment's URI reference.
    """
    return {
        "specversion": SPEC_VERSION,
        "id": event.id,
        "source": source,
        "type": TYPE_PREFIX + event.type,
        "subject": event.aggregate_id,
        "time": event.at.isoformat(),
        "datacontenttype": "application/json",
        "data": event.facts(),
        "sequence": f"{event.sequence:012d}",
        "aggregate": event.aggregate,
        "aggregateid": event.aggregate_id,
        "cellcode": event.cell_code,
    }
