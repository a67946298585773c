"""The data subject's rights: one person's data exported, and erased leaving no trace of them."""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov import (
    Address,
    GridCell,
    GridLevel,
    Household,
    LivingArrangement,
    Resident,
    Store,
    Tag,
    open_store,
)
from gridgov.calendar import Period, WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome
from gridgov.cases import CaseWorkflow
from gridgov.cases.model import CaseSource, Reporter
from gridgov.errors import ValidationError
from gridgov.households import EmergencyContact
from gridgov.notify.notifier import Notifier
from gridgov.notify.transports import LogTransport
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Space, Venue
from gridgov.services.care import coverage, record_contact
from gridgov.services.cases import report_case
from gridgov.services.person import ERASED, erase_person, export_person
from gridgov.services.scheduling import register
from gridgov.testing import ManualClock, leaked

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 20, 9, tz=TZ)
GRID = "610102003006001"
BUILDING = f"{GRID}001"
NAME, NATIONAL_ID, PHONE = "田秀兰", "610102194403120024", "13587654321"
SON, SON_PHONE = "田小明", "13812345678"
SECRETS = (NAME, NATIONAL_ID, PHONE, SON, SON_PHONE, "301室")
WORKFLOW = CaseWorkflow(
    WorkCalendar(
        years=(2026, 2027), hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(18)),))
    )
)


def _world(store: Store) -> None:
    """An elder living alone with a neighbour, her contacts, tasks, booking, case, notices."""
    with store() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"),
            GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        elder = Resident(
            "r1",
            NAME,
            national_id=NATIONAL_ID,
            phone=PHONE,
            tags={Tag.LIVING_ALONE},
            living_arrangement=LivingArrangement.ALONE,
            emergency_contacts=(EmergencyContact(SON, SON_PHONE, relationship="儿子"),),
        )
        neighbour = Resident("r2", "赵强", birth_date=pendulum.Date(1950, 5, 1))
        home = Address("铁一村1号楼", "3", "301室")
        uow.households.add(Household("h1", BUILDING, home, members=(elder,)))
        uow.households.add(
            Household("h2", BUILDING, Address("铁一村1号楼", "4"), members=(neighbour,))
        )
        uow.venues.add(
            Venue(
                "hui",
                "明宫HUI客厅",
                GRID,
                WORKFLOW.calendar,
                [Space("s1", "活动室", 20)],
            )
        )
        uow.series.add(ActivitySeries("clinic", "健康义诊", "w1", "hui", "s1", NOW.add(days=3), 90))
        uow.commit()
    for minutes, outcome, notes in (
        (0, Outcome.NO_ANSWER, ""),
        (60, Outcome.UNWELL, f"她说头晕，儿子{SON}的电话{SON_PHONE}"),
    ):
        at = NOW.add(minutes=minutes)
        with store() as uow:
            record_contact(
                uow,
                resident_id="r1",
                method=ContactMethod.PHONE,
                outcome=outcome,
                by="w1",
                at=at,
                now=at,
                notes=notes,
            )
            uow.commit()
    with store() as uow:
        register(uow, series_id="clinic", original_start=NOW.add(days=3), resident_id="r1", at=NOW)
        report_case(
            uow,
            WORKFLOW,
            category="complaint",
            source=CaseSource.HOTLINE_12345,
            cell_code=BUILDING,
            description=f"{NAME}反映楼道堆物，回电{PHONE}",
            at=NOW.add(hours=2),
            actor="w1",
            reporter=Reporter(NAME, PHONE, resident_id="r1"),
        )
        uow.commit()
    Notifier(store, LogTransport(), clock=ManualClock(NOW.add(hours=3))).deliver_once()


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a store of each kind holding the elder's story."""
    urls: dict[str, Callable[[], str]] = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path}/p.db",
        "postgresql": lambda: str(request.getfixturevalue("postgres_schema")),
        "mysql": lambda: str(request.getfixturevalue("mysql_database")),
    }
    s = open_store(urls[request.param]())
    _world(s)
    yield s
    s.close()


def _covered(store: Store) -> tuple[int, ...]:
    with store() as uow:
        figures = coverage(
            uow, GRID, start=NOW.date().start_of("month"), end=NOW.date().add(days=1)
        )
    return attrs.astuple(figures)[1:]


def test_the_export_holds_every_record_about_the_person(store: Store) -> None:
    """Ledger entry, contacts, open tasks, booking, reported case, notices: all in one document."""
    with store() as uow:
        exported = export_person(uow, "r1").to_json()
    counts = {k: len(v) for k, v in exported.items() if isinstance(v, list)}
    assert (
        NATIONAL_ID,
        {
            "contacts": 2,
            "care_tasks": 3,
            "registrations": 1,
            "signups": 0,
            "cases_reported": 1,
            "notifications": 3,
            "audit": 0,
        },
    ) == (exported["resident"]["national_id"], counts)


def test_erasure_leaves_no_trace_of_the_person(store: Store) -> None:
    """No name, ID, phone, family contact or room left anywhere; the neighbour untouched."""
    with store() as uow:
        erased = erase_person(uow, "r1")
        uow.commit()
    with store() as uow:
        exported = export_person(uow, "r1").to_json()
        neighbour = uow.households.household_of("r2").member("r2")
    assert ([], ERASED, "赵强", 1) == (
        leaked([json.dumps(exported, ensure_ascii=False)], SECRETS),
        exported["resident"]["name"],
        neighbour.name,
        erased.household,
    )


def test_erasure_keeps_the_figures(store: Store) -> None:
    """Coverage counts the same before and after: tiers and contacts are kept."""
    before = _covered(store)
    with store() as uow:
        erase_person(uow, "r1")
        uow.commit()
    assert before == _covered(store)


def test_a_second_erasure_changes_nothing(store: Store) -> None:
    """Run again, the erasure finds nothing to do and writes nothing."""
    with store() as uow:
        first = erase_person(uow, "r1")
        uow.commit()
    with store() as uow:
        second = erase_person(uow, "r1")
        uow.commit()
    assert (True, 0) == (first.changed >= 4, second.changed)


def test_the_stored_documents_hold_no_trace(tmp_path: Path) -> None:
    """Every text column of every SQLite table, read raw after the erasure: nothing of hers."""
    import sqlite3

    path = tmp_path / "raw.db"
    store = open_store(f"sqlite:///{path}")
    _world(store)
    with store() as uow:
        erase_person(uow, "r1")
        uow.commit()
    store.close()
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        texts = [repr(row) for t in tables for row in conn.execute(f"SELECT * FROM {t}")]
    conn.close()
    assert [] == leaked(texts, SECRETS)


def test_an_unknown_person_is_refused_by_field(store: Store) -> None:
    """An id no resident has: a ValidationError on ``resident_id``."""
    with store() as uow, pytest.raises(ValidationError) as caught:
        erase_person(uow, "nobody")
    assert "resident_id" == caught.value.path
