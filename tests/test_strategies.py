"""Tests for gridgov.testing.strategies: every strategy yields valid, rebuildable objects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import attrs
import pendulum
import pytest
from attrs import AttrsInstance
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from gridgov import _json
from gridgov.access import AuditEntry, AuditKind
from gridgov.cases.model import Case, CaseState
from gridgov.codes import CodeScheme, NationalId, PhoneNumber, Sex
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
    Resident,
    Tag,
)
from gridgov.scheduling.registrations import Registration
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.serialization import make_converter
from gridgov.settings import Settings
from gridgov.testing import strategies as gst
from gridgov.testing._strategies_scheduling import _NO_HOLIDAYS

# Finding an example without shrinking it keeps these coverage checks fast.
FIND = settings(
    database=None,
    max_examples=1000,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
FAST = settings(max_examples=20, deadline=None)
SLOW = settings(max_examples=15, deadline=None)
T = TypeVar("T")


def _find(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """Return an example of ``strategy`` satisfying ``condition`` (fails if there is none)."""
    return find(strategy, condition, settings=FIND)


def _rebuild(value: AttrsInstance) -> object:
    """Construct ``value``'s class again from its init fields, running every validator."""
    make: Callable[..., object] = type(value)
    return make(**{f.alias: getattr(value, f.name) for f in attrs.fields(type(value)) if f.init})


# --- every attrs-valued strategy rebuilds -----------------------------------------------------

ATTRS_STRATEGIES: list[tuple[st.SearchStrategy[AttrsInstance], type[AttrsInstance]]] = [
    (gst.national_ids(), NationalId),
    (gst.phone_numbers(), PhoneNumber),
    (gst.tags(), Tag),
    (gst.health_flags(), HealthFlag),
    (gst.duties(), Duty),
    (gst.worker_roles(), WorkerRole),
    (gst.addresses(), Address),
    (gst.emergency_contacts(), EmergencyContact),
    (gst.forwarding_contacts(), ForwardingContact),
    (gst.residents(), Resident),
    (gst.households(), Household),
    (gst.boundaries(), Boundary),
    (gst.grid_cells(), GridCell),
    (gst.assignments(), Assignment),
    (gst.workers(), Worker),
    (gst.code_schemes(), CodeScheme),
    (gst.cases(), Case),
    (gst.deployment_settings(), Settings),
    (gst.venues(), Venue),
    (gst.activity_series(), ActivitySeries),
    (gst.registrations(), Registration),
    (gst.shifts(), Shift),
    (gst.signups(), SignUp),
]


@pytest.mark.parametrize(
    ("strategy", "cls"), ATTRS_STRATEGIES, ids=[c.__name__ for _, c in ATTRS_STRATEGIES]
)
@SLOW
@given(data=st.data())
def test_strategy_values_rebuild_from_their_fields(
    strategy: st.SearchStrategy[AttrsInstance], cls: type[AttrsInstance], data: st.DataObject
) -> None:
    """Constructing a drawn object again from its fields validates and gives an equal object."""
    value = data.draw(strategy)
    assert cls is type(value)
    assert value == _rebuild(value)


# --- codes ------------------------------------------------------------------------------------


@FAST
@given(gst.national_ids(address_codes=st.just("610102")))
def test_national_ids_use_the_given_address_codes(nid: NationalId) -> None:
    """national_ids(address_codes=...) puts the given code in front."""
    assert "610102" == nid.address_code
    assert nid == NationalId.parse(nid.value.lower())


@FAST
@given(data=st.data(), birth=gst.dates(dt.date(1880, 1, 1), dt.date(2026, 12, 1)))  # none unborn
def test_national_ids_encode_the_given_birth_date_and_sex(
    data: st.DataObject, birth: pendulum.Date
) -> None:
    """national_ids(birth_dates=..., sexes=...) encodes exactly that birth date and sex."""
    sex = data.draw(st.sampled_from(Sex))
    nid = data.draw(gst.national_ids(birth_dates=st.just(birth), sexes=st.just(sex)))
    assert (birth, sex) == (nid.birth_date, nid.sex)


@FAST
@given(gst.phone_numbers())
def test_phone_numbers_are_normalised(phone: PhoneNumber) -> None:
    """A drawn phone number parses back to itself."""
    assert phone == PhoneNumber.parse(phone.value)


