"""Case roles come from the principal, and who did a step does not check it (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pendulum
import pytest

from gridgov import GridCell, GridLevel, Store, open_store
from gridgov.access import Principal, Role
from gridgov.calendar import WorkCalendar
from gridgov.cases import Action, CaseRole, CaseSource, CaseWorkflow
from gridgov.cases.catalogue import TimeLimit
from gridgov.errors import AccessDeniedError, TransitionError
from gridgov.ports import UnitOfWork
from gridgov.services.cases import CASE_ROLES, act_on_case, report_case
from gridgov.services.scoped import scoped
from gridgov.testing import ManualClock

AT = pendulum.datetime(2026, 11, 23, 10, tz="Asia/Shanghai")  # a Monday
GRID = "610102003006001"
WORKFLOW = CaseWorkflow(WorkCalendar.china())
WORKER = Principal("w1", {Role.GRID_WORKER}, {GRID})
OTHER_WORKER = Principal("w2", {Role.GRID_WORKER}, {GRID})
STAFF = Principal("s1", {Role.COMMUNITY_STAFF}, {"610102003006"})
SUPERVISOR = Principal("sup1", {Role.STREET_SUPERVISOR}, {"610102003"})


class Denials:
    """An audit sink that keeps the denials."""

    def __init__(self) -> None:
        self.entries: list[object] = []

    def __call__(self, entry: object) -> None:
        """Keep ``entry``."""
        self.entries.append(entry)


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a memory store with a grid and one case in progress, handled by nobody yet."""
    s = open_store("memory://")
    with s() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.cells.add(GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"))
        uow.cells.add(GridCell("610102003006", "明宫社区", GridLevel.COMMUNITY, "610102003"))
        uow.cells.add(GridCell(GRID, "铁一村网格", GridLevel.GRID, "610102003006"))
        report_case(
            uow,
            WORKFLOW,
            category="complaint",
            source=CaseSource.PATROL,
            cell_code=GRID,
            description="楼道堆物",
            at=AT,
            actor="w1",
            case_id="k1",
        )
        for minutes, action, actor, role in (
            (5, Action.REGISTER, "s1", CaseRole.DISPATCHER),
            (10, Action.DISPATCH, "s1", CaseRole.DISPATCHER),
            (20, Action.START, "w1", CaseRole.HANDLER),
        ):
            act_on_case(
                uow, WORKFLOW, "k1", action, actor=actor, role=role, at=AT.add(minutes=minutes)
            )
        uow.commit()
    yield s
    s.close()


def _act(
    uow: UnitOfWork, principal: Principal, action: Action, role: CaseRole, minutes: int
) -> None:
    mine = scoped(uow, principal, audit=Denials(), clock=ManualClock(AT))
    act_on_case(
        mine,
        WORKFLOW,
        "k1",
        action,
        actor=principal.id,
        role=role,
        at=AT.add(minutes=minutes),
        note="已处理",
        extension=TimeLimit.parse("5 working days") if action is Action.REQUEST_EXTENSION else None,
    )


def test_a_grid_worker_cannot_claim_the_supervisor_role(store: Store) -> None:
    """The issue's finding: a worker asking for an extension and approving it as supervisor."""
    with store() as uow:
        _act(uow, WORKER, Action.REQUEST_EXTENSION, CaseRole.HANDLER, 30)
        with pytest.raises(AccessDeniedError) as info:
            _act(uow, WORKER, Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, 40)
    assert "w1 (grid_worker) may not act on case k1 as supervisor" == str(info.value)


def test_a_principal_acts_only_under_its_own_id(store: Store) -> None:
    """A scoped unit's principal naming someone else as the actor is refused."""
    with store() as uow:
        mine = scoped(uow, WORKER, audit=Denials(), clock=ManualClock(AT))
        with pytest.raises(AccessDeniedError) as info:
            act_on_case(
                mine,
                WORKFLOW,
                "k1",
                Action.HANDLE,
                actor="w9",
                role=CaseRole.HANDLER,
                at=AT.add(minutes=30),
                note="已处理",
            )
    assert "w1 may act on case k1 only as themselves" == str(info.value)


def test_whoever_requested_an_extension_does_not_approve_it(store: Store) -> None:
    """A supervisor who requested nothing approves; the requester may not, whatever the role."""
    with store() as uow:
        _act(uow, WORKER, Action.REQUEST_EXTENSION, CaseRole.HANDLER, 30)
        uow.commit()
    with store() as uow:
        requester = Principal("w1", {Role.GRID_WORKER, Role.STREET_SUPERVISOR}, {GRID})
        with pytest.raises(TransitionError, match="separation of duties"):
            _act(uow, requester, Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, 40)
        _act(uow, SUPERVISOR, Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR, 40)
        uow.commit()
    with store() as uow:
        last = uow.cases.get("k1").history[-1]
    assert ("approve_extension", "sup1", "supervisor") == (last.action, last.actor, last.role)


def test_whoever_handled_a_case_does_not_verify_it(store: Store) -> None:
    """The handler's verification is refused; another worker's is taken."""
    with store() as uow:
        _act(uow, WORKER, Action.HANDLE, CaseRole.HANDLER, 30)
        with pytest.raises(TransitionError, match="'w1' handled the case"):
            _act(uow, WORKER, Action.VERIFY, CaseRole.VERIFIER, 40)
        _act(uow, OTHER_WORKER, Action.VERIFY, CaseRole.VERIFIER, 40)
        state = uow.cases.get("k1").state.value
    assert "verified" == state


def test_separation_of_duties_can_be_switched_off(store: Store) -> None:
    """A workflow without it lets the handler verify (a one-person station, say)."""
    lenient = attrs.evolve(WORKFLOW, separation_of_duties=False)
    with store() as uow:
        for minutes, action, role in (
            (30, Action.HANDLE, CaseRole.HANDLER),
            (40, Action.VERIFY, CaseRole.VERIFIER),
        ):
            act_on_case(
                uow,
                lenient,
                "k1",
                action,
                actor="w1",
                role=role,
                at=AT.add(minutes=minutes),
                note="已处理",
            )
        state = uow.cases.get("k1").state.value
    assert "verified" == state


def test_every_platform_role_has_its_case_roles() -> None:
    """Each role maps to case roles; an auditor acts in none, the system in all."""
    assert (set(Role), frozenset(), frozenset(CaseRole)) == (
        set(CASE_ROLES),
        CASE_ROLES[Role.AUDITOR],
        CASE_ROLES[Role.SYSTEM],
    )
