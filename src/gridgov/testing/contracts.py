"""The conformance kit: reusable pytest test classes that every storage adapter must pass.

An adapter's test module subclasses the contracts and provides one fixture, ``make_uow``,
returning a fresh, empty :class:`~gridgov.ports.Store` (anything callable that returns a
:class:`~gridgov.ports.UnitOfWork`)::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def make_uow(self) -> Iterator[Store]:
            store = MyStore(...)
            yield store
            store.close()

The class names end in ``Contract`` so that pytest does not collect them by themselves. Third-party
adapters use the same kit; its import path ``gridgov.testing.contracts`` is stable.
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - the kit's contracts need it
    import pytest  # noqa: F401 - the kit's contracts need it
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "gridgov.testing.contracts needs pytest and hypothesis: pip install 'gridgov[testing]'"
    ) from exc

from gridgov.testing._components import ComponentRepositoryContract
from gridgov.testing._concurrency import ConcurrencyContract
from gridgov.testing._contracts_audit import AuditRepositoryContract
from gridgov.testing._contracts_bookings import (
    RegistrationRepositoryContract,
    ShiftRepositoryContract,
    SignUpRepositoryContract,
)
from gridgov.testing._contracts_care import CareTaskRepositoryContract, ContactRepositoryContract
from gridgov.testing._contracts_cases import CaseRepositoryContract
from gridgov.testing._contracts_kinds import RecordKindContract
from gridgov.testing._contracts_ledger import (
    CellRepositoryContract,
    HouseholdRepositoryContract,
    SettingsRepositoryContract,
    UnitOfWorkContract,
    WorkerRepositoryContract,
)
from gridgov.testing._contracts_venues import SeriesRepositoryContract, VenueRepositoryContract
from gridgov.testing._identity import IdDigestContract
from gridgov.testing._masking import MaskingContract
from gridgov.testing._notifications import NotificationRepositoryContract
from gridgov.testing._outbox import OutboxRepositoryContract
from gridgov.testing._requests import RequestRepositoryContract

__all__ = [
    "AuditRepositoryContract",
    "CareTaskRepositoryContract",
    "CaseRepositoryContract",
    "CellRepositoryContract",
    "ComponentRepositoryContract",
    "ConcurrencyContract",
    "ContactRepositoryContract",
    "HouseholdRepositoryContract",
    "IdDigestContract",
    "MaskingContract",
    "NotificationRepositoryContract",
    "OutboxRepositoryContract",
    "RecordKindContract",
    "RegistrationRepositoryContract",
    "RequestRepositoryContract",
    "SeriesRepositoryContract",
    "SettingsRepositoryContract",
    "ShiftRepositoryContract",
    "SignUpRepositoryContract",
    "StoreContract",
    "UnitOfWorkContract",
    "VenueRepositoryContract",
    "WorkerRepositoryContract",
]


class StoreContract(
    CellRepositoryContract,
    WorkerRepositoryContract,
    HouseholdRepositoryContract,
    ContactRepositoryContract,
    CareTaskRepositoryContract,
    CaseRepositoryContract,
    SettingsRepositoryContract,
    VenueRepositoryContract,
    SeriesRepositoryContract,
    RegistrationRepositoryContract,
    ShiftRepositoryContract,
    SignUpRepositoryContract,
    AuditRepositoryContract,
    UnitOfWorkContract,
    RecordKindContract,
    ConcurrencyContract,
    RequestRepositoryContract,
    OutboxRepositoryContract,
    NotificationRepositoryContract,
    MaskingContract,
    IdDigestContract,
    ComponentRepositoryContract,
):
    """Every contract at once: what a complete adapter subclasses."""