@FAST
@given(data=st.data(), mobile=st.booleans())
def test_phone_numbers_can_be_restricted_to_mobiles_or_landlines(
    data: st.DataObject, mobile: bool
) -> None:
    """phone_numbers(mobile=...) yields only mobiles or only landlines."""
    assert mobile == data.draw(gst.phone_numbers(mobile=mobile)).is_mobile


def test_phone_numbers_include_mobiles_and_landlines() -> None:
    """The default phone strategy yields both kinds."""
    assert "-" not in _find(gst.phone_numbers(), lambda p: p.is_mobile).value
    assert "-" in _find(gst.phone_numbers(), lambda p: not p.is_mobile).value


@FAST
@given(gst.identifiers())
def test_identifiers_are_accepted_as_record_keys(key: str) -> None:
    """Every drawn identifier is a valid resident id."""
    assert key == Resident(id=key, name="田林").id


def test_personal_names_include_chinese_and_latin() -> None:
    """Names come in Chinese and in Latin script."""
    assert "\u4e00" <= _find(gst.personal_names(), lambda n: n[0] >= "\u4e00")[0]
    assert _find(gst.personal_names(), lambda n: " " in n)[0].isascii()


# --- dates and instants -----------------------------------------------------------------------


@FAST
@given(gst.dates(dt.date(2024, 2, 1), dt.date(2024, 3, 31)))
def test_dates_are_pendulum_dates_within_bounds(day: pendulum.Date) -> None:
    """dates() yields pendulum Dates between the bounds."""
    assert pendulum.Date is type(day)
    assert dt.date(2024, 2, 1) <= day <= dt.date(2024, 3, 31)


@FAST
@given(gst.aware_datetimes(dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1)))
def test_aware_datetimes_are_aware_and_within_bounds(instant: pendulum.DateTime) -> None:
    """aware_datetimes() yields tz-aware pendulum DateTimes between the (UTC) bounds."""
    assert pendulum.DateTime is type(instant)
    assert instant.utcoffset() is not None
    lo = pendulum.datetime(2020, 1, 1)
    hi = pendulum.datetime(2021, 1, 1)
    assert lo <= instant <= hi


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/New_York"])
def test_aware_datetimes_cover_named_zones_and_utc(zone: str) -> None:
    """Instants come in Asia/Shanghai, UTC and a zone with daylight-saving time."""
    assert zone == _find(gst.aware_datetimes(), lambda d: d.timezone_name == zone).timezone_name


def test_aware_datetimes_cover_fixed_offsets() -> None:
    """Instants also come with fixed offsets other than UTC."""
    instant = _find(
        gst.aware_datetimes(),
        lambda d: isinstance(d.tzinfo, pendulum.FixedTimezone) and d.utcoffset() != dt.timedelta(),
    )
    assert instant.isoformat()[-6:] == instant.timezone_name


# --- vocabularies -----------------------------------------------------------------------------

TERM_STRATEGIES = [
    (gst.tags(), Tag),
    (gst.health_flags(), HealthFlag),
    (gst.duties(), Duty),
    (gst.worker_roles(), WorkerRole),
]


@pytest.mark.parametrize(
    ("strategy", "cls"), TERM_STRATEGIES, ids=[c.__name__ for _, c in TERM_STRATEGIES]
)
def test_term_strategies_cover_builtin_and_custom_codes(
    strategy: st.SearchStrategy[Tag | HealthFlag | Duty | WorkerRole], cls: type[Tag]
) -> None:
    """Vocabulary strategies yield built-in values and platform-defined codes."""
    builtin = _find(strategy, lambda t: t.is_builtin)
    custom = _find(strategy, lambda t: not t.is_builtin)
    assert builtin in cls.builtins()
    assert custom.code == custom.label_en


# --- the household ledger ---------------------------------------------------------------------


STRATEGY_BY_ID_PRESENCE = {
    True: gst.residents(with_national_id=True),
    False: gst.residents(with_national_id=False),
}


@FAST
@given(gst.residents(id="r-1"))
def test_residents_agree_with_their_national_id(resident: Resident) -> None:
    """A resident's birth date and sex are those of the ID; the given id is used."""
    assert "r-1" == resident.id
    if resident.national_id is not None:
        assert resident.national_id.birth_date == resident.birth_date
        assert resident.national_id.sex is resident.sex


