"""The declaration of every record kind gridgov stores: one place, read by every engine.

The tables, their columns and indexes, and the schema version that created each, are the
stored layout of every SQL dialect; the schema migrations are derived from ``since``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar, cast

from gridgov.access import AuditEntry
from gridgov.adapters.support import instant_key, series_span
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.components import Component
from gridgov.cases.model import Case
from gridgov.grid import GridCell, Worker
from gridgov.households import Household
from gridgov.idempotency import RememberedRequest
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.records._schema import (
    Child,
    Column,
    ColumnType,
    Index,
    Missing,
    Part,
    Recompute,
    RecordKind,
    Reference,
    Role,
    Table,
)
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp
from gridgov.settings import Settings

__all__ = [
    "AUDIT",
    "CARE_TASKS",
    "CASES",
    "CELLS",
    "COMPONENTS",
    "CONTACTS",
    "HOUSEHOLDS",
    "KINDS",
    "LOCKS",
    "NOTIFICATIONS",
    "OUTBOX",
    "REGISTRATIONS",
    "SERIES",
    "SETTINGS",
    "SETTINGS_KEY",
    "SHIFTS",
    "SIGNUPS",
    "STEPS",
    "VENUES",
    "WORKERS",
    "tables",
]

R = TypeVar("R")

SETTINGS_KEY = "default"
"""The key of the one stored :class:`~gridgov.settings.Settings`."""

_KEY = ColumnType.KEY


def _key(
    name: str,
    get: Callable[[R], object],
    *,
    nullable: bool = False,
    references: str | None = None,
    check: str | None = None,
) -> Column[R]:
    return Column(name, _KEY, nullable, references, check, get)


def _instant(name: str, field: str, *, nullable: bool = False) -> Column[object]:
    """An instant field stored as its sortable UTC key (``<field>_utc``-style column)."""

    def get(record: object) -> object:
        value = getattr(record, field)
        return None if value is None else instant_key(value, field)

    return Column(name, _KEY, nullable=nullable, get=get)


def _stored(*columns: Column[R]) -> tuple[Column[R], ...]:
    """Append the columns the engine fills: the optimistic ``version`` and the ``doc``."""
    return (*columns, Column("version", ColumnType.INTEGER), Column("doc", ColumnType.DOC))


def _index(
    name: str,
    *parts: tuple[str, Role],
    unique: bool = False,
    where: str | None = None,
    since: int | None = None,
) -> Index:
    return Index(name, tuple(Part(c, r) for c, r in parts), unique=unique, where=where, since=since)


_S, _E, _R, _K = Role.SUBTREE, Role.EQUAL, Role.RANGE, Role.KEY


def _cell(path: str = "cell_code") -> Callable[[object], Iterable[tuple[str, str]]]:
    return lambda record: ((path, getattr(record, path)),)


# -- grid ----------------------------------------------------------------------------------

CELLS: RecordKind[GridCell] = RecordKind(
    name="cell",
    cls=GridCell,
    table=Table(
        "gg_cells",
        _stored(
            _key("code", lambda c: c.code),
            _key(
                "parent_code", lambda c: c.parent_code, nullable=True, references="gg_cells (code)"
            ),
            Column("level", ColumnType.TEXT, get=lambda c: c.level.value),
        ),
        primary_key=("code",),
        indexes=(_index("gg_cells_parent", ("parent_code", _E), ("code", _K)),),
    ),
    key=lambda c: c.code,
    cells=lambda c: (c.code,),
    removable=True,
)


def _assignments(worker: Worker) -> Iterable[tuple[object, ...]]:
    for a in worker.assignments:
        yield worker.id, a.cell_code, a.start.isoformat(), a.end and a.end.isoformat()


_WORKER_CELLS: Table[tuple[object, ...]] = Table(
    "gg_worker_cells",
    (
        Column("worker_id", _KEY, references="gg_workers (id)"),
        Column("cell_code", _KEY, references="gg_cells (code)"),
        Column("start_date", _KEY),
        Column("end_date", _KEY, nullable=True),
    ),
    primary_key=(),
    indexes=(
        _index("gg_worker_cells_cell", ("cell_code", _E), ("start_date", _R)),
        _index("gg_worker_cells_worker", ("worker_id", _E)),
    ),
)

WORKERS: RecordKind[Worker] = RecordKind(
    name="worker",
    cls=Worker,
    table=Table("gg_workers", _stored(_key("id", lambda w: w.id)), primary_key=("id",)),
    key=lambda w: w.id,
    cells=lambda w: tuple(sorted({a.cell_code for a in w.assignments})),
    references=(
        Reference(
            "cell",
            lambda w: (
                (f"assignments[{i}].cell_code", a.cell_code) for i, a in enumerate(w.assignments)
            ),
            Missing.INVALID,
        ),
    ),
    children=(Child(_WORKER_CELLS, _assignments, "worker_id"),),
    removable=True,
)

# -- households ----------------------------------------------------------------------------


def _residents(h: Household) -> Iterable[tuple[object, ...]]:
    hid, cell = h.id, h.cell_code
    # The national ID is the digest column's source: the engines store its keyed digest.
    return [
        (m.id, hid, cell, None if m.birth_date is None else m.birth_date.isoformat(), m.national_id)
        for m in h.members
    ]


def _tags(h: Household) -> Iterable[tuple[object, ...]]:
    hid, cell = h.id, h.cell_code
    return [(t.code, cell, hid, m.id) for m in h.members for t in m.tags]


_RESIDENTS: Table[tuple[object, ...]] = Table(
    "gg_residents",
    (
        Column("id", _KEY),
        Column("household_id", _KEY, references="gg_households (id)"),
        Column("cell_code", _KEY),
        Column("birth_date", _KEY, nullable=True),
        # The keyed digest of the national ID (gridgov.identity): the same person in another
        # household, grid or department's list, without the number stored twice. Rows stored
        # before version 11 get theirs from the documents (STEPS), when the store has a key.
        Column("id_digest", _KEY, nullable=True, since=11, digest=True),
    ),
    primary_key=("id",),
    indexes=(
        _index("gg_residents_household", ("household_id", _E)),
        _index("gg_residents_birth", ("birth_date", _R), ("id", _K)),
        # Elders of one community or grid (aged within a cell) without reading the district's.
        _index("gg_residents_cell", ("cell_code", _S), ("birth_date", _R), ("id", _K), since=7),
        _index(
            "gg_residents_id_digest",
            ("id_digest", _E),
            ("id", _K),
            where="id_digest IS NOT NULL",
            since=11,
        ),
    ),
)

_TAGS: Table[tuple[object, ...]] = Table(
    "gg_resident_tags",
    (
        Column("tag", _KEY),
        Column("cell_code", _KEY),
        Column("household_id", _KEY, references="gg_households (id)"),
        Column("resident_id", _KEY, references="gg_residents (id)"),
    ),
    primary_key=("tag", "cell_code", "household_id", "resident_id"),
    indexes=(_index("gg_resident_tags_household", ("household_id", _E)),),
    compact=True,
)

HOUSEHOLDS: RecordKind[Household] = RecordKind(
    name="household",
    cls=Household,
    table=Table(
        "gg_households",
        _stored(
            _key("id", lambda h: h.id),
            _key("cell_code", lambda h: h.cell_code, references="gg_cells (code)"),
        ),
        primary_key=("id",),
        indexes=(_index("gg_households_cell", ("cell_code", _S), ("id", _K)),),
    ),
    key=lambda h: h.id,
    cells=lambda h: (h.cell_code,),
    references=(Reference("cell", _cell(), Missing.INVALID, ("cell_code",)),),
    children=(
        Child(_RESIDENTS, _residents, "household_id"),
        Child(_TAGS, _tags, "household_id"),
    ),
    removable=True,
)

# -- care ----------------------------------------------------------------------------------

CONTACTS: RecordKind[ContactAttempt] = RecordKind(
    name="contact",
    cls=ContactAttempt,
    table=Table(
        "gg_contacts",
        _stored(
            _key("id", lambda c: c.id),
            _key("resident_id", lambda c: c.resident_id),
            _key("household_id", lambda c: c.household_id),
            _key("cell_code", lambda c: c.cell_code),
            _instant("at_utc", "at"),
        ),
        primary_key=("id",),
        indexes=(
            _index("gg_contacts_resident", ("resident_id", _E), ("at_utc", _R)),
            _index("gg_contacts_cell", ("cell_code", _S), ("at_utc", _R)),
        ),
        since=2,
    ),
    key=lambda c: c.id,
    cells=lambda c: (c.cell_code,),
    append_only=True,
    erasable=("notes",),
)


def _overdue_check(task: CareTask) -> str | None:
    return instant_key(task.due, "due") if task.awaits_overdue_mark else None


CARE_TASKS: RecordKind[CareTask] = RecordKind(
    name="care task",
    cls=CareTask,
    table=Table(
        "gg_care_tasks",
        _stored(
            _key("id", lambda t: t.id),
            _key("resident_id", lambda t: t.resident_id),
            _key("household_id", lambda t: t.household_id),
            _key("cell_code", lambda t: t.cell_code),
            _key("state", lambda t: t.state.value),
            _instant("due_utc", "due"),
            _instant("start_utc", "start"),
            # The overdue sweep's queue: the due instant while open and not yet marked overdue,
            # NULL after; stored tasks of older versions enter it open, as none was marked.
            Column(
                "overdue_check_utc",
                _KEY,
                nullable=True,
                get=_overdue_check,
                since=10,
                fill="CASE WHEN state = 'open' THEN due_utc END",
            ),
        ),
        primary_key=("id",),
        indexes=(
            _index(
                "gg_care_tasks_open",
                ("cell_code", _S),
                ("due_utc", _R),
                ("id", _K),
                where="state = 'open'",
            ),
            _index("gg_care_tasks_open_resident", ("resident_id", _E), where="state = 'open'"),
            _index(
                "gg_care_tasks_overdue",
                ("overdue_check_utc", _R),
                ("id", _K),
                where="overdue_check_utc IS NOT NULL",
                since=10,
            ),
        ),
        since=2,
    ),
    key=lambda t: t.id,
    cells=lambda t: (t.cell_code,),
    argument="task",
)

# -- cases ---------------------------------------------------------------------------------

CASES: RecordKind[Case] = RecordKind(
    name="case",
    cls=Case,
    table=Table(
        "gg_cases",
        _stored(
            _key("id", lambda c: c.id),
            _key("cell_code", lambda c: c.cell_code),
            _key("owner_cell", lambda c: c.owner_cell),
            _key("owner_level", lambda c: c.owner_level.value),
            _key("state", lambda c: c.state.value),
            Column("is_open", ColumnType.BOOLEAN, get=lambda c: c.is_open),
            _key("category", lambda c: c.category),
            _key("external_id", lambda c: c.external_id, nullable=True),
            _instant("reported_utc", "reported_at"),
            _instant("next_check_utc", "next_check", nullable=True),
            # The duplicate check's reads: a component's reports, a category's reports.
            Column("component_id", _KEY, nullable=True, get=lambda c: c.component_id, since=12),
        ),
        primary_key=("id",),
        indexes=(
            _index("gg_cases_external", ("external_id", _E), unique=True),
            _index(
                "gg_cases_due",
                ("next_check_utc", _R),
                ("id", _K),
                where="next_check_utc IS NOT NULL",
            ),
            _index("gg_cases_cell", ("cell_code", _S), ("reported_utc", _R), ("id", _K)),
            _index(
                "gg_cases_open",
                ("cell_code", _S),
                ("reported_utc", _R),
                ("id", _K),
                where="is_open",
            ),
            _index(
                "gg_cases_component",
                ("component_id", _E),
                ("reported_utc", _R),
                ("id", _K),
                where="component_id IS NOT NULL",
                since=12,
            ),
            _index(
                "gg_cases_category", ("category", _E), ("reported_utc", _R), ("id", _K), since=12
            ),
        ),
        since=3,
    ),
    key=lambda c: c.id,
    cells=lambda c: (c.cell_code, c.owner_cell),
    references=(
        Reference(
            "cell",
            lambda c: (("cell_code", c.cell_code), ("owner_cell", c.owner_cell)),
            columns=("cell_code", "owner_cell"),
        ),
    ),
)

COMPONENTS: RecordKind[Component] = RecordKind(
    name="component",
    cls=Component,
    table=Table(
        "gg_components",
        _stored(
            _key("id", lambda c: c.id),
            _key("cell_code", lambda c: c.cell_code),
            _key("category", lambda c: c.category),
        ),
        primary_key=("id",),
        indexes=(_index("gg_components_cell", ("cell_code", _S), ("id", _K)),),
        since=12,
    ),
    key=lambda c: c.id,
    cells=lambda c: (c.cell_code,),
    references=(Reference("cell", _cell(), columns=("cell_code",)),),
)

SETTINGS: RecordKind[Settings] = RecordKind(
    name="settings",
    cls=Settings,
    table=Table(
        "gg_case_settings",
        _stored(_key("id", lambda s: SETTINGS_KEY, check=f"id = '{SETTINGS_KEY}'")),
        primary_key=("id",),
        since=3,
    ),
    key=lambda s: SETTINGS_KEY,
    argument="settings",
)

# -- scheduling ----------------------------------------------------------------------------

VENUES: RecordKind[Venue] = RecordKind(
    name="venue",
    cls=Venue,
    table=Table(
        "gg_venues",
        _stored(_key("id", lambda v: v.id), _key("cell_code", lambda v: v.cell_code)),
        primary_key=("id",),
        indexes=(_index("gg_venues_cell", ("cell_code", _S), ("id", _K)),),
        since=4,
    ),
    key=lambda v: v.id,
    cells=lambda v: (v.cell_code,),
    references=(Reference("cell", _cell(), columns=("cell_code",)),),
)


def _span(index: int) -> Callable[[ActivitySeries], object]:
    return lambda s: series_span(s)[index]


SERIES: RecordKind[ActivitySeries] = RecordKind(
    name="series",
    cls=ActivitySeries,
    table=Table(
        "gg_series",
        _stored(
            _key("id", lambda s: s.id),
            _key("venue_id", lambda s: s.venue_id),
            _key("space_id", lambda s: s.space_id),
            _key("first_start_utc", _span(0)),
            _key("last_end_utc", _span(1), nullable=True),
        ),
        primary_key=("id",),
        indexes=(
            _index(
                "gg_series_venue",
                ("venue_id", _E),
                ("first_start_utc", _R),
                ("last_end_utc", _R),
            ),
        ),
        since=4,
    ),
    key=lambda s: s.id,
    references=(
        Reference("venue", lambda s: (("venue_id", s.venue_id),), columns=("venue_id", "space_id")),
    ),
    argument="series",
)

REGISTRATIONS: RecordKind[Registration] = RecordKind(
    name="registration",
    cls=Registration,
    table=Table(
        "gg_registrations",
        _stored(
            _key("id", lambda r: r.id),
            _key("series_id", lambda r: r.series_id),
            _key("occurrence_id", lambda r: r.occurrence_id),
            _key("resident_id", lambda r: r.resident_id),
            _instant("start_utc", "start"),
            _instant("end_utc", "end"),
            _key("state", lambda r: r.state.value),
            _instant("registered_utc", "registered_at"),
        ),
        primary_key=("id",),
        indexes=(
            _index(
                "gg_registrations_occurrence",
                ("occurrence_id", _E),
                ("registered_utc", _R),
                ("id", _K),
            ),
            _index("gg_registrations_resident", ("resident_id", _E), ("start_utc", _R), ("id", _K)),
        ),
        since=4,
    ),
    key=lambda r: r.id,
    references=(
        Reference(
            "resident", lambda r: (("resident_id", r.resident_id),), columns=("resident_id",)
        ),
        Reference("series", lambda r: (("series_id", r.series_id),), columns=("series_id",)),
    ),
)

SHIFTS: RecordKind[Shift] = RecordKind(
    name="shift",
    cls=Shift,
    table=Table(
        "gg_shifts",
        _stored(
            _key("id", lambda s: s.id),
            _key("venue_id", lambda s: s.venue_id),
            _instant("start_utc", "start"),
            _instant("end_utc", "end"),
        ),
        primary_key=("id",),
        indexes=(_index("gg_shifts_venue", ("venue_id", _E), ("start_utc", _R), ("id", _K)),),
        since=4,
    ),
    key=lambda s: s.id,
    references=(Reference("venue", lambda s: (("venue_id", s.venue_id),), columns=("venue_id",)),),
)

SIGNUPS: RecordKind[SignUp] = RecordKind(
    name="sign-up",
    cls=SignUp,
    table=Table(
        "gg_signups",
        _stored(
            _key("id", lambda s: s.id),
            _key("shift_id", lambda s: s.shift_id),
            _key("resident_id", lambda s: s.resident_id),
            _instant("start_utc", "start"),
            _instant("end_utc", "end"),
            _key("state", lambda s: s.state.value),
            _instant("at_utc", "at"),
        ),
        primary_key=("id",),
        indexes=(
            _index("gg_signups_shift", ("shift_id", _E), ("at_utc", _R), ("id", _K)),
            _index("gg_signups_resident", ("resident_id", _E), ("start_utc", _R), ("id", _K)),
        ),
        since=4,
    ),
    key=lambda s: s.id,
    references=(
        Reference("shift", lambda s: (("shift_id", s.shift_id),), columns=("shift_id",)),
        Reference(
            "resident", lambda s: (("resident_id", s.resident_id),), columns=("resident_id",)
        ),
    ),
    argument="signup",
)

# -- audit ---------------------------------------------------------------------------------

AUDIT: RecordKind[AuditEntry] = RecordKind(
    name="audit entry",
    cls=AuditEntry,
    table=Table(
        "gg_audit",
        _stored(
            _key("id", lambda e: e.id),
            _instant("at_utc", "at"),
            _key("principal_id", lambda e: e.principal_id),
            _key("kind", lambda e: e.kind.value),
            _key("subject", lambda e: e.subject),
            _key("cell_code", lambda e: e.cell_code, nullable=True),
        ),
        primary_key=("id",),
        indexes=(
            _index("gg_audit_at", ("at_utc", _R), ("id", _K)),
            _index("gg_audit_principal", ("principal_id", _E), ("at_utc", _R), ("id", _K)),
            _index("gg_audit_subject", ("subject", _E), ("at_utc", _R), ("id", _K)),
        ),
        since=5,
    ),
    key=lambda e: e.id,
    argument="entry",
    append_only=True,
)

REQUESTS: RecordKind[RememberedRequest] = RecordKind(
    name="remembered request",
    cls=RememberedRequest,
    table=Table(
        "gg_requests",
        _stored(_key("id", lambda r: r.id), _instant("expires_utc", "expires")),
        primary_key=("id",),
        indexes=(_index("gg_requests_expires", ("expires_utc", _R), ("id", _K)),),
        since=7,
    ),
    key=lambda r: r.id,
    argument="request",
    removable=True,
)

OUTBOX: RecordKind[StoredEvent] = RecordKind(
    name="event",
    cls=StoredEvent,
    table=Table(
        "gg_outbox",
        _stored(
            _key("id", lambda e: e.id),
            _key("aggregate", lambda e: e.aggregate),
            _key("aggregate_id", lambda e: e.aggregate_id),
            Column("sequence", ColumnType.INTEGER, get=lambda e: e.sequence),
            _key("cell_code", lambda e: e.cell_code),
            _instant("recorded_utc", "recorded"),
            _instant("published_utc", "published", nullable=True),
        ),
        primary_key=("id",),
        indexes=(
            # The relay's order: pending first (NULL), by recording, each record's in sequence.
            _index(
                "gg_outbox_pending",
                ("published_utc", _E),
                ("recorded_utc", _R),
                ("aggregate", _K),
                ("aggregate_id", _K),
                ("sequence", _K),
            ),
            _index(
                "gg_outbox_aggregate",
                ("aggregate", _E),
                ("aggregate_id", _E),
                ("sequence", _R),
                unique=True,
            ),
        ),
        since=8,
    ),
    key=lambda e: e.id,
    cells=lambda e: (e.cell_code,),
    argument="event",
    # No ``update``: only the relay's mark (``mark_published``) and pruning touch stored events.
    append_only=True,
)

NOTIFICATIONS: RecordKind[Notification] = RecordKind(
    name="notification",
    cls=Notification,
    table=Table(
        "gg_notifications",
        _stored(
            _key("id", lambda n: n.id),
            _key("subject_id", lambda n: n.subject_id),
            _key("cell_code", lambda n: n.cell_code),
            _instant("created_utc", "created"),
            _instant("next_utc", "next_at", nullable=True),
        ),
        primary_key=("id",),
        indexes=(
            # The notifier's queue: what to send, retry or stop waiting for, by when.
            _index(
                "gg_notifications_due",
                ("next_utc", _R),
                ("id", _K),
                where="next_utc IS NOT NULL",
            ),
            _index("gg_notifications_subject", ("subject_id", _E), ("created_utc", _R), ("id", _K)),
        ),
        since=9,
    ),
    key=lambda n: n.id,
    cells=lambda n: (n.cell_code,),
    argument="notification",
)

KINDS: tuple[RecordKind[object], ...] = (  # type: ignore[assignment]
    CELLS,
    WORKERS,
    HOUSEHOLDS,
    CONTACTS,
    CARE_TASKS,
    CASES,
    SETTINGS,
    VENUES,
    SERIES,
    REGISTRATIONS,
    SHIFTS,
    SIGNUPS,
    AUDIT,
    REQUESTS,
    OUTBOX,
    NOTIFICATIONS,
    COMPONENTS,
)
"""Every declared kind, in the order their tables are created."""


LOCKS: Table[object] = Table(
    "gg_locks",
    (Column("name", _KEY), Column("held", ColumnType.INTEGER)),
    primary_key=("name",),
    since=6,
)
"""The named locks of :class:`~gridgov.ports.LockRepository`: one row per name, written (its
``held`` count raised) by every unit of work that holds it."""


SETTINGS_HISTORY: Table[object] = Table(
    "gg_settings_history",
    (Column("version", ColumnType.INTEGER), Column("doc", ColumnType.DOC)),
    primary_key=("version",),
    since=7,
)
"""Every saved version of the settings (:meth:`~gridgov.ports.SettingsRepository.history`),
written beside the settings' own row by each save."""


STEPS: tuple[Recompute[object], ...] = (
    cast("Recompute[object]", Recompute(11, HOUSEHOLDS, "gg_residents", ("id_digest",))),
)
"""The Python migration steps, by schema version: what the DDL cannot compute."""


def tables() -> tuple[Table[object], ...]:
    """Return every table of every kind, parents before children, in creation order."""
    return (*(t for kind in KINDS for t in kind.tables()), LOCKS, SETTINGS_HISTORY)
