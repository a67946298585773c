"""Personal data never leaks: logs, error messages and masked exports of the Minggong example.

The whole example runs with logging at DEBUG; every log record, error message and masked export
is scanned for the ledger's ID numbers and phone numbers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.access import SYSTEM, AuditEntry, Principal, Redaction, Role
from gridgov.bootstrap import open_store
from gridgov.cases import CaseSource
from gridgov.cli import main
from gridgov.errors import GridgovError
from gridgov.households import Household
from gridgov.interop import ical, open311
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.scenarios.loader import write_households_csv
from gridgov.services.access import view_resident
from gridgov.services.cases import EscalationEngine, report_case
from gridgov.services.scheduling import occurrences_in_venue
from gridgov.testing import leaked

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, tz=TZ)


class _Keep(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep ``record``."""
        self.records.append(record)


@contextlib.contextmanager
def everything_logged() -> Iterator[_Keep]:
    """Send every gridgov log record at DEBUG to a handler that keeps them."""
    keep = _Keep()
    logger = logging.getLogger("gridgov")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(keep)
    try:
        yield keep
    finally:
        logger.removeHandler(keep)
        logger.setLevel(old)


def secrets_of(households: tuple[Household, ...]) -> set[str]:
    """Return every ID number and phone number in the ledger."""
    found: set[str] = set()
    for h in households:
        if h.forwarding is not None and h.forwarding.phone is not None:
            found.add(h.forwarding.phone.value)
        for m in h.members:
            if m.national_id is not None:
                found.add(m.national_id.value)
            if m.phone is not None:
                found.add(m.phone.value)
            found.update(c.phone.value for c in m.emergency_contacts)
    return found


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    """Return the Minggong example, ledger included."""
    return load_scenario(example_path())


def leaks(texts: list[str], secrets: set[str]) -> list[str]:
    """Return the texts that contain one of the secrets."""
    return leaked(texts, secrets)


def test_the_minggong_example_logs_no_id_number_or_phone(
    scenario: Scenario, tmp_path: Path
) -> None:
    """Loading, the demo, a sweep, views, exports and refused input log no personal data."""
    secrets = secrets_of(scenario.households)
    messages: list[str] = []
    with everything_logged() as keep:
        store = open_store(f"sqlite:///{tmp_path / 'minggong.db'}", scheme=scenario.scheme)
        populate(store, scenario)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            assert 0 == main(["demo", "--db", f"sqlite:///{tmp_path / 'minggong.db'}"])
        EscalationEngine(store, scenario.workflow()).sweep(NOW.add(days=5))
        trail: list[AuditEntry] = []
        worker = Principal("grid-01", {Role.GRID_WORKER}, {"610102003006001"})
        supervisor = Principal("street-1", {Role.STREET_SUPERVISOR}, {"610102003"})
        with store() as uow:
            resident = scenario.households[0].members[0].id
            view_resident(uow, supervisor, resident, at=NOW, audit=trail.append)
            outside = next(
                h.members[0].id
                for h in scenario.households
                if h.members and not h.cell_code.startswith("610102003006001")
            )
            with contextlib.suppress(GridgovError):
                view_resident(uow, worker, outside, at=NOW, audit=trail.append)
            for bad in ("13800", "610102194603120010"):
                try:
                    report_case(
                        uow,
                        scenario.workflow(),
                        category="astrology",
                        source=CaseSource.WALK_IN,
                        cell_code="610102003006001",
                        description=f"电话 {bad}",
                        at=NOW,
                        actor="op",
                    )
                except GridgovError as exc:
                    messages.append(str(exc))
    store.close()
    texts = [r.getMessage() for r in keep.records] + messages + [repr(e) for e in trail]
    assert len(keep.records) > 100  # the example did log, at DEBUG
    assert [] == leaks(texts, secrets)
    assert [] == leaks([out.getvalue()], secrets)


def test_masked_exports_hold_no_id_number_or_phone(scenario: Scenario, tmp_path: Path) -> None:
    """The masked CSV ledger, Open311 requests and iCalendar feeds carry no personal data."""
    secrets = secrets_of(scenario.households)
    path = tmp_path / "masked.csv"
    write_households_csv(scenario.households, path, redaction=Redaction.MASKED)
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    with store() as uow:
        cases = list(uow.cases.open_in_subtree("610102", limit=100).items)
        venue = uow.venues.get("hui")
        series = [uow.series.get(s.id) for s in scenario.activities]
        feed = ical.venue_calendar(venue, series, now=NOW)
        occurrences = occurrences_in_venue(uow, "hui", start=NOW, end=NOW.add(days=7))
    requests = open311.dumps_requests(cases, scenario.catalogue)
    assert 2043 <= len(rows) - 1
    assert [] == leaks([",".join(r) for r in rows], secrets)
    assert [] == leaks([requests, feed], secrets)
    assert occurrences  # the feed covered a real programme


def test_a_full_view_is_audited_and_a_masked_view_is_not(scenario: Scenario) -> None:
    """Grid workers see their residents in full (recorded); supervisors see them masked."""
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    h = next(
        h
        for h in scenario.households
        if h.cell_code.startswith("610102003006001") and h.members and h.members[0].phone
    )
    r = h.members[0]
    worker = Principal("grid-01", {Role.GRID_WORKER}, {"610102003006001"})
    supervisor = Principal("street-1", {Role.STREET_SUPERVISOR}, {"610102003"})
    trail: list[AuditEntry] = []
    with store() as uow:
        full = view_resident(uow, worker, r.id, at=NOW, audit=trail.append)
        masked = view_resident(uow, supervisor, r.id, at=NOW, audit=trail.append)
        system = view_resident(uow, SYSTEM, r.id, at=NOW, audit=trail.append)
    assert r.phone is not None
    assert (r.phone.value, Redaction.FULL) == (full.phone, full.redaction)
    assert (r.phone.masked, Redaction.MASKED) == (masked.phone, masked.redaction)
    assert [("grid-01", f"resident:{r.id}"), ("system", f"resident:{r.id}")] == [
        (e.principal_id, e.subject) for e in trail
    ]
    assert Redaction.FULL == system.redaction


@given(
    st.lists(st.text("13800X田林 ", max_size=12), max_size=6),
    st.sets(st.text("13800X田林", min_size=1, max_size=4), max_size=5),
)
def test_leaked_finds_what_a_plain_search_finds(texts: list[str], secrets: set[str]) -> None:
    """``leaked`` returns exactly the texts a substring search of every secret returns."""
    assert [t for t in texts if any(s in t for s in secrets)] == leaked(texts, secrets)