@pytest.mark.parametrize("with_id", [True, False])
@SLOW
@given(data=st.data())
def test_residents_can_be_forced_with_or_without_national_id(
    with_id: bool, data: st.DataObject
) -> None:
    """residents(with_national_id=...) controls whether the ID is present."""
    resident = data.draw(STRATEGY_BY_ID_PRESENCE[with_id])
    assert with_id == (resident.national_id is not None)


def test_residents_include_some_with_and_some_without_national_id() -> None:
    """By default both residents with and without a national ID are drawn."""
    assert _find(gst.residents(), lambda r: r.national_id is None).national_id is None
    assert _find(gst.residents(), lambda r: r.national_id is not None).birth_date is not None


@FAST
@given(gst.households(cell_code="610102001001001", id=st.just("hh-9")))
def test_households_respect_invariants_and_parameters(household: Household) -> None:
    """Households use the given cell and id and keep the aggregate's invariants."""
    assert ("610102001001001", "hh-9") == (household.cell_code, household.id)
    ids = [m.id for m in household.members]
    assert len(set(ids)) == len(ids)
    if household.status is HouseholdStatus.RELOCATED:
        assert household.forwarding is not None
    if household.status is HouseholdStatus.VACANT:
        assert () == household.members


@pytest.mark.parametrize("status", list(HouseholdStatus))
def test_households_cover_every_status(status: HouseholdStatus) -> None:
    """Every household status is drawn by default."""
    assert status is _find(gst.households(), lambda h: h.status is status).status


@SLOW
@given(gst.households(min_members=2, max_members=3))
def test_households_min_members_excludes_vacant(household: Household) -> None:
    """households(min_members=...) draws that many members and never a vacant household."""
    assert 2 <= len(household.members) <= 3
    assert household.status is not HouseholdStatus.VACANT


# --- the area hierarchy -----------------------------------------------------------------------


@FAST
@given(gst.boundaries())
def test_boundaries_have_closed_rings(boundary: Boundary) -> None:
    """Every ring is closed and the GeoJSON form rebuilds the boundary."""
    for polygon in boundary.polygons:
        for ring in polygon:
            assert ring[0] == ring[-1]
            assert len(ring) >= 4
    assert boundary == Boundary.from_geojson(boundary.to_geojson())


@SLOW
@given(data=st.data(), scheme=gst.code_schemes())
def test_cell_codes_and_grid_cells_fit_any_scheme(data: st.DataObject, scheme: CodeScheme) -> None:
    """cell_codes(scheme, level) and grid_cells(scheme) follow the scheme."""
    level = data.draw(st.sampled_from(scheme.levels))
    code = data.draw(gst.cell_codes(scheme, level))
    scheme.check(code, level)
    cell = data.draw(gst.grid_cells(scheme))
    cell.check_code(scheme)
    assert scheme.parent_code(cell.code) == cell.parent_code


@FAST
@given(gst.code_schemes())
def test_code_schemes_rebuild_and_keep_codes_short(scheme: CodeScheme) -> None:
    """A drawn scheme rebuilds from its fields and codes at most 64 characters."""
    assert scheme == CodeScheme(scheme.name, scheme.segments, scheme.separator)
    assert scheme.length(scheme.levels[-1]) <= 64


def _check_tree(tree: GridTree) -> None:
    """Check that ``tree`` rebuilds and that each code extends its parent's."""
    rebuilt = GridTree(reversed(list(tree)), tree.scheme)
    assert list(tree) == list(rebuilt)
    for cell in tree:
        cell.check_code(tree.scheme)
        parent = tree.parent(cell.code)
        if parent is None:
            assert tree.scheme.levels[0] is cell.level
        else:
            assert tree.scheme.extends(parent.code, cell.code)
            assert parent.level.child() is cell.level


@SLOW
@given(gst.grid_trees())
def test_grid_trees_are_valid_district_to_building_hierarchies(tree: GridTree) -> None:
    """Default-scheme trees start at districts and every code extends its parent's."""
    assert all(root.level is GridLevel.DISTRICT for root in tree.roots)
    _check_tree(tree)


def test_grid_trees_reach_buildings() -> None:
    """Default-scheme trees reach all five levels, down to buildings."""
    tree = _find(
        gst.grid_trees(max_roots=1, max_children=1), lambda t: bool(t.at_level(GridLevel.BUILDING))
    )
    assert 18 == len(tree.at_level(GridLevel.BUILDING)[0].code)


