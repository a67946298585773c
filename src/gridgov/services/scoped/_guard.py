"""The checks of a scoped unit of work: the principal, their scope, and what becomes of a denial."""

from __future__ import annotations

import logging
import threading
from typing import NoReturn, TypeVar

from gridgov.access import AuditEntry, AuditKind, AuditSink, Permission, Principal, Redaction
from gridgov.clock import Clock
from gridgov.errors import AccessDeniedError, NotFoundError
from gridgov.ids import new_id
from gridgov.ports import UnitOfWork
from gridgov.redaction import masked_at, mentioned_households, redact, restore

__all__ = ["READ", "WRITE", "Guard"]

_log = logging.getLogger("gridgov.access")

READ = Permission.READ
WRITE = Permission.WRITE

T = TypeVar("T")


def _audit_cell(cell_code: str | None) -> str | None:
    """Return ``cell_code`` if an audit entry can hold it (a cell code, not a query over all)."""
    if cell_code is None or not cell_code.strip() or cell_code != cell_code.strip():
        return None
    return cell_code if len(cell_code) <= 64 else None


def _audit_subject(subject: str) -> str:
    return subject.strip()[:200].strip() or "unknown"


class Guard:
    """The principal, audit sink and clock a scoped unit of work checks every call against."""

    def __init__(
        self, inner: UnitOfWork, principal: Principal, audit: AuditSink, clock: Clock
    ) -> None:
        self.inner = inner
        self.principal = principal
        self.audit = audit
        self.clock = clock
        # A scope covering every cell: checks that cost a lookup are skipped.
        self.everywhere = principal.covers("")
        # Whether records are read as stored; otherwise each is redacted on its way out.
        self.full = principal.redaction is Redaction.FULL
        # Whether the wrapped unit may hold a write transaction this unit started, and the
        # denials waiting for it to end: a sink writing through a unit of its own says so
        # (``waits_for_writers``), since a store such as SQLite lets no other unit write.
        self.writing = False
        self.waits = bool(getattr(audit, "waits_for_writers", False))
        self.pending: list[AuditEntry] = []
        self._pending_lock = threading.Lock()

    def shown(self, value: T) -> T:
        """Return what a read gives the principal: ``value`` redacted unless they see it full.

        A contact's notes may name the resident's family: the households the records speak of
        are read (one round trip) so that their names are masked in the notes too.
        """
        if self.full:
            return value
        keys = mentioned_households(value)
        households = self.inner.households.get_many(sorted(keys)).values() if keys else ()
        return redact(value, households)

    def restored(self, given: T, stored: T | None) -> T:
        """Return the record to write: what a masked read left as read keeps its stored value.

        A principal with the full view writes as it wrote before, unless the record carries
        masked numbers (it was read masked elsewhere): those are restored or refused.
        """
        if self.full and masked_at(given) is None:
            return given
        return restore(given, stored)

    # -- the audit sink ------------------------------------------------------------------------

    def write(self) -> None:
        """Note that a write is about to reach the wrapped unit."""
        self.writing = True

    def ended(self) -> None:
        """Hand the denials kept while the wrapped unit was writing to the sink.

        Called once its transaction has ended (commit, rollback, the end of the ``with`` block);
        an entry the sink cannot take is logged and dropped, as in :meth:`deny`.
        """
        self.writing = False
        with self._pending_lock:
            entries, self.pending = self.pending, []
        for entry in entries:
            try:
                self.audit(entry)
            except Exception as exc:
                _log.error("could not record the denial %s: %s", entry.id, type(exc).__name__)

    # -- denial --------------------------------------------------------------------------------

    def deny(
        self, permission: Permission, subject: str, cell_code: str | None, reason: str
    ) -> NoReturn:
        """Record the denial, log it and raise AccessDeniedError (ids and codes only)."""
        at = self.clock.now()
        # Two denials at one instant, in one process or several, never share a key.
        key = new_id("deny", at)
        where = "" if not cell_code else f" in cell {cell_code}"
        message = f"{self.principal.id} may not {permission.value} {subject}{where}: {reason}"
        _log.warning("access denied: %s", message)
        try:
            entry = AuditEntry(
                id=key,
                at=at,
                principal_id=self.principal.id,
                kind=AuditKind.DENIED,
                subject=_audit_subject(subject),
                cell_code=_audit_cell(cell_code),
                detail=permission.value,
            )
            if self.writing and self.waits:
                # The sink writes in a unit of its own, which the wrapped unit's write lock
                # would block (and a write of the entry in the wrapped unit could be rolled
                # back): the entry waits until the wrapped unit's transaction ends.
                with self._pending_lock:
                    self.pending.append(entry)
            else:
                self.audit(entry)
        except Exception as exc:
            # The denial stands even if it could not be recorded.
            _log.error("could not record the denial %s: %s", key, type(exc).__name__)
            raise AccessDeniedError(message) from exc
        raise AccessDeniedError(message)

    # -- checks --------------------------------------------------------------------------------

    def permit(self, permission: Permission, subject: str, cell_code: str | None = None) -> None:
        """Deny unless one of the principal's roles grants ``permission``."""
        if not self.principal.can(permission):
            roles = ", ".join(sorted(r.value for r in self.principal.roles)) or "no role"
            self.deny(permission, subject, cell_code, f"not granted to {roles}")

    def cover(self, permission: Permission, subject: str, *cells: str) -> None:
        """Deny unless the principal has ``permission`` and covers every cell of ``cells``."""
        self.permit(permission, subject, cells[0] if cells else None)
        for cell in cells:
            if not self.principal.covers(cell):
                self.deny(permission, subject, cell, "out of scope")

    def somewhere(self, permission: Permission, subject: str) -> None:
        """Deny unless the principal has ``permission`` and a scope of at least one cell."""
        self.permit(permission, subject)
        if not self.principal.cells:
            self.deny(permission, subject, None, "no scope")

    def see(self, subject: str, cell_code: str) -> None:
        """Deny a read unless the cell is covered or lies above the scope."""
        self.permit(READ, subject, cell_code)
        if not self.principal.overlaps(cell_code):
            self.deny(READ, subject, cell_code, "out of scope")

    def roots(self, query: str, cell_code: str | None) -> tuple[str, ...]:
        """Return the cells to run a subtree query over in place of ``cell_code``, or deny.

        ``None`` stands for the whole store (``within=None``).
        """
        subject = f"query:{query}"
        self.permit(READ, subject, cell_code)
        roots = self.principal.roots_within("" if cell_code is None else cell_code)
        if not roots:
            self.deny(READ, subject, cell_code, "out of scope")
        return roots

    def resident(self, resident_id: str) -> bool:
        """Check a query about one resident; return False if no household holds them.

        Raises:
            AccessDeniedError: If the principal may not read the resident's household.
        """
        subject = f"resident:{resident_id}"
        self.permit(READ, subject)
        if self.everywhere:
            return True
        try:
            cell = self.inner.households.household_of(resident_id).cell_code
        except NotFoundError:
            return False
        if not self.principal.covers(cell):
            self.deny(READ, subject, cell, "out of scope")
        return True

    def household_cell(self, resident_id: str) -> str | None:
        """Return the cell of the resident's household, ``None`` if no household holds them."""
        try:
            return self.inner.households.household_of(resident_id).cell_code
        except NotFoundError:
            return None

    def venue_cell(self, venue_id: str) -> str:
        """Return the cell of a venue (NotFoundError if it is not stored)."""
        return self.inner.venues.get(venue_id).cell_code
