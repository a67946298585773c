"""gridgov: a typed, storage-agnostic library for community grid governance (网格化治理)."""

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("gridgov")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

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