@SLOW
@given(data=st.data(), scheme=gst.code_schemes())
def test_grid_trees_follow_any_scheme(data: st.DataObject, scheme: CodeScheme) -> None:
    """grid_trees(scheme) builds a valid tree under any drawn scheme."""
    tree = data.draw(gst.grid_trees(scheme, max_children=1))
    assert scheme == tree.scheme
    _check_tree(tree)


@FAST
@given(gst.assignments(cell_codes=["610102001001001", "610102001001002"]))
def test_assignments_use_the_given_cells(assignment: Assignment) -> None:
    """assignments(cell_codes=...) picks among the given cells; the end is not before the start."""
    assert assignment.cell_code in {"610102001001001", "610102001001002"}
    assert assignment.end is None or assignment.start <= assignment.end


@FAST
@given(gst.workers(cell_codes=["a1", "a2"], id="w-1"))
def test_workers_use_the_given_cells_without_overlaps(worker: Worker) -> None:
    """workers(cell_codes=...) assigns only those cells, never twice on the same day."""
    assert "w-1" == worker.id
    assert {a.cell_code for a in worker.assignments} <= {"a1", "a2"}
    for a in worker.assignments:
        others = [b for b in worker.assignments if b is not a and b.cell_code == a.cell_code]
        assert not any(a.overlaps(b) for b in others)


def test_workers_include_successive_assignments_to_one_cell() -> None:
    """Some workers hold several successive assignments to the same cell."""
    worker = _find(gst.workers(cell_codes=["a1"]), lambda w: len(w.assignments) >= 2)
    assert {"a1"} == {a.cell_code for a in worker.assignments}


# --- cases ------------------------------------------------------------------------------------

