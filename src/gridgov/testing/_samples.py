"""The kit's records and worlds, shared by the contracts.

Builders of valid records of every kind, the fixtures that commit the elders, venues, series and
shifts the contracts start from, and paging helpers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, settings

from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.cases.model import Case, CaseSource, Location, Reporter
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.errors import NotFoundError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import (
    Household,
    Resident,
)
from gridgov.ports import Page, UnitOfWork
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange, occurrence_id
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.testing._world import (
    BUILDING_A1,
    BUILDING_A2,
    COMMUNITY,
    GRID_A,
    GRID_B,
    OTHER_STREET,
    T0,
    UowFactory,
    _Base,
    _cells,
    _household,
    _resident,
)

T = TypeVar("T")


def _all_pages(fetch: Callable[[str | None], Page[T]]) -> list[T]:
    """Follow ``next_cursor`` until the last page and return every item."""
    items: list[T] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def _race(count: int, work: Callable[[int], None]) -> None:
    """Run ``work(0)`` to ``work(count - 1)`` on as many threads, released at once; wait for all."""
    gate = threading.Barrier(count)

    def run(i: int) -> None:
        gate.wait(timeout=30)
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def _ages_population() -> list[Household]:
    births = [
        pendulum.Date(1940, 2, 29),
        pendulum.Date(1946, 11, 28),
        pendulum.Date(1946, 11, 29),
        pendulum.Date(1956, 11, 28),
        pendulum.Date(1956, 11, 29),
        pendulum.Date(1966, 3, 1),
        pendulum.Date(1990, 6, 15),
        pendulum.Date(2016, 2, 29),
        pendulum.Date(2026, 11, 28),
    ]
    cells = [BUILDING_A1, BUILDING_A2, GRID_B]
    return [
        _household(f"h{i}", cells[i % 3], _resident(f"r{i}", birth))
        for i, birth in enumerate(births)
    ]


# Where each elder of the care contracts lives: resident -> (household, cell).
_HOMES = {
    "r1": ("h1", BUILDING_A1),
    "r2": ("h1", BUILDING_A1),
    "r3": ("h2", BUILDING_A2),
    "r4": ("h3", GRID_B),
    "r5": ("h4", GRID_A),
}


def _elders() -> list[Household]:
    births = {
        "r1": pendulum.Date(1940, 5, 1),
        "r2": pendulum.Date(1944, 3, 3),
        "r3": pendulum.Date(1938, 1, 9),
        "r4": pendulum.Date(1950, 7, 7),
        "r5": pendulum.Date(1946, 2, 2),
    }
    homes: dict[str, tuple[str, list[Resident]]] = {}
    for rid, (hid, cell) in _HOMES.items():
        homes.setdefault(hid, (cell, []))[1].append(_resident(rid, births[rid]))
    return [_household(hid, cell, *members) for hid, (cell, members) in homes.items()]


def _contact(
    cid: str,
    rid: str,
    at: pendulum.DateTime,
    *,
    household_id: str | None = None,
    cell_code: str | None = None,
) -> ContactAttempt:
    """Return a phone call to ``rid`` at ``at``; the household and cell default to theirs."""
    hid, cell = _HOMES.get(rid, ("h1", BUILDING_A1))
    return ContactAttempt(
        cid,
        rid,
        household_id or hid,
        cell_code or cell,
        ContactMethod.PHONE,
        Outcome.WELL,
        "w1",
        at,
    )


def _task(
    tid: str,
    rid: str,
    start: pendulum.DateTime,
    *,
    due: pendulum.DateTime | None = None,
    household_id: str | None = None,
    cell_code: str | None = None,
    state: TaskState = TaskState.OPEN,
) -> CareTask:
    """Return a home-visit task for ``rid`` starting at ``start``, due 2 hours later by default."""
    hid, cell = _HOMES.get(rid, ("h1", BUILDING_A1))
    due = start.add(hours=2) if due is None else due
    return CareTask(
        tid,
        rid,
        household_id or hid,
        cell_code or cell,
        TaskKind.ROUTINE,
        ContactMethod.HOME_VISIT,
        start,
        due,
        due.add(days=7),
        "routine home visit",
        "例行上门探访",
        "cadence:high:home_visit",
        tier="high",
        state=state,
    )


class _CareBase(_Base):
    """Fixtures shared by the care contracts."""

    @pytest.fixture
    def elders(self, store: UowFactory) -> UowFactory:
        """Return the store with the cell tree and the elders' households committed."""
        self.add_households(store, _elders())
        return store


_CASE_FLOW = CaseWorkflow(WorkCalendar())


_FROM_WORKFLOW: Literal["workflow"] = "workflow"


# The kit's hypothesis runs share one store per test, examples differ in ids; an adapter's store
# is costly to make, so the health check against function-scoped fixtures is off.
_KIT_HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)


def _cell(code: str) -> GridCell:
    """Return the kit's cell ``code``, or a grid of that code under the community if unknown."""
    known = {c.code: c for c in _cells()}
    return known.get(code) or GridCell(code, "未知网格", GridLevel.GRID, COMMUNITY)


