"""How the generated contract makes records of each declared kind: one recipe per kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import pendulum

from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import Period, WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome
from gridgov.care.criteria import AgeBelow, AllOf, HasTag, Not
from gridgov.care.policy import ContactMethod
from gridgov.cases.model import Case, Location
from gridgov.cases.workflow import Action, CaseRole
from gridgov.grid import Assignment, GridCell, GridLevel, Worker, WorkerRole
from gridgov.households import (
    Address,
    ForwardingContact,
    Household,
    HouseholdStatus,
    Tag,
)
from gridgov.idempotency import RememberedRequest
from gridgov.notify import NotificationState
from gridgov.records import KINDS, RecordKind
from gridgov.scheduling.registrations import Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.scheduling.venues import Blackout, Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.testing._components import sample_component
from gridgov.testing._notifications import sample_notification
from gridgov.testing._outbox import stored_event
from gridgov.testing._samples import (
    _advance,
    _audit,
    _case,
    _cell,
    _contact,
    _registration,
    _series,
    _shift,
    _signup,
    _task,
    _venue,
)
from gridgov.testing._world import (
    BUILDING_A1,
    COMMUNITY,
    GRID_A,
    GRID_B,
    T0,
    _household,
    _resident,
)

T = TypeVar("T")


@attrs.frozen
class _Recipe:
    """How the kit makes records of one declared kind in its standard world.

    Args:
        repository: The unit of work's attribute for the kind.
        needs: Parts of the world the records refer to (``households``, ``venues``, ``series``,
            ``shifts``), committed before the test.
        sample: The ``n``-th new record, valid in that world.
        change: A valid change of a stored record, or ``None`` if the kind has no ``update``.
        queries: The kind's port methods besides ``get``, ``add``, ``update`` and ``remove``.
        readable: Whether the port has ``get`` (the audit trail has not).
        repoint: Returns a record whose reference at a path names another key, for references
            that are not a field of the record's own (a case's cell is its location's).
        full: The kit's fullest record of the kind, valid in that world: optional fields set,
            instants in several zones and with microseconds, for the round trip.
    """

    repository: str
    needs: tuple[str, ...]
    sample: Callable[[int], Any]
    change: Callable[[Any], Any] | None
    queries: tuple[str, ...]
    readable: bool = True
    repoint: Callable[[Any, str, str], Any] | None = None
    full: Callable[[], Any] | None = None

    def pointed(self, record: Any, path: str, key: str) -> Any:
        """Return ``record`` with the reference at ``path`` naming ``key`` instead."""
        if self.repoint is not None:
            return self.repoint(record, path, key)
        return attrs.evolve(record, **{path: key})


def _full_household() -> Household:
    """Return a relocated household with a unit, a room, a tag and a forwarding contact."""
    return Household(
        "h-full",
        BUILDING_A1,
        Address("铁一村1号楼", unit="2", room="301"),
        status=HouseholdStatus.RELOCATED,
        members=(_resident("r-full", pendulum.Date(1955, 4, 1), Tag.LIVING_ALONE),),
        forwarding=ForwardingContact("未央区某小区", "13812345678"),
    )


def _full_contact() -> ContactAttempt:
    """Return a home visit with an outcome, notes and a task, at an instant with microseconds."""
    return attrs.evolve(
        _contact("c-full", "r1", T0.add(microseconds=123_456)),
        method=ContactMethod.HOME_VISIT,
        outcome=Outcome.UNWELL,
        notes="头晕，已通知女儿",
        task_id="t1",
    )


def _full_task() -> CareTask:
    """Return a task whose start has microseconds and whose due instant is in UTC."""
    return _task("t-full", "r1", T0.add(microseconds=7), due=T0.add(hours=2).in_timezone("UTC"))


def _full_case() -> Case:
    """Return a dispatched case with an external id, a point, instants in Berlin and Beijing."""
    reported = _case(
        "k-full",
        at=T0.add(microseconds=7).in_timezone("Europe/Berlin"),
        external_id="12345-20261128-0001",
    )
    return _advance(
        attrs.evolve(
            reported, location=Location(BUILDING_A1, address="铁一村1号楼", point=(108.95, 34.29))
        ),
        (Action.REGISTER, CaseRole.DISPATCHER),
        (Action.DISPATCH, CaseRole.DISPATCHER),
        to=_cell(GRID_B),
    )


def _full_venue() -> Venue:
    """Return a venue with a calendar of holidays, workdays and hours, spaces and blackouts."""
    return Venue(
        "v-full",
        "明宫HUI客厅",
        BUILDING_A1,
        WorkCalendar(
            holidays={pendulum.Date(2026, 10, 1), pendulum.Date(2026, 10, 2)},
            workdays={pendulum.Date(2026, 9, 27)},
            years=(2026, 2026),
            hours={
                0: (Period(dt.time(9), dt.time(12)), Period(dt.time(13, 30), dt.time(17, 30))),
                5: (Period(dt.time(8), dt.time(20)),),
            },
            tz="Asia/Shanghai",
        ),
        [Space("s1", "绘本馆", 20, {"projector", "tables"}), Space("s2", "多功能厅", 80)],
        [
            Blackout(T0.add(days=3), T0.add(days=3, hours=4).in_timezone("Europe/Berlin"), "x"),
            Blackout(T0.in_timezone("UTC"), T0.add(days=1), "消防检查", "s2"),
        ],
    )


def _full_series() -> ActivitySeries:
    """Return a weekly series with BYDAY, UNTIL, an exception, a cancelled and a moved one."""
    return ActivitySeries(
        "a-full",
        "自闭症儿童绘画课",
        "明宫社区居委会",
        "v1",
        "s1",
        T0.in_timezone("Europe/Berlin"),
        90,
        rrule="FREQ=WEEKLY;BYDAY=SA,WE;UNTIL=20261231T235959",
        exdates={T0.add(weeks=1)},
        changes=[
            OccurrenceChange(T0.add(days=4), cancelled=True, note="老师请假"),
            OccurrenceChange(
                T0.add(weeks=2), start=T0.add(weeks=2, hours=2).in_timezone("UTC"), space_id="s2"
            ),
        ],
        skip_holidays=True,
        setup_minutes=15,
        teardown_minutes=10,
        capacity=12,
        eligibility=AllOf([AgeBelow(14), Not(HasTag(Tag.LIVING_ALONE))]),
        description="每周三、周六上午",
    )


def _full_registration() -> Registration:
    """Return a waitlisted registration, its instants in Berlin and UTC."""
    return _registration(
        "g-full",
        "r3",
        T0.add(weeks=1).in_timezone("Europe/Berlin"),
        registered_at=T0.subtract(hours=5, microseconds=7).in_timezone("UTC"),
        state=RegistrationState.WAITLISTED,
    )


def _full_shift() -> Shift:
    """Return a shift with skills and an occurrence, its instants in Berlin and UTC."""
    return Shift(
        "sh-full",
        "v1",
        "社区卫生清扫",
        T0.in_timezone("Europe/Berlin"),
        T0.add(hours=3, microseconds=5).in_timezone("UTC"),
        4,
        {"first_aid", "driving"},
        occurrence_id="a1.20261128",
    )


def _full_signup() -> SignUp:
    """Return a completed sign-up with hours, its instants in Berlin, Beijing and UTC."""
    return SignUp(
        "su-full",
        "sh1",
        "r2",
        T0.in_timezone("Europe/Berlin"),
        T0.add(hours=3),
        SignUpState.COMPLETED,
        T0.subtract(days=2, microseconds=3).in_timezone("UTC"),
        hours=2.75,
    )


def _full_audit() -> AuditEntry:
    """Return an export entry with a cell and a detail, at an instant in Berlin."""
    return _audit(
        "a-full",
        T0.add(microseconds=123_456).in_timezone("Europe/Berlin"),
        "w1",
        AuditKind.EXPORTED,
        "query:households",
        cell_code=COMMUNITY,
        detail="csv, masked",
    )


def _offsets(value: object) -> list[str]:
    """Return every instant in ``value`` as ISO text, offsets included, in a stable order."""
    if isinstance(value, dt.datetime):
        return [value.isoformat()]
    if isinstance(value, str | bytes):
        return []
    cls = type(value)
    if attrs.has(cls):
        return [t for f in attrs.fields(cls) for t in _offsets(getattr(value, f.name))]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_offsets(k), *_offsets(v))]
    if isinstance(value, set | frozenset):
        return sorted(t for v in value for t in _offsets(v))
    if isinstance(value, list | tuple):
        return [t for v in value for t in _offsets(v)]
    return []


_RECIPES: dict[str, _Recipe] = {
    "cell": _Recipe(
        "cells",
        (),
        lambda n: GridCell(f"{GRID_A}{100 + n:03d}", f"楼{n}", GridLevel.BUILDING, GRID_A),
        lambda c: attrs.evolve(c, name=f"{c.name}改"),
        ("get_many", "children", "subtree", "tree"),
    ),
    "worker": _Recipe(
        "workers",
        (),
        lambda n: Worker(
            f"kw{n}",
            "安琼",
            frozenset({WorkerRole.GRID_WORKER}),
            (Assignment(GRID_A, pendulum.Date(2024, 1, 1)),),
        ),
        lambda w: attrs.evolve(w, name=f"{w.name}琼"),
        ("list", "assigned_to"),
    ),
    "household": _Recipe(
        "households",
        (),
        lambda n: _household(f"kh{n}", GRID_A, _resident(f"kr{n}", pendulum.Date(1950, 1, 1))),
        lambda h: attrs.evolve(h, address=Address("铁一村新址")),
        ("get_many", "household_of", "add_many", "in_subtree", "with_tag", "aged"),
        full=_full_household,
    ),
    "contact": _Recipe(
        "contacts",
        ("households",),
        lambda n: _contact(f"kc{n}", "r1", T0.add(minutes=n)),
        None,
        ("add_many", "for_resident", "in_subtree"),
        full=_full_contact,
    ),
    "care task": _Recipe(
        "care_tasks",
        ("households",),
        lambda n: _task(f"kt{n}", "r1", T0.add(hours=n)),
        lambda t: attrs.evolve(t, due=t.due.add(hours=1)),
        ("add_many", "open_for_resident", "open_in_subtree", "overdue", "claim_overdue"),
        full=_full_task,
    ),
    "case": _Recipe(
        "cases",
        (),
        lambda n: _case(f"kk{n}", at=T0.add(minutes=n)),
        lambda c: attrs.evolve(c, next_check=T0.add(days=1)),
        (
            "add_many",
            "by_external_id",
            "due",
            "open_in_subtree",
            "reported_in_subtree",
            "sightings",
        ),
        full=_full_case,
        repoint=lambda c, path, key: (
            attrs.evolve(c, location=attrs.evolve(c.location, cell_code=key))
            if path == "cell_code"
            else attrs.evolve(c, **{path: key})
        ),
    ),
    "venue": _Recipe(
        "venues",
        (),
        lambda n: _venue(f"kv{n}", GRID_A, "s1"),
        lambda v: attrs.evolve(v, name=f"{v.name}改"),
        ("in_subtree",),
        full=_full_venue,
    ),
    "series": _Recipe(
        "series",
        ("venues",),
        lambda n: _series(f"ka{n}", T0.add(days=n)),
        lambda s: attrs.evolve(s, title=f"{s.title}改"),
        ("add_many", "in_venue"),
        full=_full_series,
    ),
    "registration": _Recipe(
        "registrations",
        ("households", "venues", "series"),
        lambda n: _registration(f"kg{n}", "r1", T0.add(weeks=n)),
        lambda r: attrs.evolve(r, state=RegistrationState.WAITLISTED),
        ("for_occurrence", "for_resident"),
        full=_full_registration,
    ),
    "shift": _Recipe(
        "shifts",
        ("venues",),
        lambda n: _shift(f"ks{n}", T0.add(days=n)),
        lambda s: attrs.evolve(s, required=s.required + 1),
        ("in_venue",),
        full=_full_shift,
    ),
    "sign-up": _Recipe(
        "signups",
        ("households", "venues", "shifts"),
        lambda n: _signup(f"ku{n}", "r1"),
        lambda s: attrs.evolve(s, state=SignUpState.CANCELLED),
        ("for_shift", "for_resident"),
        full=_full_signup,
    ),
    "audit entry": _Recipe(
        "audit",
        (),
        lambda n: _audit(f"ke{n}", T0.add(seconds=n)),
        None,
        ("between",),
        full=_full_audit,
        readable=False,
    ),
    "remembered request": _Recipe(
        "requests",
        (),
        lambda n: RememberedRequest(
            id=f"key-{n}",
            service="gridgov.services.cases.report_case",
            fingerprint=f"{n:064d}",
            result="{}",
            at=T0,
            expires=T0.add(hours=1 + n),
        ),
        lambda r: attrs.evolve(r, expires=r.expires.add(hours=24)),
        ("forget_expired",),
    ),
    "event": _Recipe(
        "outbox",
        (),
        lambda n: stored_event(n, f"kk{n}"),
        None,
        ("add_many", "last_events", "pending", "for_aggregate", "mark_published", "prune"),
    ),
    "notification": _Recipe(
        "notifications",
        (),
        lambda n: sample_notification(n),
        lambda n: attrs.evolve(n, state=NotificationState.CANCELLED, next_at=None),
        ("add_many", "due", "claim_due", "about"),
    ),
    "component": _Recipe(
        "components",
        (),
        sample_component,
        lambda c: attrs.evolve(c, name=f"{c.name}改"),
        ("add_many", "in_subtree"),
        full=lambda: sample_component(99),
    ),
}


"""One recipe per declared kind but the settings singleton, whose contract is its own."""


_EVERY = tuple(_RECIPES)


_READABLE = tuple(k for k, r in _RECIPES.items() if r.readable)


_UPDATABLE = tuple(k for k, r in _RECIPES.items() if r.change is not None)


_REMOVABLE = tuple(k.name for k in KINDS if k.removable)


_STREAMED = tuple(k for k, r in _RECIPES.items() if "add_many" in r.queries)


# Kinds with a reference the kit can point at nothing (a field of the record, not a list).
_REFERRING = tuple(
    k.name
    for k in KINDS
    if k.name in _RECIPES
    and any(
        "[" not in path for ref in k.references for path, _ in ref.keys(_RECIPES[k.name].sample(1))
    )
)


_KINDS_ATTRIBUTE = "gridgov_kit_kinds"


def _for_kinds(kinds: tuple[str, ...]) -> Callable[[T], T]:
    """Mark a generated test with the kinds it applies to (see ``pytest_generate_tests``)."""

    def mark(test: T) -> T:
        setattr(test, _KINDS_ATTRIBUTE, kinds)
        return test

    return mark


def _declared(name: str) -> RecordKind[Any]:
    return next(k for k in KINDS if k.name == name)