CONVERTER = make_converter()
KIT_CELLS = ["610102003001001", "610102003001001001", "610102003001002"]
KIT_OWNERS = [
    GridCell("610102003001", "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell("610102003001001", "第一网格", GridLevel.GRID, "610102003001"),
]


def _case_instants(case: Case) -> list[str]:
    """Return every instant of ``case`` as ISO text, offsets included."""
    out = [t.isoformat() for t in (case.reported_at, case.level_since, case.next_check) if t]
    for d in case.deadlines:
        out.extend(t.isoformat() for t in (d.start, d.due, d.met_at, d.paused_at) if t)
    out.extend(h.at.isoformat() for h in case.history)
    return out


@SLOW
@given(gst.cases())
def test_cases_round_trip_through_the_converter_and_json(case: Case) -> None:
    """structure(unstructure(case)) is the case, also through JSON text, offsets kept."""
    data = CONVERTER.unstructure(case)
    via_json = CONVERTER.structure(_json.loads(_json.dumps(data)), Case)
    assert case == CONVERTER.structure(data, Case)
    assert (case, _case_instants(case)) == (via_json, _case_instants(via_json))


@SLOW
@given(gst.deployment_settings())
def test_settings_round_trip_through_the_converter_and_json(settings_: Settings) -> None:
    """structure(unstructure(settings)) is the settings, also through JSON text."""
    data = CONVERTER.unstructure(settings_)
    assert settings_ == CONVERTER.structure(data, Settings)
    assert settings_ == CONVERTER.structure(_json.loads(_json.dumps(data)), Settings)


@FAST
@given(gst.cases(cell_codes=KIT_CELLS, owners=KIT_OWNERS, id="k-1"))
def test_cases_use_the_given_cells_owners_and_id(case: Case) -> None:
    """cases(cell_codes=..., owners=..., id=...) keeps to them; a closed case has no next check."""
    assert "k-1" == case.id
    assert case.cell_code in KIT_CELLS
    assert case.owner_cell in {c.code for c in KIT_OWNERS}
    if not case.is_open:
        assert case.next_check is None


@pytest.mark.parametrize(
    ("what", "condition"),
    [
        ("a next check", lambda c: c.next_check is not None),
        ("an open case without next check", lambda c: c.is_open and c.next_check is None),
        ("a closed case", lambda c: c.state is CaseState.CLOSED),
        ("an evaluated case", lambda c: c.state is CaseState.EVALUATED),
        ("a rejected case", lambda c: c.state is CaseState.REJECTED),
        ("escalation firings", lambda c: bool(c.fired)),
        ("an external id", lambda c: c.external_id is not None),
        (
            "Chinese in the description",
            lambda c: any("\u4e00" <= ch <= "\u9fff" for ch in c.description),
        ),
        ("a reporter's phone", lambda c: c.reporter.phone is not None),
    ],
)
def test_cases_cover_their_variety(what: str, condition: Callable[[Case], bool]) -> None:
    """The default case strategy draws open and closed cases, with and without checks and more."""
    assert condition(_find(gst.cases(), condition)), what


def test_case_reporters_are_masked_in_repr() -> None:
    """A drawn reporter's name and phone appear only masked in its repr."""
    case = _find(
        gst.cases(),
        lambda c: len(c.reporter.name) >= 2 and c.reporter.phone is not None,
    )
    shown = repr(case.reporter)
    phone = case.reporter.phone
    assert phone is not None
    assert (False, False) == (case.reporter.name in shown, phone.value in shown)


# --- scheduling -------------------------------------------------------------------------------

SCHEDULING_STRATEGIES: list[tuple[st.SearchStrategy[AttrsInstance], type[AttrsInstance]]] = [
    (gst.venues(), Venue),
    (gst.activity_series(), ActivitySeries),
    (gst.registrations(), Registration),
    (gst.shifts(), Shift),
    (gst.signups(), SignUp),
]


@pytest.mark.parametrize(
    ("strategy", "cls"),
    SCHEDULING_STRATEGIES,
    ids=[c.__name__ for _, c in SCHEDULING_STRATEGIES],
)
@SLOW
@given(data=st.data())
def test_scheduling_records_round_trip_through_the_converter_and_json(
    strategy: st.SearchStrategy[AttrsInstance], cls: type[AttrsInstance], data: st.DataObject
) -> None:
    """structure(unstructure(x)) is x for every scheduling record, also through JSON text."""
    value = data.draw(strategy)
    plain = CONVERTER.unstructure(value)
    assert (value, value) == (
        CONVERTER.structure(plain, cls),
        CONVERTER.structure(_json.loads(_json.dumps(plain)), cls),
    )


VENUE = gst.venues(cell_codes=KIT_CELLS, id="v-1")


@FAST
@given(VENUE)
def test_venues_use_the_given_cells_and_id(venue: Venue) -> None:
    """venues(cell_codes=..., id=...) keeps to them; blackouts close the venue or its spaces."""
    assert ("v-1", True) == (venue.id, venue.cell_code in KIT_CELLS)
    assert {b.space_id for b in venue.blackouts} <= {None, *(s.id for s in venue.spaces)}
    assert venue.opening.years is not None


@FAST
@given(data=st.data())
def test_activity_series_use_the_venue_and_real_occurrences(data: st.DataObject) -> None:
    """A series is in a space of the given venue; its exceptions and changes are occurrences."""
    venue = data.draw(VENUE)
    series = data.draw(gst.activity_series(venue=venue, id="a-1"))
    spaces = {s.id for s in venue.spaces}
    assert ("a-1", "v-1", True) == (series.id, series.venue_id, series.space_id in spaces)
    assert {c.space_id for c in series.changes} <= {None, *spaces}
    plain = attrs.evolve(series, exdates=(), changes=())
    for instant in [*series.exdates, *(c.original_start for c in series.changes)]:
        assert instant > series.start
        assert instant == plain.occurrence(instant, calendar=_NO_HOLIDAYS).original_start


@FAST
@given(data=st.data())
def test_registrations_are_for_an_occurrence_of_the_series(data: st.DataObject) -> None:
    """A registration copies one occurrence of its series, registered before it starts."""
    series = data.draw(gst.activity_series())
    registration = data.draw(gst.registrations(series=series, resident_id="r-1"))
    found = series.occurrences(
        registration.start,
        registration.end,
        calendar=_NO_HOLIDAYS,
        include_cancelled=True,
    )
    same = [o for o in found if (o.start, o.end) == (registration.start, registration.end)]
    ids = {o.id for o in same}
    assert ("r-1", series.id, series.venue_id) == (
        registration.resident_id,
        registration.series_id,
        registration.venue_id,
    )
    assert registration.occurrence_id in ids
    assert registration.registered_at <= registration.start


@FAST
@given(data=st.data())
def test_signups_copy_their_shift(data: st.DataObject) -> None:
    """A sign-up copies its shift's id, start and end; only completed ones credit hours."""
    shift = data.draw(gst.shifts(venue_id="v-1", id="sh-1"))
    signup = data.draw(gst.signups(shift=shift, resident_id="r-1"))
    assert ("v-1", "sh-1", "r-1") == (shift.venue_id, signup.shift_id, signup.resident_id)
    assert (shift.start, shift.end) == (signup.start, signup.end)
    assert signup.at <= signup.start
    if signup.state is not SignUpState.COMPLETED:
        assert 0.0 == signup.hours


def _rule(series: ActivitySeries) -> str:
    return series.rrule or ""


@pytest.mark.parametrize(
    ("what", "condition"),
    [
        ("a single occurrence", lambda s: s.rrule is None),
        ("a never-ending rule", lambda s: s.rrule is not None and s.last_end is None),
        ("a COUNT", lambda s: "COUNT=" in _rule(s)),
        ("an UNTIL", lambda s: "UNTIL=" in _rule(s)),
        ("a weekly BYDAY", lambda s: "WEEKLY" in _rule(s) and "BYDAY=" in _rule(s)),
        ("a monthly rule", lambda s: "MONTHLY" in _rule(s)),
        ("an interval", lambda s: "INTERVAL=" in _rule(s)),
        ("exceptions", lambda s: bool(s.exdates)),
        ("a cancelled occurrence", lambda s: any(c.cancelled for c in s.changes)),
        ("a moved occurrence", lambda s: any(c.start is not None for c in s.changes)),
        ("another space", lambda s: any(c.space_id is not None for c in s.changes)),
        ("an eligibility rule", lambda s: s.eligibility is not None),
        ("a start in another zone", lambda s: s.start.timezone_name != s.tz),
    ],
)
def test_activity_series_cover_their_variety(
    what: str, condition: Callable[[ActivitySeries], bool]
) -> None:
    """The default series strategy draws every kind of rule, exception and change."""
    assert condition(_find(gst.activity_series(), condition)), what


@FAST
@given(gst.audit_entries())
def test_audit_entries_round_trip_through_the_converter_and_json(entry: AuditEntry) -> None:
    """structure(unstructure(x)) is x for audit entries, offsets kept, also through JSON text."""
    plain = CONVERTER.unstructure(entry)
    via_json = CONVERTER.structure(_json.loads(_json.dumps(plain)), AuditEntry)
    assert (entry, entry, entry.at.isoformat()) == (
        CONVERTER.structure(plain, AuditEntry),
        via_json,
        via_json.at.isoformat(),
    )


@FAST
@given(
    gst.audit_entries(principal_id="w-1", subject="resident:r-1", id="au-1", kind=AuditKind.DENIED)
)
def test_audit_entries_use_the_given_fields(entry: AuditEntry) -> None:
    """audit_entries(principal_id=..., subject=..., id=..., kind=...) keeps to them."""
    assert ("au-1", "w-1", "resident:r-1", AuditKind.DENIED) == (
        entry.id,
        entry.principal_id,
        entry.subject,
        entry.kind,
    )


@pytest.mark.parametrize(
    ("what", "condition"),
    [
        *((f"a {kind.value} entry", lambda e, k=kind: e.kind is k) for kind in AuditKind),
        ("a record subject", lambda e: e.subject.startswith(("resident:", "case:"))),
        ("a query subject", lambda e: e.subject.startswith("query:")),
        ("a cell", lambda e: e.cell_code is not None),
        ("no cell", lambda e: e.cell_code is None),
        ("no detail", lambda e: e.detail == ""),
        ("a detail", lambda e: e.detail != ""),
        ("an instant outside Beijing time", lambda e: e.at.utcoffset() != dt.timedelta(hours=8)),
    ],
)
def test_audit_entries_cover_their_variety(
    what: str, condition: Callable[[AuditEntry], bool]
) -> None:
    """The default audit strategy draws every kind, subject, cell and detail shape."""
    assert condition(_find(gst.audit_entries(), condition)), what


@pytest.mark.parametrize(
    ("module", "missing", "message"),
    [
        ("gridgov.testing.contracts", "pytest", "needs pytest and hypothesis"),
        ("gridgov.testing.strategies", "hypothesis", "needs hypothesis"),
    ],
)
def test_the_kit_names_the_extra_it_needs(
    monkeypatch: pytest.MonkeyPatch, module: str, missing: str, message: str
) -> None:
    """Without the testing extra, importing the kit says what to install."""
    import importlib
    import sys

    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(ImportError) as info:
        importlib.import_module(module)
    assert f"{module} {message}: pip install 'gridgov[testing]'" == str(info.value)
