"""The retention purge: old contact notes and closed cases' reporters erased, once, by page."""

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import pytest

from gridgov import Address, GridCell, GridLevel, Household, Resident, Store, open_store
from gridgov.calendar import Period, WorkCalendar
from gridgov.care import ContactMethod
from gridgov.care.contacts import Outcome
from gridgov.cases import Action, CaseRole, CaseWorkflow
from gridgov.cases.model import CaseSource, Reporter
from gridgov.cli import main
from gridgov.errors import ValidationError
from gridgov.services.care import record_contact
from gridgov.services.cases import act_on_case, report_case
from gridgov.services.retention import PurgeReport, purge
from gridgov.settings import Retention, Settings

TZ = "Asia/Shanghai"
START = pendulum.datetime(2024, 3, 4, 9, tz=TZ)
NOW = pendulum.datetime(2026, 12, 7, 9, tz=TZ)
DAY = (Period(dt.time(8), dt.time(18)),)
WORKFLOW = CaseWorkflow(WorkCalendar(years=(2024, 2027), hours=dict.fromkeys(range(7), DAY)))


def _ledger(store: Store) -> None:
    """Store the district and an elder living there."""
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        elder = Resident("r1", "田秀兰", birth_date=pendulum.Date(1944, 3, 12))
        uow.households.add(Household("h1", "610102", Address("铁一村1号楼"), members=(elder,)))
        uow.commit()


def _contact(store: Store, at: pendulum.DateTime, notes: str) -> None:
    with store() as uow:
        record_contact(
            uow,
            resident_id="r1",
            method=ContactMethod.PHONE,
            outcome=Outcome.WELL,
            by="w1",
            at=at,
            now=at,
            notes=notes,
        )
        uow.commit()


def _case(store: Store, at: pendulum.DateTime, *, closed: bool) -> str:
    with store() as uow:
        case = report_case(
            uow,
            WORKFLOW,
            category="consultation",
            source=CaseSource.WALK_IN,
            cell_code="610102",
            description="咨询养老补贴",
            at=at,
            actor="w1",
            reporter=Reporter("田秀兰", "13587654321", resident_id="r1"),
        ).case
        steps = (
            [
                (Action.REGISTER, CaseRole.DISPATCHER),
                (Action.DISPATCH, CaseRole.DISPATCHER),
                (Action.START, CaseRole.HANDLER),
                (Action.HANDLE, CaseRole.HANDLER),
                (Action.VERIFY, CaseRole.VERIFIER),
                (Action.CLOSE, CaseRole.DISPATCHER),
            ]
            if closed
            else []
        )
        for n, (action, role) in enumerate(steps, start=1):
            act_on_case(
                uow,
                WORKFLOW,
                case.id,
                action,
                actor=f"{role.value}-1",
                role=role,
                at=at.add(minutes=10 * n),
                note="已答复",
            )
        uow.commit()
    return case.id


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a store with old and recent contacts, an old closed case and an old open one."""
    urls: dict[str, Callable[[], str]] = {
        "memory": lambda: "memory://",
        "sqlite": lambda: f"sqlite:///{tmp_path}/r.db",
        "postgresql": lambda: str(request.getfixturevalue("postgres_schema")),
    }
    s = open_store(urls[request.param]())
    _ledger(s)
    for days in (0, 30, 600):
        _contact(s, START.add(days=days), f"第{days}天: 儿子电话 13812345678")
    yield s
    s.close()


def _notes(store: Store) -> list[str]:
    with store() as uow:
        return sorted(c.notes for c in uow.contacts.for_resident("r1").items)


def test_old_notes_go_and_recent_ones_stay(store: Store) -> None:
    """Notes older than two years are erased; the contacts, and younger notes, stay."""
    report = purge(store, NOW, batch_size=1)
    assert (PurgeReport(contact_notes=2), ["", "", "第600天: 儿子电话 13812345678"]) == (
        report,
        _notes(store),
    )


def test_a_closed_case_forgets_its_reporter_after_a_year(store: Store) -> None:
    """Closed over a year ago: no reporter name or phone; an open case keeps them."""
    closed = _case(store, START, closed=True)
    still_open = _case(store, START.add(days=1), closed=False)
    report = purge(store, NOW)
    with store() as uow:
        reporters = [uow.cases.get(c).reporter for c in (closed, still_open)]
    assert (1, [("", None, "r1"), ("田秀兰", "13587654321", "r1")]) == (
        report.case_reporters,
        [(r.name, None if r.phone is None else r.phone.value, r.resident_id) for r in reporters],
    )


def test_a_second_purge_writes_nothing(store: Store) -> None:
    """What is erased is skipped: the second purge reports nothing."""
    _case(store, START, closed=True)
    first = purge(store, NOW)
    assert (PurgeReport(2, 1), PurgeReport()) == (first, purge(store, NOW))


def test_the_store_settings_decide(store: Store) -> None:
    """Settings keeping notes (``None``) and a one-day case retention: no note erased."""
    with store() as uow:
        uow.settings.save(Settings(retention=Retention(contact_notes_days=None)))
        uow.commit()
    assert (PurgeReport(), 3) == (purge(store, NOW), sum(1 for n in _notes(store) if n))


@pytest.mark.parametrize("days", [0, -1, 36501, True, 1.5])
def test_a_bad_period_names_its_field(days: object) -> None:
    """A retention is 1 to 36,500 whole days, or ``None``."""
    with pytest.raises(ValidationError) as caught:
        Retention(contact_notes_days=days)  # type: ignore[arg-type]
    assert "contact_notes_days" == caught.value.path


def test_the_command_purges_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``gridgov purge --at ... --json``: the counts, and the notes gone."""
    url = f"sqlite:///{tmp_path}/cmd.db"
    s = open_store(url)
    _ledger(s)
    _contact(s, START, "儿子电话 13812345678")
    s.close()
    code = main(["purge", "--db", url, "--at", "2026-12-07T09:00+08:00", "--json"])
    assert (0, {"contact_notes": 1, "case_reporters": 0}) == (
        code,
        json.loads(capsys.readouterr().out),
    )
