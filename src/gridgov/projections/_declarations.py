"""What the projections need declared: the service results, their personal fields, the rest.

Everything else is derived from the attrs classes themselves: their fields, their types, their
order. A field is masked here, once, for every result that holds its class.
"""

from __future__ import annotations

import enum
import functools
import re
import types
import typing
from collections.abc import Iterator, Mapping
from typing import TypeAlias

import attrs
import pendulum

from gridgov._vocab import Term
from gridgov.access import AuditEntry, Redaction
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.care.criteria import CRITERION_TYPES
from gridgov.cases.catalogue import TimeLimit
from gridgov.cases.model import Case, HistoryEntry, Location, Reporter
from gridgov.cases.workflow import Escalation, Transition
from gridgov.codes import NationalId, PhoneNumber
from gridgov.events import CaseEvent, ShiftShort, TaskOverdue
from gridgov.grid import Boundary, GridCell
from gridgov.households import Address, EmergencyContact, ForwardingContact, Resident
from gridgov.ports import IdHolder
from gridgov.scheduling.conflicts import SeriesPlan
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries, Occurrence
from gridgov.scheduling.volunteers import SignUp
from gridgov.services.access import ResidentView
from gridgov.services.care import ContactResult, Coverage, ReplayReport, Worklist, WorklistHousehold
from gridgov.services.cases import CaseKpis
from gridgov.services.grid_changes import GridChange
from gridgov.services.identity import DischargeReport, ListMatches
from gridgov.services.kpis import LeagueRow
from gridgov.services.ledger import Move
from gridgov.services.person import Erasure, PersonRecords
from gridgov.services.retention import PurgeReport
from gridgov.services.retime import RetimeReport
from gridgov.services.scheduling import Cancellation, WeekSchedule
from gridgov.services.series_changes import FollowingEdit, OccurrenceEdit
from gridgov.services.sync import SyncedContact
from gridgov.targets import TargetCheck

__all__ = [
    "LEAVE_OUT",
    "PERSONAL",
    "RESULT_TYPES",
    "TAG_KEY",
    "FieldMask",
    "JSONValue",
    "Mask",
    "carries_redaction",
    "is_union",
    "leaf",
    "projected_types",
    "subclasses",
    "tag_of",
    "tagged_base",
]

#: A JSON value: what :func:`gridgov.projections.project` returns and a schema is made of.
JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"


class Mask(enum.Enum):
    """How a personal field kept as text is shown to a role whose redaction is masked."""

    #: A personal name: the first character, then one ``*`` for each other (``王*``).
    NAME = "name"
    #: An ID number kept as a string: ``110105**********2X``.
    ID_NUMBER = "id_number"
    #: A phone number kept as a string: ``138****5678``.
    PHONE = "phone"
    #: Hidden whole: ``***`` (empty stays empty).
    HIDDEN = "hidden"
    #: Left out: written ``null``.
    LEFT_OUT = "left_out"
    #: Free text: ID, phone numbers and e-mails in it masked, and so are the names and addresses
    #: that the same result holds.
    TEXT = "text"
    #: An address kept as one string: the building line only (its first word).
    BUILDING = "building"


#: A field's mask, or one mask per column of rows kept as tuples (``None``: shown as it is).
FieldMask: TypeAlias = Mask | tuple[Mask | None, ...]

#: The personal fields kept as text, by class. Typed values are masked by type wherever they are:
#: :class:`NationalId` and :class:`PhoneNumber` as their ``masked`` forms.
PERSONAL: Mapping[type, Mapping[str, FieldMask]] = {
    # The masked ID number hides the birth date; so does the view (a resident's view shows the
    # age instead).
    Resident: {"name": Mask.NAME, "birth_date": Mask.LEFT_OUT},
    EmergencyContact: {"name": Mask.NAME},
    # The masked ledger (write_households_csv) leaves out units and rooms and hides where a
    # relocated household went.
    Address: {"unit": Mask.LEFT_OUT, "room": Mask.LEFT_OUT},
    ForwardingContact: {"address": Mask.HIDDEN, "note": Mask.TEXT},
    # As the Open311 export masks a case: no address, the reporter's name masked, and personal
    # data in the texts masked.
    Reporter: {"name": Mask.NAME},
    Location: {"address": Mask.HIDDEN},
    Case: {"description": Mask.TEXT},
    HistoryEntry: {"note": Mask.TEXT},
    ContactAttempt: {"notes": Mask.TEXT},
    ResidentView: {
        "name": Mask.NAME,
        "national_id": Mask.ID_NUMBER,
        "phone": Mask.PHONE,
        "address": Mask.BUILDING,
        "emergency_contacts": (Mask.NAME, None, Mask.PHONE),
    },
}

