"""Hypothesis strategies for elder care, cases, deployment settings and the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs
import pendulum
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov.access import AuditEntry, AuditKind
from gridgov.calendar import WorkCalendar
from gridgov.care.contacts import CareTask, ContactAttempt, Outcome, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.cases.catalogue import (
    DEFAULT_CATALOGUE,
    Category,
    ServiceCatalogue,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.cases.escalation import (
    DEFAULT_ESCALATION,
    Anchor,
    EscalationKind,
    EscalationPolicy,
    EscalationStep,
)
from gridgov.cases.model import (
    Case,
    CaseSource,
    CaseState,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.cases.workflow import Action, CaseRole, CaseWorkflow
from gridgov.codes import (
    DEFAULT_SCHEME,
)
from gridgov.errors import TransitionError
from gridgov.grid import GridCell
from gridgov.settings import Settings
from gridgov.testing._strategies_basics import (
    _PRINTABLE,
    _codes,
    _given,
    _maybe,
    _text,
    aware_datetimes,
    identifiers,
    personal_names,
    phone_numbers,
)
from gridgov.testing._strategies_grid import _cell_code_strategy, cell_codes, grid_cells
from gridgov.testing._strategies_households import _address_lines


def contact_attempts(resident_id: str | None = None) -> st.SearchStrategy[ContactAttempt]:
    """Contact attempts with every method and outcome, at aware instants.

    Args:
        resident_id: The resident contacted; drawn when ``None``.

    Returns:
        A strategy of :class:`~gridgov.care.contacts.ContactAttempt`.
    """
    return st.builds(
        ContactAttempt,
        id=identifiers("c"),
        resident_id=_given(resident_id, identifiers("r")),
        household_id=identifiers("h"),
        cell_code=cell_codes(),
        method=st.sampled_from(list(ContactMethod)),
        outcome=st.sampled_from(list(Outcome)),
        by=identifiers("w"),
        at=aware_datetimes(),
        notes=_text(50),
        task_id=_maybe(identifiers("t")),
    )


@st.composite
def _care_tasks(draw: st.DrawFn, resident_id: str | None) -> CareTask:
    start = draw(aware_datetimes())
    due = start + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=90)))
    end = due + draw(st.timedeltas(dt.timedelta(0), dt.timedelta(days=90)))
    state = draw(st.sampled_from(list(TaskState)))
    return CareTask(
        id=draw(identifiers("t")),
        resident_id=resident_id if resident_id is not None else draw(identifiers("r")),
        household_id=draw(identifiers("h")),
        cell_code=draw(cell_codes()),
        kind=draw(st.sampled_from(list(TaskKind))),
        method=draw(st.sampled_from(list(ContactMethod))),
        start=start,
        due=due,
        end=end,
        reason_en=draw(_text(60).filter(str.strip)),
        reason_zh=draw(_text(60).filter(str.strip)),
        rule=draw(_codes()),
        tier=draw(_maybe(identifiers())),
        state=state,
        closed_by="" if state is TaskState.OPEN else draw(_text(40)),
        # Marked overdue by a sweep some time after it was due, or not (yet).
        overdue_at=draw(
            st.none()
            | st.timedeltas(dt.timedelta(microseconds=1), dt.timedelta(days=90)).map(
                lambda late: due + late
            )
        ),
    )


def care_tasks(resident_id: str | None = None) -> st.SearchStrategy[CareTask]:
    """Care tasks of every kind and state with ordered windows (start <= due <= end).

    Args:
        resident_id: The resident concerned; drawn when ``None``.

    Returns:
        A strategy of :class:`~gridgov.care.contacts.CareTask`.
    """
    return _care_tasks(resident_id)


_CASE_DESCRIPTIONS = (
    "楼道堆放杂物，堵塞消防通道",
    "小区路灯不亮已一周",
    "夜间施工噪音扰民",
    "下水道堵塞，污水外溢",
    "独居老人家中无人应答，请求上门查看",
    "电动车在楼道内充电",
    "Broken street light at the estate gate",
)


_CASE_NOTES = (
    "已联系物业处理",
    "现场核实情况属实",
    "等待居民提供照片",
    "需协调供水公司",
    "handled on site",
)


_CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)


_OWNER_LEVELS = (GridLevel.GRID, GridLevel.COMMUNITY, GridLevel.STREET, GridLevel.DISTRICT)


# A case's times stay in a range whose deadlines the working calendar can count quickly.
_CASE_INSTANTS = (dt.datetime(2000, 1, 1), dt.datetime(2050, 12, 31))


def _free_text(max_size: int) -> st.SearchStrategy[str]:
    """Non-empty stripped text mixing Chinese, other printable characters and spaces."""
    return (
        st.text(
            alphabet=_CJK | _PRINTABLE | st.sampled_from("，。、 "), min_size=1, max_size=max_size
        )
        .map(str.strip)
        .filter(bool)
    )


def _reporters() -> st.SearchStrategy[Reporter]:
    return st.builds(
        Reporter,
        name=st.just("") | personal_names(),
        phone=_maybe(phone_numbers()),
        resident_id=_maybe(identifiers("r")),
        worker_id=_maybe(identifiers("w")),
    )


def _locations(cells: st.SearchStrategy[str]) -> st.SearchStrategy[Location]:
    points = st.tuples(
        st.floats(min_value=73.0, max_value=135.0), st.floats(min_value=18.0, max_value=54.0)
    )
    return st.builds(
        Location,
        cell_code=cells,
        address=st.just("") | _address_lines(),
        point=_maybe(points),
    )


def _time_limits() -> st.SearchStrategy[TimeLimit]:
    return st.builds(
        TimeLimit, st.integers(min_value=1, max_value=30), st.sampled_from(list(TimeUnit))
    )


class _NoHigherUnit:
    """A hierarchy with nothing above any cell and nobody on duty: escalations only remind."""

    def parent_unit(self, cell_code: str) -> GridCell | None:
        return None

    def on_duty(self, cell_code: str, day: pendulum.Date, *, besides: str | None) -> str | None:
        return None


_CASE_WORKFLOW = CaseWorkflow(WorkCalendar())


_STEP_KINDS = [k for k in EscalationKind if k is not EscalationKind.DEADLINE_MISSED]


# The way forward from each state, taken most of the time so that cases also get closed.
_FORWARD = {
    CaseState.REPORTED: (Action.REGISTER, CaseRole.DISPATCHER),
    CaseState.REGISTERED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.RETURNED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.REOPENED: (Action.DISPATCH, CaseRole.DISPATCHER),
    CaseState.DISPATCHED: (Action.START, CaseRole.HANDLER),
    CaseState.IN_PROGRESS: (Action.HANDLE, CaseRole.HANDLER),
    CaseState.WAITING_ON_RESIDENT: (Action.RESUME, CaseRole.HANDLER),
    CaseState.EXTENSION_REQUESTED: (Action.APPROVE_EXTENSION, CaseRole.SUPERVISOR),
    CaseState.PARKED: (Action.UNPARK, CaseRole.SUPERVISOR),
    CaseState.HANDLED: (Action.VERIFY, CaseRole.VERIFIER),
    CaseState.VERIFIED: (Action.CLOSE, CaseRole.DISPATCHER),
    CaseState.CLOSED: (Action.EVALUATE, CaseRole.DISPATCHER),
}


@attrs.frozen
class _CaseParts:
    """Strategies for the parts of a case, built once per :func:`cases` call."""

    ids: st.SearchStrategy[str]
    owners: st.SearchStrategy[GridCell]
    locations: st.SearchStrategy[Location]
    max_steps: int
    reported_at: st.SearchStrategy[pendulum.DateTime]
    categories: st.SearchStrategy[str]
    sources: st.SearchStrategy[CaseSource]
    reporters: st.SearchStrategy[Reporter]
    descriptions: st.SearchStrategy[str]
    actors: st.SearchStrategy[str]
    urgencies: st.SearchStrategy[Urgency | None]
    external_ids: st.SearchStrategy[str | None]
    steps: st.SearchStrategy[dt.timedelta]
    notes: st.SearchStrategy[str]
    workers: st.SearchStrategy[str | None]
    extensions: st.SearchStrategy[TimeLimit]
    verdicts: st.SearchStrategy[Satisfaction]
    small: st.SearchStrategy[int]

    @classmethod
    def make(
        cls,
        ids: st.SearchStrategy[str],
        owners: st.SearchStrategy[GridCell],
        cells: st.SearchStrategy[str],
        max_steps: int,
    ) -> _CaseParts:
        return cls(
            ids=ids,
            owners=owners,
            locations=_locations(cells),
            max_steps=max_steps,
            reported_at=aware_datetimes(*_CASE_INSTANTS),
            categories=st.sampled_from([c.code for c in DEFAULT_CATALOGUE.categories]),
            sources=st.sampled_from(list(CaseSource)),
            reporters=_reporters(),
            descriptions=st.sampled_from(_CASE_DESCRIPTIONS) | _free_text(200),
            actors=identifiers("u"),
            urgencies=_maybe(st.sampled_from(list(Urgency))),
            external_ids=_maybe(identifiers("12345") | _free_text(40)),
            steps=st.timedeltas(dt.timedelta(0), dt.timedelta(days=20)),
            notes=st.sampled_from(_CASE_NOTES),
            workers=_maybe(identifiers("w")),
            extensions=_time_limits(),
            verdicts=st.sampled_from(list(Satisfaction)),
            small=st.integers(min_value=0, max_value=4),
        )


def cases(
    cell_codes: Sequence[str] | st.SearchStrategy[str] | None = None,
    owners: Sequence[GridCell] | st.SearchStrategy[GridCell] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    *,
    max_steps: int = 10,
) -> st.SearchStrategy[Case]:
    """Cases as the workflow makes them: reported, then taken through a few transitions.

    Each case is reported with :class:`~gridgov.cases.workflow.CaseWorkflow` on a
    :class:`~gridgov.calendar.WorkCalendar` without holidays, then goes through up to
    ``max_steps`` actions (mostly the way forward, else any action allowed in its state, at later
    instants) and escalation sweeps (which remind and mark missed deadlines, never raise the
    level). So its deadlines,
    history, ``fired`` firings and ``next_check`` agree, and ``next_check`` is ``None`` once it
    is closed or rejected; some open cases also have it cleared, and some have their last deadline
    and next check marked provisional. Descriptions and addresses are
    mostly Chinese; reporters have names, phones and ids, shown masked.

    Args:
        cell_codes: The cells the cases lie in (a sequence or a strategy); grid codes under
            :data:`~gridgov.codes.DEFAULT_SCHEME` by default.
        owners: The cells (grid level or above) that receive the cases and may be dispatched
            to (a sequence or a strategy); drawn under the default scheme by default.
        id: The case's key, or a strategy of keys.
        max_steps: The most actions and sweeps after the report.

    Returns:
        A strategy of :class:`~gridgov.cases.model.Case`.
    """
    if owners is None:
        owner_strategy = st.sampled_from(_OWNER_LEVELS).flatmap(
            lambda level: grid_cells(DEFAULT_SCHEME, level)
        )
    elif isinstance(owners, st.SearchStrategy):
        owner_strategy = owners
    else:
        owner_strategy = st.sampled_from(tuple(owners))
    return _cases(
        _CaseParts.make(
            _given(id, identifiers("case")),
            owner_strategy,
            _cell_code_strategy(cell_codes),
            max_steps,
        )
    )


@st.composite
def _cases(draw: st.DrawFn, parts: _CaseParts) -> Case:
    wf = _CASE_WORKFLOW
    at = draw(parts.reported_at)
    case = wf.report(
        case_id=draw(parts.ids),
        category=draw(parts.categories),
        source=draw(parts.sources),
        location=draw(parts.locations),
        reporter=draw(parts.reporters),
        description=draw(parts.descriptions),
        owner=draw(parts.owners),
        at=at,
        actor=draw(parts.actors),
        urgency=draw(parts.urgencies),
        external_id=draw(parts.external_ids),
    ).case
    for _ in range(draw(st.integers(min_value=0, max_value=parts.max_steps))):
        at = at + draw(parts.steps)
        if draw(parts.small) == 0:
            case = wf.escalate(case, at, _NoHigherUnit())[0]
            continue
        forward = _FORWARD.get(case.state)
        if forward is not None and draw(parts.small) > 0:
            action, role = forward
        else:
            options = [(a, r) for r in CaseRole for a in wf.allowed(case, r)]
            if not options:
                break
            action, role = draw(st.sampled_from(options))
        try:
            case = wf.apply(
                case,
                action,
                actor=draw(parts.actors),
                role=role,
                at=at,
                note=draw(parts.notes),
                to=draw(parts.owners) if draw(parts.small) == 0 else None,
                worker=draw(parts.workers),
                extension=draw(parts.extensions),
                satisfaction=draw(parts.verdicts),
            ).case
        except TransitionError:  # parking without an approved extension, and the like
            continue
    if case.next_check is not None and draw(parts.small) == 0:
        case = attrs.evolve(case, next_check=None)
    if case.deadlines and draw(parts.small) == 0:
        # As counted on a calendar whose last announced year is before the due instants'.
        last = case.deadlines[-1]
        case = attrs.evolve(
            case,
            deadlines=(
                *case.deadlines[:-1],
                attrs.evolve(last, provisional_years=(last.due.year,)),
            ),
            next_check_provisional_years=() if case.next_check is None else (case.next_check.year,),
        )
    return case


def _categories() -> st.SearchStrategy[Category]:
    return st.builds(
        Category,
        code=_codes(),
        label_en=_free_text(40),
        label_zh=st.text(alphabet=_CJK, min_size=1, max_size=10),
        limits=st.fixed_dictionaries({stage: _time_limits() for stage in Stage}),
        source=st.just("") | _free_text(60),
        emergency=st.booleans(),
    )


@st.composite
def _escalation_steps(draw: st.DrawFn, name: str) -> EscalationStep:
    anchor = draw(st.sampled_from(list(Anchor)))
    offset = draw(_maybe(_time_limits()))
    share = None
    before = False
    if anchor is Anchor.DEADLINE:
        if offset is None:
            share = draw(_maybe(st.floats(min_value=0.05, max_value=1.0)))
        else:
            before = draw(st.booleans())
    repeat = draw(_maybe(_time_limits()))
    return EscalationStep(
        name=name,
        action=draw(st.sampled_from(_STEP_KINDS)),
        reason_en=draw(_free_text(60)),
        reason_zh=draw(st.text(alphabet=_CJK, min_size=1, max_size=20)),
        anchor=anchor,
        offset=offset,
        before=before,
        share=share,
        stages=draw(st.frozensets(st.sampled_from(list(Stage)), min_size=1)),
        levels=draw(st.frozensets(st.sampled_from(_OWNER_LEVELS), min_size=1)),
        states=draw(st.frozensets(st.sampled_from(list(CaseState)), min_size=1)),
        repeat_every=repeat,
        max_times=1 if repeat is None else draw(st.integers(min_value=1, max_value=5)),
    )


@st.composite
def _escalation_policies(draw: st.DrawFn) -> EscalationPolicy:
    names = draw(st.lists(_codes(), max_size=4, unique=True))
    return EscalationPolicy(
        tuple(draw(_escalation_steps(name)) for name in names), mark_missed=draw(st.booleans())
    )


def deployment_settings() -> st.SearchStrategy[Settings]:
    """Case settings: the defaults, or drawn catalogues and escalation policies.

    Drawn catalogues hold one to four categories with a limit for every stage; drawn policies
    hold up to four valid steps (shares and offsets from deadlines or level entries, before or
    after, repeating or not).

    Returns:
        A strategy of :class:`~gridgov.settings.Settings` at version 0.
    """
    catalogues = st.builds(
        ServiceCatalogue, st.lists(_categories(), min_size=1, max_size=4, unique_by=_code_of)
    )
    drawn = st.builds(
        Settings,
        catalogue=st.just(DEFAULT_CATALOGUE) | catalogues,
        escalation=st.just(DEFAULT_ESCALATION) | _escalation_policies(),
    )
    return st.just(Settings()) | drawn


def _code_of(category: Category) -> str:
    return category.code


_AUDIT_SUBJECT_KINDS = ("resident", "household", "case", "contact")


_AUDIT_QUERIES = ("query:households", "query:residents", "export:households", "export:ical")


_AUDIT_DETAILS = ("read", "write", "full_view", "read_audit", "csv", "json", "ical", "out of scope")


@st.composite
def _audit_entries(
    draw: st.DrawFn,
    principal_ids: st.SearchStrategy[str],
    subjects: st.SearchStrategy[str],
    ids: st.SearchStrategy[str],
    kinds: st.SearchStrategy[AuditKind],
    details: st.SearchStrategy[str],
) -> AuditEntry:
    return AuditEntry(
        id=draw(ids),
        at=draw(aware_datetimes()),
        principal_id=draw(principal_ids),
        kind=draw(kinds),
        subject=draw(subjects),
        cell_code=draw(_maybe(cell_codes())),
        detail=draw(details),
    )


def audit_entries(
    principal_id: str | st.SearchStrategy[str] | None = None,
    subject: str | st.SearchStrategy[str] | None = None,
    id: str | st.SearchStrategy[str] | None = None,
    kind: AuditKind | st.SearchStrategy[AuditKind] | None = None,
) -> st.SearchStrategy[AuditEntry]:
    """Lines of the audit trail: denials, views of full records and exports, in any zone.

    Subjects are mostly records (``resident:<id>``, ``case:<id>``) and queries
    (``query:households``), sometimes free text; the cell is a code or ``None``; the detail is
    empty, a permission or a format, or free text.

    Args:
        principal_id: Who acted, or a strategy of principal ids.
        subject: What it concerned, or a strategy of subjects.
        id: The entry's key, or a strategy of keys.
        kind: What the entry records, or a strategy of kinds.

    Returns:
        A strategy of :class:`~gridgov.access.AuditEntry` at version 0.
    """
    records = st.builds("{}:{}".format, st.sampled_from(_AUDIT_SUBJECT_KINDS), identifiers())
    return _audit_entries(
        _given(principal_id, identifiers("w") | st.just("system") | identifiers()),
        _given(subject, records | st.sampled_from(_AUDIT_QUERIES) | _free_text(200)),
        _given(id, identifiers("audit")),
        _given(kind, st.sampled_from(list(AuditKind))),
        st.just("") | st.sampled_from(_AUDIT_DETAILS) | _free_text(500),
    )
