"""Access: who may read and change what, over which cells, and whether they see personal data.

A :class:`Principal` acts in one or more :class:`Role` s over a scope of cells: a grid worker over
their grids, community staff over their community's subtree, street and district supervisors over
theirs, an auditor who reads without writing, an integration (the 12345 platform) that reports
cases. Cell codes nest by prefix (see :mod:`gridgov.codes`), so a scope is a set of code prefixes
and "is this record in scope" is a prefix test on the record's cell.

Everything is denied unless a role grants it and the cell is in scope.
:func:`gridgov.services.scoped.scoped` wraps a unit of work so that every repository call is
checked, subtree queries are narrowed to the scope before they reach the store, and each denial
raises :class:`~gridgov.errors.AccessDeniedError` and is recorded in the audit trail. A principal
whose :attr:`Principal.redaction` is ``MASKED`` reads every record through it redacted
(:mod:`gridgov.redaction`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.clock import ensure_date
from gridgov.errors import AccessDeniedError, ValidationError
from gridgov.grid import WorkerRole

if TYPE_CHECKING:
    from gridgov.ports import UnitOfWork

__all__ = [
    "EVERYWHERE_ROLES",
    "SYSTEM",
    "WORKER_ROLES",
    "AuditEntry",
    "AuditKind",
    "AuditSink",
    "Permission",
    "Principal",
    "Redaction",
    "Role",
    "principal_for_worker",
]


class Permission(enum.Enum):
    """What a role allows."""

    READ = "read"
    WRITE = "write"
    FULL_VIEW = "full_view"
    READ_AUDIT = "read_audit"


class Role(enum.Enum):
    """The roles of a grid-governance platform."""

    GRID_WORKER = "grid_worker"
    COMMUNITY_STAFF = "community_staff"
    STREET_SUPERVISOR = "street_supervisor"
    DISTRICT_SUPERVISOR = "district_supervisor"
    CITY_SUPERVISOR = "city_supervisor"
    """Supervises every district: the one role, with the system's, whose scope may be all."""
    AUDITOR = "auditor"
    INTEGRATION = "integration"
    SYSTEM = "system"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "grid_worker": "网格员",
            "community_staff": "社区工作人员",
            "street_supervisor": "街道督导",
            "district_supervisor": "区级督导",
            "city_supervisor": "市级督导",
            "auditor": "审计员",
            "integration": "系统对接",
            "system": "系统",
        }[self.value]

    @property
    def permissions(self) -> frozenset[Permission]:
        """Return what the role allows."""
        return _GRANTS[self]


P = Permission
# Who sees the full record: those who serve the residents in person. Supervisors, auditors and
# integrations work on masked data; an auditor reads the audit trail but changes nothing.
_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.GRID_WORKER: frozenset({P.READ, P.WRITE, P.FULL_VIEW}),
    Role.COMMUNITY_STAFF: frozenset({P.READ, P.WRITE, P.FULL_VIEW}),
    Role.STREET_SUPERVISOR: frozenset({P.READ, P.WRITE}),
    Role.DISTRICT_SUPERVISOR: frozenset({P.READ, P.WRITE}),
    Role.CITY_SUPERVISOR: frozenset({P.READ, P.WRITE}),
    Role.AUDITOR: frozenset({P.READ, P.READ_AUDIT}),
    Role.INTEGRATION: frozenset({P.READ, P.WRITE}),
    Role.SYSTEM: frozenset(Permission),
}
del P


class Redaction(enum.Enum):
    """How much personal data an export or a rendering shows."""

    MASKED = "masked"
    FULL = "full"


def _roles(value: Iterable[Role]) -> frozenset[Role]:
    return v.to_frozenset(value)


def _cells(value: Iterable[str]) -> frozenset[str]:
    return v.to_frozenset(value)