#: Fields of a nested record left out where a result holds it, by (class, field): data a reader
#: of that result does not need. A worklist's household is its address and status; the residents
#: to contact are its entries'.
LEAVE_OUT: Mapping[tuple[type, str], tuple[str, ...]] = {
    (WorklistHousehold, "household"): ("members",),
}

#: Bases whose subclasses a result holds under the base's type: written with the key below naming
#: the subclass (``"event": "case_escalated"``).
_TAGGED: tuple[type, ...] = (CaseEvent,)
TAG_KEY = "event"

#: What the public services return (see docs/embedding.md); a projection and a schema exist for
#: each, for everything they hold, and for tuples, lists, dicts and unions of them.
RESULT_TYPES: tuple[type, ...] = (
    # care
    Worklist,
    Coverage,
    ContactResult,
    ReplayReport,
    CareTask,
    SyncedContact,
    TaskOverdue,
    # cases
    Transition,
    Case,
    Escalation,
    CaseKpis,
    LeagueRow,
    GridCell,
    # scheduling
    WeekSchedule,
    Registration,
    Cancellation,
    SignUp,
    SeriesPlan,
    ActivitySeries,
    Occurrence,
    OccurrenceEdit,
    FollowingEdit,
    RetimeReport,
    ShiftShort,
    # ledger and access
    Move,
    GridChange,
    ResidentView,
    AuditEntry,
    PersonRecords,
    Erasure,
    PurgeReport,
    # identity (the results name residents by ids and cells, never by ID number)
    IdHolder,
    ListMatches,
    DischargeReport,
    # reports
    TargetCheck,
)

_SCALARS = (str, int, float, bool, type(None), pendulum.DateTime, pendulum.Date)
_VALUES = (NationalId, PhoneNumber, TimeLimit, Boundary)


def leaf(t: object) -> bool:
    """Return whether ``t`` is written as one JSON value by the shared hooks, not field by field."""
    return isinstance(t, type) and (
        t in _SCALARS or t in _VALUES or issubclass(t, enum.Enum | Term) or t in CRITERION_TYPES
    )


def tagged_base(t: type) -> type | None:
    """Return the base under whose type subclasses of ``t`` are held, if ``t`` is one."""
    return next((b for b in _TAGGED if issubclass(t, b)), None)


def tag_of(t: type) -> str:
    """Return the tag naming a tagged subclass: ``CaseEscalated`` is ``case_escalated``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", t.__name__).lower()


def carries_redaction(t: type) -> bool:
    """Return whether records of ``t`` say how they were redacted (a ``redaction`` field)."""
    return any(a.name == "redaction" for a in attrs.fields(t)) and (
        typing.get_type_hints(t).get("redaction") is Redaction
    )


def subclasses(t: type) -> Iterator[type]:
    """Yield the subclasses of ``t``, theirs included."""
    sub: type
    for sub in t.__subclasses__():
        yield sub
        yield from subclasses(sub)


def _mentioned(t: object) -> Iterator[object]:
    """Yield the types a type expression mentions: itself, or its arguments."""
    origin = typing.get_origin(t)
    if origin is None:
        yield t
        return
    for arg in typing.get_args(t):
        if arg is not Ellipsis:
            yield from _mentioned(arg)


@functools.cache
def projected_types() -> frozenset[type]:
    """Return every record class a projection writes field by field: the results and their parts.

    Criteria, terms, enums and typed values (ID and phone numbers, time limits, boundaries) are
    written whole and are not listed.
    """
    found: set[type] = set()
    todo: list[object] = list(RESULT_TYPES)
    while todo:
        t = todo.pop()
        if not isinstance(t, type) or t in found or leaf(t) or not attrs.has(t):
            continue
        found.add(t)
        if tagged_base(t) is not None:
            todo.extend(subclasses(t))
        for hint in typing.get_type_hints(t).values():
            todo.extend(_mentioned(hint))
    return frozenset(found)


def is_union(t: object) -> bool:
    """Return whether ``t`` is ``X | Y`` or ``Optional[X]``."""
    return typing.get_origin(t) in (typing.Union, types.UnionType)
