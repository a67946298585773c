"""The conformance kit for an adapter that stores only some record kinds."""

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from gridgov.adapters.memory import MemoryStore, MemoryUnitOfWork
from gridgov.testing.contracts import RecordKindContract


class TestHouseholdsAndCasesOnly(RecordKindContract):
    """The generated contracts on a store claimed for cells, households and cases only."""

    capabilities = frozenset({"cell", "household", "case"})

    @pytest.fixture
    def make_uow(self) -> MemoryStore:
        """Return a fresh in-memory store."""
        return MemoryStore()


class _Partial:
    """A unit of work offering cells, households and a case repository without ``due``."""

    def __init__(self, inner: MemoryUnitOfWork) -> None:
        self.cells = inner.cells
        self.households = inner.households
        self.cases = SimpleNamespace(
            **{
                name: getattr(inner.cases, name)
                for name in ("get", "add", "add_many", "update", "by_external_id")
            }
        )

    def __enter__(self) -> "_Partial":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def test_capability_report_names_every_missing_method() -> None:
    """An adapter lacking port methods of a claimed kind fails with each one named."""
    store = MemoryStore()
    make_uow: Callable[[], _Partial] = lambda: _Partial(store())  # noqa: E731
    contract = TestHouseholdsAndCasesOnly()
    with pytest.raises(AssertionError) as info:
        contract.test_unit_of_work_offers_its_capabilities(make_uow)  # type: ignore[arg-type]
    expected = (
        "missing for the capabilities claimed: uow.cases.due, uow.cases.open_in_subtree, "
        "uow.cases.reported_in_subtree, uow.cases.sightings"
    )
    assert expected == str(info.value).split("\n")[0]


def test_capability_report_names_a_missing_repository() -> None:
    """A claimed kind whose repository is missing is reported method by method."""
    store = MemoryStore()
    contract = TestHouseholdsAndCasesOnly()
    contract.capabilities = frozenset({"venue"})
    make_uow: Callable[[], _Partial] = lambda: _Partial(store())  # noqa: E731
    with pytest.raises(AssertionError) as info:
        contract.test_unit_of_work_offers_its_capabilities(make_uow)  # type: ignore[arg-type]
    expected = (
        "missing for the capabilities claimed: uow.venues.get, uow.venues.add, "
        "uow.venues.in_subtree, uow.venues.update"
    )
    assert expected == str(info.value).split("\n")[0]