def _check_cells(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    v.collection_of(str)(_inst, attribute, value)
    assert isinstance(value, frozenset)
    for code in value:
        if len(code) > 64:
            raise ValidationError(attribute.name, "a scope is cell codes of up to 64 characters")


@attrs.frozen
class Principal:
    """Someone (or something) acting on the platform.

    Args:
        id: Their user or worker id, recorded in the audit trail.
        roles: What they act as.
        cells: The roots of their scope: stored cells, each covering itself and every cell
            below it. The empty code covers every cell, and only a principal whose roles are
            meant for that (:data:`EVERYWHERE_ROLES`) may hold it; a scoped unit of work checks
            both (:func:`gridgov.services.scoped.scoped`).
    """

    id: str = attrs.field(validator=v.identifier)
    roles: frozenset[Role] = attrs.field(converter=_roles, validator=v.collection_of(Role))
    cells: frozenset[str] = attrs.field(converter=_cells, validator=_check_cells)

    def can(self, permission: Permission) -> bool:
        """Return whether one of the principal's roles grants ``permission``."""
        return any(permission in r.permissions for r in self.roles)

    def covers(self, cell_code: str) -> bool:
        """Return whether ``cell_code`` lies in the principal's scope."""
        return any(cell_code.startswith(root) for root in self.cells)

    def overlaps(self, cell_code: str) -> bool:
        """Return whether the subtree of ``cell_code`` holds any cell of the scope."""
        return any(root.startswith(cell_code) or cell_code.startswith(root) for root in self.cells)

    def roots_within(self, cell_code: str) -> tuple[str, ...]:
        """Return the parts of the scope inside the subtree of ``cell_code``, outermost only.

        A query over ``cell_code`` by this principal becomes queries over these roots.
        """
        if self.covers(cell_code):
            return (cell_code,)
        inside = sorted(root for root in self.cells if root.startswith(cell_code))
        outermost = [r for r in inside if not any(r != o and r.startswith(o) for o in inside)]
        return tuple(outermost)

    @property
    def redaction(self) -> Redaction:
        """Return the view of personal data the principal's roles allow."""
        return Redaction.FULL if self.can(Permission.FULL_VIEW) else Redaction.MASKED

    def require(self, permission: Permission, cell_code: str | None, what: str) -> None:
        """Raise AccessDeniedError unless the principal may do ``permission`` on the cell.

        Args:
            permission: What is asked.
            cell_code: The cell of the record or query; ``None`` for none in particular.
            what: What is being accessed, for the message (never personal data).

        Raises:
            AccessDeniedError: Naming the principal, the permission and ``what``.
        """
        if not self.can(permission):
            raise AccessDeniedError(
                f"{self.id} ({', '.join(sorted(r.value for r in self.roles)) or 'no role'}) "
                f"may not {permission.value} {what}"
            )
        if cell_code is not None and not self.covers(cell_code):
            raise AccessDeniedError(f"{self.id} may not {permission.value} {what}: out of scope")


#: The roles whose scope may be every cell (the empty code): a city-wide scope is a role,
#: never an empty string given by mistake.
EVERYWHERE_ROLES: frozenset[Role] = frozenset({Role.SYSTEM, Role.CITY_SUPERVISOR})

#: The platform itself (the escalation engine, scenario loading): every permission, everywhere.
SYSTEM = Principal("system", {Role.SYSTEM}, {""})


#: The role a worker acts in, by the worker's role in the ledger; a volunteer's is none.
WORKER_ROLES: Mapping[WorkerRole, Role] = {
    WorkerRole.GRID_WORKER: Role.GRID_WORKER,
    WorkerRole.GRID_LEADER: Role.GRID_WORKER,
    WorkerRole.COMMUNITY_STAFF: Role.COMMUNITY_STAFF,
    WorkerRole.COMMUNITY_SECRETARY: Role.COMMUNITY_STAFF,
    WorkerRole.STREET_SUPERVISOR: Role.STREET_SUPERVISOR,
    WorkerRole.DISTRICT_SUPERVISOR: Role.DISTRICT_SUPERVISOR,
}


def principal_for_worker(uow: UnitOfWork, worker_id: str, *, on: pendulum.Date) -> Principal:
    """Return the principal a stored worker acts as on a day: their roles over their cells.

    The scope is the cells the worker is assigned to on ``on``; the roles follow the worker's
    roles (:data:`WORKER_ROLES`): a grid worker or grid leader acts as ``grid_worker``, community
    staff and the community secretary as ``community_staff``, supervisors as supervisors.

    Args:
        uow: A unit of work to read the worker from.
        worker_id: The worker.
        on: The day: assignments begin and end on dates.

    Returns:
        The principal, whose id is the worker's.

    Raises:
        ValidationError: On ``worker_id`` if it is not a string, on ``on`` if it is not a date
            in the supported range or the worker has no cell assigned that day.
        NotFoundError: If there is no such worker.
        AccessDeniedError: If the worker holds no role that acts on the platform (a
            volunteer only).
    """
    if not isinstance(worker_id, str):
        raise ValidationError("worker_id", f"expected a string, got {type(worker_id).__name__}")
    on = ensure_date(on, "on")
    worker = uow.workers.get(worker_id)
    cells = worker.cells_on(on)
    if not cells:
        raise ValidationError("on", f"worker {worker.id!r} has no cell assigned on that day")
    roles = {WORKER_ROLES[r] for r in worker.roles if r in WORKER_ROLES}
    if not roles:
        raise AccessDeniedError(f"worker {worker.id!r} holds no role that acts on the platform")
    return Principal(worker.id, roles, cells)


class AuditKind(enum.Enum):
    """What an audit entry records."""

    DENIED = "denied"
    VIEWED_FULL_RECORD = "viewed_full_record"
    EXPORTED = "exported"
    CREATED = "created"
    """A record of the ledger (a cell, a worker, a household, the settings) was added."""
    EDITED = "edited"
    """One was changed: ``detail`` names the fields (and residents) changed, never values."""
    REMOVED = "removed"


@attrs.frozen
class AuditEntry:
    """One line of the audit trail: who did what to which record, when.

    Args:
        id: The entry's key.
        at: When.
        principal_id: Who.
        kind: Denied, viewed a full record, exported; a ledger record created, edited, removed.
        subject: What it concerned: ``"resident:<id>"``, ``"case:<id>"``, ``"query:households"``.
        cell_code: The cell concerned, if any.
        detail: What exactly (the permission asked, the export format); never personal data.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    principal_id: str = attrs.field(validator=v.identifier)
    kind: AuditKind = attrs.field(validator=v.instance_of(AuditKind))
    subject: str = attrs.field(validator=v.text(200))
    cell_code: str | None = attrs.field(default=None, validator=v.optional(v.text(64)))
    detail: str = attrs.field(default="", validator=v.text(500, allow_empty=True))
    version: int = attrs.field(default=0, validator=v.non_negative_int)


class AuditSink(Protocol):
    """Where audit entries go: a store's audit trail, a log, a test's list."""

    def __call__(self, entry: AuditEntry, /) -> None:
        """Record ``entry`` durably (outside the caller's unit of work, which may roll back)."""
        ...
