"""gridgov: a typed, storage-agnostic library for community grid governance (网格化治理)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridgov.access import Principal, Redaction, Role
    from gridgov.bootstrap import open_store
    from gridgov.calendar import WorkCalendar
    from gridgov.clock import Clock, SystemClock
    from gridgov.codes import CodeScheme, NationalId, PhoneNumber, Sex
    from gridgov.errors import (
        AccessDeniedError,
        CalendarCoverageError,
        ConflictError,
        GridgovError,
        NotFoundError,
        StorageError,
        TransitionError,
        UnsupportedStoreError,
        ValidationError,
    )
    from gridgov.grid import (
        Assignment,
        Boundary,
        Duty,
        GridCell,
        GridLevel,
        GridTree,
        LandUse,
        Worker,
        WorkerRole,
    )
    from gridgov.households import (
        Address,
        EmergencyContact,
        ForwardingContact,
        HealthFlag,
        Household,
        HouseholdStatus,
        LivingArrangement,
        Resident,
        Tag,
    )
    from gridgov.ports import Page, ResidentEntry, Store, UnitOfWork

    __version__: str

# The public names and the modules that define them: imported on first use, so that
# ``import gridgov`` stays cheap for a program that needs one corner of the library.
_LAZY = {
    "AccessDeniedError": "gridgov.errors",
    "Address": "gridgov.households",
    "Assignment": "gridgov.grid",
    "Boundary": "gridgov.grid",
    "CalendarCoverageError": "gridgov.errors",
    "Clock": "gridgov.clock",
    "CodeScheme": "gridgov.codes",
    "ConflictError": "gridgov.errors",
    "Duty": "gridgov.grid",
    "EmergencyContact": "gridgov.households",
    "ForwardingContact": "gridgov.households",
    "GridCell": "gridgov.grid",
    "GridLevel": "gridgov.grid",
    "GridTree": "gridgov.grid",
    "GridgovError": "gridgov.errors",
    "HealthFlag": "gridgov.households",
    "Household": "gridgov.households",
    "HouseholdStatus": "gridgov.households",
    "LandUse": "gridgov.grid",
    "LivingArrangement": "gridgov.households",
    "NationalId": "gridgov.codes",
    "NotFoundError": "gridgov.errors",
    "Page": "gridgov.ports",
    "PhoneNumber": "gridgov.codes",
    "Principal": "gridgov.access",
    "Redaction": "gridgov.access",
    "Resident": "gridgov.households",
    "ResidentEntry": "gridgov.ports",
    "Role": "gridgov.access",
    "Sex": "gridgov.codes",
    "StorageError": "gridgov.errors",
    "Store": "gridgov.ports",
    "SystemClock": "gridgov.clock",
    "Tag": "gridgov.households",
    "TransitionError": "gridgov.errors",
    "UnitOfWork": "gridgov.ports",
    "UnsupportedStoreError": "gridgov.errors",
    "ValidationError": "gridgov.errors",
    "WorkCalendar": "gridgov.calendar",
    "Worker": "gridgov.grid",
    "WorkerRole": "gridgov.grid",
    "open_store": "gridgov.bootstrap",
}


# Defined for the interpreter only: a type checker sees the imports above, and so still
# reports a name gridgov does not have.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        if name == "__version__":
            from importlib.metadata import PackageNotFoundError, version

            try:
                value: object = version("gridgov")
            except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
                value = "0.0.0"
        elif name in _LAZY:
            value = getattr(importlib.import_module(_LAZY[name]), name)
        else:
            raise AttributeError(f"module 'gridgov' has no attribute {name!r}")
        globals()[name] = value  # later lookups find it without coming here
        return value

    def __dir__() -> list[str]:
        return sorted(__all__)


__all__ = [
    "AccessDeniedError",
    "Address",
    "Assignment",
    "Boundary",
    "CalendarCoverageError",
    "Clock",
    "CodeScheme",
    "ConflictError",
    "Duty",
    "EmergencyContact",
    "ForwardingContact",
    "GridCell",
    "GridLevel",
    "GridTree",
    "GridgovError",
    "HealthFlag",
    "Household",
    "HouseholdStatus",
    "LandUse",
    "LivingArrangement",
    "NationalId",
    "NotFoundError",
    "Page",
    "PhoneNumber",
    "Principal",
    "Redaction",
    "Resident",
    "ResidentEntry",
    "Role",
    "Sex",
    "StorageError",
    "Store",
    "SystemClock",
    "Tag",
    "TransitionError",
    "UnitOfWork",
    "UnsupportedStoreError",
    "ValidationError",
    "WorkCalendar",
    "Worker",
    "WorkerRole",
    "__version__",
    "open_store",
]