def _case(
    cid: str,
    cell: str = BUILDING_A1,
    at: pendulum.DateTime = T0,
    *,
    owner: str = GRID_A,
    next_check: pendulum.DateTime | Literal["workflow"] | None = _FROM_WORKFLOW,
    external_id: str | None = None,
) -> Case:
    """Return a complaint reported at ``at`` in ``cell``, owned by ``owner``.

    Its ``next_check`` is the workflow's (the registration deadline) unless one is given.
    """
    case = _CASE_FLOW.report(
        case_id=cid,
        category="complaint",
        source=CaseSource.HOTLINE_12345,
        location=Location(cell, address="铁一村1号楼2单元301室"),
        reporter=Reporter(name="王秀英", phone="13812345678"),
        description="楼道堆放杂物，堵塞消防通道",
        owner=_cell(owner),
        at=at,
        actor="w1",
        external_id=external_id,
    ).case
    if next_check == _FROM_WORKFLOW:
        return case
    return attrs.evolve(case, next_check=next_check)


def _advance(case: Case, *steps: tuple[Action, CaseRole], to: GridCell | None = None) -> Case:
    """Take ``steps`` on ``case``, an hour apart after its last history entry."""
    at = case.history[-1].at
    for action, role in steps:
        at = at.add(hours=1)
        case = _CASE_FLOW.apply(
            case,
            action,
            actor=f"{role.value}-1",  # one person per role: separation of duties holds
            role=role,
            at=at,
            note="已处理",
            to=to if action is Action.DISPATCH else None,
            worker="w2" if action is Action.DISPATCH else None,
        ).case
    return case


_TO_CLOSED = (
    (Action.REGISTER, CaseRole.DISPATCHER),
    (Action.DISPATCH, CaseRole.DISPATCHER),
    (Action.START, CaseRole.HANDLER),
    (Action.HANDLE, CaseRole.HANDLER),
    (Action.VERIFY, CaseRole.VERIFIER),
    (Action.CLOSE, CaseRole.DISPATCHER),
)


def _closed(case: Case) -> Case:
    """Return ``case`` taken through the closed loop to closed (its next check cleared)."""
    return _advance(case, *_TO_CLOSED)


def _instants(case: Case) -> list[str]:
    """Return every instant of ``case`` as ISO text, offsets included."""
    out = [case.reported_at.isoformat()]
    out.extend(t.isoformat() for t in (case.level_since, case.next_check) if t is not None)
    for d in case.deadlines:
        out.extend(t.isoformat() for t in (d.start, d.due, d.met_at, d.paused_at) if t)
    out.extend(h.at.isoformat() for h in case.history)
    return out


def _ids(page_or_items: Page[Any] | Iterable[Any]) -> list[str]:
    items = page_or_items.items if isinstance(page_or_items, Page) else page_or_items
    return [c.id for c in items]


# Open every day from 08:00 to 21:00 in 2026 and 2027, closed on National Day.
_OPENING = WorkCalendar(
    holidays={pendulum.Date(2026, 10, 1)},
    years=(2026, 2027),
    hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),)),
)


def _venue(vid: str = "v1", cell: str = GRID_A, *spaces: str) -> Venue:
    """Return a venue in ``cell`` with the spaces named (``s1`` and ``s2`` by default)."""
    return Venue(
        vid,
        f"活动中心{vid}",
        cell,
        _OPENING,
        [Space(s, f"活动室{s}", 20) for s in spaces or ("s1", "s2")],
    )


def _series(
    sid: str,
    start: pendulum.DateTime = T0,
    *,
    venue: str = "v1",
    space: str = "s1",
    minutes: int = 90,
    rrule: str | None = None,
    changes: Iterable[OccurrenceChange] = (),
) -> ActivitySeries:
    """Return an activity of ``minutes`` in ``venue``/``space`` from ``start``, once by default."""
    return ActivitySeries(
        sid, f"活动{sid}", "w1", venue, space, start, minutes, rrule=rrule, changes=changes
    )


def _occurrence(series_id: str, original_start: pendulum.DateTime) -> str:
    """Return the id registrations keep for the occurrence of a series at that start."""
    return occurrence_id(series_id, original_start)


def _registration(
    rid: str,
    resident: str = "r1",
    start: pendulum.DateTime = T0,
    *,
    minutes: int = 90,
    series: str = "a1",
    occurrence: str | None = None,
    registered_at: pendulum.DateTime | None = None,
    state: RegistrationState = RegistrationState.CONFIRMED,
) -> Registration:
    """Return ``resident``'s registration for the occurrence of ``series`` at ``start``."""
    hid, cell = _HOMES.get(resident, ("h1", BUILDING_A1))
    return Registration(
        rid,
        series,
        occurrence or _occurrence(series, start),
        "v1",
        resident,
        hid,
        cell,
        start,
        start.add(minutes=minutes),
        state,
        registered_at or start.subtract(days=1),
    )


def _shift(
    sid: str, start: pendulum.DateTime = T0, *, venue: str = "v1", minutes: int = 180
) -> Shift:
    """Return a shift of ``minutes`` at ``venue`` needing three volunteers."""
    return Shift(sid, venue, f"志愿服务{sid}", start, start.add(minutes=minutes), 3)


