"""Personal-data use cases: view a resident's record as the principal may see it; the audit sink.

Viewing a resident's full record is recorded in the audit trail (who, when, which resident); a
principal whose roles do not allow the full view gets the record masked, and nothing needs
recording. Audit entries are written by :class:`StoreAuditSink` in a unit of work of their own, so
a denial is kept even when the caller's unit of work rolls back.
"""

from __future__ import annotations

import logging

import attrs
import pendulum

from gridgov.access import AuditEntry, AuditKind, AuditSink, Permission, Principal, Redaction
from gridgov.clock import ensure_aware
from gridgov.codes import mask_name
from gridgov.errors import AccessDeniedError
from gridgov.households import Household, Resident
from gridgov.ids import new_id
from gridgov.ports import Store, UnitOfWork

__all__ = ["ResidentView", "StoreAuditSink", "audit_entry", "view_resident"]

_log = logging.getLogger("gridgov.access")


class StoreAuditSink:
    """An :class:`~gridgov.access.AuditSink` appending to a store's audit trail.

    Each entry is written and committed in its own unit of work, which a store letting one
    writer at a time (SQLite) blocks while another unit is writing: ``waits_for_writers`` tells
    a scoped unit of work to hand over the denials it meets while writing once its
    transaction has ended.

    Args:
        store: The store whose ``audit`` repository keeps the trail.
    """

    waits_for_writers = True

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, entry: AuditEntry) -> None:
        """Append ``entry`` and commit."""
        with self._store() as uow:
            uow.audit.add(entry)
            uow.commit()


@attrs.frozen
class ResidentView:
    """A resident's record as one principal may see it.

    Args:
        resident_id: The resident.
        household_id: Their household.
        cell_code: The household's cell.
        redaction: Whether the fields below are full or masked.
        name: The name (masked: ``王*``).
        national_id: The ID number (masked: ``110105********002X``), or empty.
        phone: The phone number (masked), or empty.
        address: The address (masked: the building only).
        age: The age on the day viewed, if known.
        tags: The key-population tags.
        health_flags: The health flags.
        emergency_contacts: Each contact's name, relationship and phone, masked alike.
    """

    resident_id: str
    household_id: str
    cell_code: str
    redaction: Redaction
    name: str
    national_id: str
    phone: str
    address: str
    age: int | None
    tags: tuple[str, ...]
    health_flags: tuple[str, ...]
    emergency_contacts: tuple[tuple[str, str, str], ...]


def _view(
    household: Household, resident: Resident, redaction: Redaction, on: pendulum.Date
) -> ResidentView:
    full = redaction is Redaction.FULL
    address = household.address
    return ResidentView(
        resident_id=resident.id,
        household_id=household.id,
        cell_code=household.cell_code,
        redaction=redaction,
        name=resident.name if full else mask_name(resident.name),
        national_id=""
        if resident.national_id is None
        else resident.national_id.value
        if full
        else resident.national_id.masked,
        phone=""
        if resident.phone is None
        else resident.phone.value
        if full
        else resident.phone.masked,
        address=" ".join(x for x in (address.line, address.unit, address.room) if x)
        if full
        else address.line,
        age=resident.age_on(on),
        tags=tuple(sorted(t.code for t in resident.tags)),
        health_flags=tuple(sorted(f.code for f in resident.health_flags)),
        emergency_contacts=tuple(
            (
                c.name if full else mask_name(c.name),
                c.relationship,
                c.phone.value if full else c.phone.masked,
            )
            for c in resident.emergency_contacts
        ),
    )


def view_resident(
    uow: UnitOfWork,
    principal: Principal,
    resident_id: str,
    *,
    at: pendulum.DateTime,
    audit: AuditSink,
) -> ResidentView:
    """Return a resident's record, full or masked as the principal's roles allow.

    A full view is recorded in the audit trail (``viewed_full_record``); a denial is recorded
    too (``denied``) before AccessDeniedError is raised.

    Args:
        uow: A unit of work (unscoped or scoped).
        principal: Who is looking.
        resident_id: The resident.
        at: When.
        audit: Where the audit trail goes.

    Raises:
        NotFoundError: If there is no such resident.
        AccessDeniedError: If the principal may not read the resident's cell.
    """
    at = ensure_aware(at, "at")
    household = uow.households.household_of(resident_id)
    subject = f"resident:{resident_id}"
    try:
        principal.require(Permission.READ, household.cell_code, f"resident {resident_id}")
    except AccessDeniedError:
        audit(audit_entry(principal, at, AuditKind.DENIED, subject, household.cell_code, "read"))
        _log.warning("denied %s read of %s", principal.id, subject)
        raise
    redaction = principal.redaction
    if redaction is Redaction.FULL:
        audit(
            audit_entry(
                principal, at, AuditKind.VIEWED_FULL_RECORD, subject, household.cell_code, ""
            )
        )
    _log.debug("%s viewed %s (%s)", principal.id, subject, redaction.value)
    tz = at.timezone_name or "Asia/Shanghai"
    return _view(household, household.member(resident_id), redaction, at.in_timezone(tz).date())


def audit_entry(
    principal: Principal,
    at: pendulum.DateTime,
    kind: AuditKind,
    subject: str,
    cell_code: str | None = None,
    detail: str = "",
) -> AuditEntry:
    """Return a new audit entry with a unique id.

    Args:
        principal: Who.
        at: When.
        kind: What happened.
        subject: What it concerned, e.g. ``"resident:h000178-1"`` (ids, never personal data).
        cell_code: The cell concerned.
        detail: What exactly, e.g. the permission asked.
    """
    key = new_id("audit", at)
    return AuditEntry(key, at, principal.id, kind, subject, cell_code, detail)