def _signup(
    suid: str,
    resident: str = "r1",
    start: pendulum.DateTime = T0,
    *,
    shift: str = "sh1",
    minutes: int = 180,
    at: pendulum.DateTime | None = None,
    state: SignUpState = SignUpState.SIGNED_UP,
) -> SignUp:
    """Return ``resident``'s sign-up for a shift from ``start`` lasting ``minutes``."""
    return SignUp(
        suid,
        shift,
        resident,
        start,
        start.add(minutes=minutes),
        state,
        at or start.subtract(days=2),
    )


def _keys(records: Iterable[Venue | ActivitySeries | Registration | Shift | SignUp]) -> list[str]:
    return [r.id for r in records]


def _stored(fetch: Callable[[], object]) -> bool:
    """Return whether ``fetch`` finds its record (False on NotFoundError)."""
    try:
        fetch()
    except NotFoundError:
        return False
    return True


class _SchedulingBase(_CareBase):
    """Fixtures shared by the scheduling contracts."""

    @pytest.fixture
    def venued(self, elders: UowFactory) -> UowFactory:
        """Return the store with cells, elders and three venues: v1, v2 and v3 (elsewhere)."""
        with elders() as uow:
            uow.venues.add(_venue("v1", GRID_A, "s1", "s2"))
            uow.venues.add(_venue("v2", GRID_B, "s1"))
            uow.venues.add(_venue("v3", OTHER_STREET, "hall"))
            uow.commit()
        return elders

    @staticmethod
    def all_series(
        uow: UnitOfWork,
        venue: str,
        start: pendulum.DateTime,
        end: pendulum.DateTime,
        limit: int = 100,
    ) -> list[str]:
        """Return the ids of the venue's series in the window, following the cursors."""
        return _keys(
            _all_pages(
                lambda a: uow.series.in_venue(venue, start=start, end=end, limit=limit, after=a)
            )
        )

    @staticmethod
    def all_venues(uow: UnitOfWork, cell: str, limit: int = 100) -> list[str]:
        """Return the ids of the subtree's venues, following the cursors."""
        return _keys(_all_pages(lambda a: uow.venues.in_subtree(cell, limit=limit, after=a)))


_WEEKLY = "FREQ=WEEKLY"


def _series_instants(series: ActivitySeries) -> list[str]:
    """Return every instant of a series as ISO text, offsets included, in a stable order."""
    out = [series.start.isoformat(), *sorted(t.isoformat() for t in series.exdates)]
    for c in series.changes:
        out.extend(t.isoformat() for t in (c.original_start, c.start) if t is not None)
    return out


class _RegistrationBase(_SchedulingBase):
    """The store with venues and two series to register for."""

    @pytest.fixture
    def scheduled(self, venued: UowFactory) -> UowFactory:
        """Return the store with cells, elders, venues, a weekly series a1 and a daily a2."""
        with venued() as uow:
            uow.series.add(_series("a1", rrule=_WEEKLY))
            uow.series.add(_series("a2", venue="v2", rrule="FREQ=DAILY;COUNT=10"))
            uow.commit()
        return venued


def _audit(
    aid: str,
    at: pendulum.DateTime,
    principal: str = "w1",
    kind: AuditKind = AuditKind.VIEWED_FULL_RECORD,
    subject: str = "resident:r1",
    *,
    cell_code: str | None = None,
    detail: str = "",
) -> AuditEntry:
    """Return an audit entry; by default w1 viewing resident r1's full record."""
    return AuditEntry(aid, at, principal, kind, subject, cell_code, detail)


def _audit_trail() -> list[AuditEntry]:
    """Return entries around ``[T0, T0 + 10 minutes)``, in several zones, two at one instant."""
    minute = T0.add(minutes=1)
    return [
        _audit("a8", T0.subtract(microseconds=1)),  # just before the window
        _audit("a1", T0, cell_code=BUILDING_A1),
        _audit("a2", minute.in_timezone("UTC"), "w2", AuditKind.DENIED, detail="read"),
        _audit("a3", T0.add(minutes=2), kind=AuditKind.DENIED, subject="case:k1"),
        _audit("a4", T0.add(minutes=3), kind=AuditKind.EXPORTED, subject="query:households"),
        _audit("a5", T0.add(minutes=3).in_timezone("America/New_York"), "w2"),  # a4's instant
        _audit("a6", T0.add(minutes=4), "auditor", AuditKind.EXPORTED, "case:k1"),
        _audit("a7", T0.add(minutes=5).in_timezone("Europe/Berlin")),
        _audit("a0", T0.add(minutes=6), kind=AuditKind.DENIED),  # first by id, not by time
        _audit("a9", T0.add(minutes=10).in_timezone("UTC")),  # at the window's end: left out
    ]


_AUDIT_WINDOW: dict[str, Any] = {"since": T0, "until": T0.add(minutes=10)}


def _audit_ids(page: Page[AuditEntry] | Iterable[AuditEntry]) -> list[str]:
    return [e.id for e in (page.items if isinstance(page, Page) else page)]
