"""JSON projections of the services' results, redacted by role, and their JSON Schemas.

Every public service runs once on the Minggong example (loaded once for the module); what it
returns is projected for each redaction and validated against the schema of its return annotation.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
import typing
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.access import SYSTEM, AuditEntry, AuditKind, Principal, Redaction, Role
from gridgov.bootstrap import open_store
from gridgov.care.contacts import Outcome
from gridgov.care.policy import ContactMethod
from gridgov.cases.model import (
    Case,
    CaseSource,
    CaseState,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.cases.workflow import Action, CaseRole
from gridgov.codes import NationalId, PhoneNumber
from gridgov.errors import ValidationError
from gridgov.events import CaseEscalated
from gridgov.grid import GridCell, GridLevel, Worker
from gridgov.households import Address, EmergencyContact, Household, Resident, Tag
from gridgov.identity import IdKey
from gridgov.ports import Store
from gridgov.projections import (
    DIALECT,
    PERSONAL,
    JSONValue,
    project,
    projected_types,
    schema,
)
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.scheduling.series import ActivitySeries, OccurrenceChange
from gridgov.serialization import unstructure
from gridgov.services.access import ResidentView, audit_entry, view_resident
from gridgov.services.callbacks import pending_callbacks, record_callback
from gridgov.services.care import (
    coverage,
    plan_tasks,
    record_contact,
    replay_contacts,
    worklist,
)
from gridgov.services.cases import (
    EscalationEngine,
    UnitHierarchy,
    act_on_case,
    case_kpis,
    report_case,
)
from gridgov.services.duplicates import flag_duplicates, mark_duplicate
from gridgov.services.grid_changes import SplitPart, merge_cells, retire_cell, split_cell
from gridgov.services.identity import Discharge, find_person, match_list, record_discharges
from gridgov.services.kpis import league_table
from gridgov.services.ledger import move_household
from gridgov.services.overdue import sweep_overdue
from gridgov.services.person import erase_person, export_person
from gridgov.services.placing import CellFinder
from gridgov.services.retention import purge
from gridgov.services.retime import retime
from gridgov.services.scheduling import (
    cancel_registration,
    complete_shift,
    create_series,
    occurrences_in_venue,
    record_attendance,
    register,
    register_for_occurrence,
    report_short_shifts,
    sign_up,
    volunteer_hours,
    week_schedule,
)
from gridgov.services.series_changes import change_following, change_occurrence
from gridgov.services.sync import QueuedContact, sync_contacts
from gridgov.testing import leaked, strategies

TZ = "Asia/Shanghai"
NOW = pendulum.datetime(2026, 11, 28, 9, tz=TZ)
DAY = NOW.date()
MASKED, FULL = Redaction.MASKED, Redaction.FULL

# Services that return no data to project: a unit of work, what the work given returns, or nothing.
NOT_DATA = {"scoped", "as_worker", "run_unit", "publish", "CellFinder.of_store"}
KEY = IdKey(b"k" * 32)


def draft_2020_12() -> Any:
    """Return jsonschema's draft 2020-12 validator class; skip the test without jsonschema."""
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (pip install 'gridgov[dev]')"
    )
    return jsonschema.Draft202012Validator


def valid(document: JSONValue, result_type: object, redaction: Redaction) -> bool:
    """Return whether ``document`` validates against the schema of ``result_type``; raise if not."""
    validator = draft_2020_12()(schema(result_type, redaction))
    validator.validate(document)
    return True


def obj(value: JSONValue) -> dict[str, JSONValue]:
    """Return a JSON object, typed as one."""
    assert isinstance(value, dict)
    return value


def texts(value: JSONValue) -> Iterator[str]:
    """Yield every string of a JSON document, keys aside."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)


# --- the public services and their results -----------------------------------------------------


def service_functions() -> dict[str, Callable[..., object]]:
    """Return every public service function, and the public methods of the service classes."""
    import gridgov.services

    found: dict[str, Callable[..., object]] = {}
    for info in pkgutil.iter_modules(gridgov.services.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"gridgov.services.{info.name}")
        for name in getattr(module, "__all__", ()):
            thing = getattr(module, name)
            if inspect.isfunction(thing):
                found[name] = thing
            elif inspect.isclass(thing) and not attrs.has(thing):
                for method, fn in inspect.getmembers(thing, inspect.isfunction):
                    if not method.startswith("_"):
                        found[f"{name}.{method}"] = fn
    return found


def returns(fn: Callable[..., object]) -> object:
    """Return a function's return annotation, resolved."""
    return typing.get_type_hints(fn)["return"]


@pytest.fixture(scope="module")
def minggong() -> tuple[Scenario, Store]:
    """Return the Minggong example, households included, and a memory store filled with it."""
    scenario = load_scenario(example_path())
    store = open_store("memory://", scheme=scenario.scheme, id_key=KEY)
    populate(store, scenario)
    return scenario, store


@pytest.fixture(scope="module")
def results(minggong: tuple[Scenario, Store]) -> dict[str, object]:
    """Run every public service that returns data once on Minggong; return its result by name."""
    scenario, store = minggong
    workflow = scenario.workflow()
    worker = Principal("grid-01", {Role.GRID_WORKER}, {"610102003006001"})
    out: dict[str, object] = {}
    with store() as uow:
        out["worklist"] = worklist(uow, "grid-02", on=DAY, now=NOW)
        out["coverage"] = coverage(
            uow, "610102003006002", start=DAY.start_of("month"), end=DAY.add(days=1)
        )
        out["plan_tasks"] = plan_tasks(uow, "610102003006001", now=NOW, policy=scenario.policy)
        out["record_contact"] = record_contact(
            uow,
            resident_id="h000005-1",
            method=ContactMethod.PHONE,
            outcome=Outcome.NO_ANSWER,
            by="grid-01",
            at=NOW,
            now=NOW,
            notes="没人接，邻居说可打 13912345678",
            policy=scenario.policy,
        )
        out["replay_contacts"] = replay_contacts(uow, [], policy=scenario.policy)
        reported = report_case(
            uow,
            workflow,
            category="complaint",
            source=CaseSource.WALK_IN,
            cell_code="610102003006001001",
            description="居民田林反映铁一村3号楼2单元楼道堆物，电话 13812345678",
            reporter=Reporter("田林", "13812345678"),
            address="铁一村3号楼2单元",
            at=NOW,
            actor="grid-01",
        )
        out["report_case"] = reported
        out["act_on_case"] = act_on_case(
            uow,
            workflow,
            reported.case.id,
            Action.REGISTER,
            actor="secretary",
            role=CaseRole.DISPATCHER,
            at=NOW.add(minutes=5),
            note="田林 来电催问",
        )
        again = report_case(
            uow,
            workflow,
            category="complaint",
            source=CaseSource.HOTLINE_12345,
            cell_code="610102003006001001",
            description="铁一村3号楼2单元楼道堆物，又有人反映",
            reporter=Reporter("王秀英", "13912345678"),
            at=NOW.add(minutes=10),
            actor="hotline-12345",
        ).case
        out["flag_duplicates"] = flag_duplicates(uow, workflow.catalogue, again)
        out["mark_duplicate"] = mark_duplicate(
            uow, workflow, again.id, of=reported.case.id, actor="secretary", at=NOW.add(minutes=15)
        )
        out["case_kpis"] = case_kpis(
            uow, "610102", since=NOW.subtract(days=30), until=NOW.add(days=1)
        )
        out["league_table"] = league_table(out["case_kpis"].by_cell, min_cases=1)  # type: ignore[attr-defined]
        out["record_callback"] = record_callback(  # recorded before: returned as it is
            uow,
            "mg-2026-1101",
            Satisfaction.SATISFIED,
            at=NOW,
            actor="secretary",
            workflow=workflow,
        )
        out["pending_callbacks"] = pending_callbacks(
            uow, "610102", reported_since=NOW.subtract(days=30), until=NOW.add(days=1)
        )
        out["CellFinder.place"] = CellFinder.of_store(uow).place(address="铁一村 3栋 2单元")
        units = UnitHierarchy(uow)
        out["UnitHierarchy.parent_unit"] = units.parent_unit("610102003006001")
        out["UnitHierarchy.on_duty"] = units.on_duty("610102003006001", DAY, besides=None)
        out["week_schedule"] = week_schedule(uow, "hui", start=NOW.start_of("day"))
        out["occurrences_in_venue"] = occurrences_in_venue(
            uow, "hui", start=NOW, end=NOW.add(days=7)
        )
        clinic = pendulum.datetime(2026, 12, 2, 14, 30, tz=TZ)
        out["register"] = register(
            uow,
            series_id="science-day-clinic",
            original_start=clinic,
            resident_id="h000005-1",
            at=NOW,
        )
        out["register_for_occurrence"] = register_for_occurrence(
            uow, occurrence_id="legal-education@20261201T063000Z", resident_id="h000006-1", at=NOW
        )
        out["cancel_registration"] = cancel_registration(
            uow, "reg.picture-books.20261128T020000Z.h001575-2", at=NOW
        )
        out["record_attendance"] = record_attendance(
            uow, "reg.picture-books.20261128T020000Z.h000220-1", attended=True, at=NOW.add(hours=2)
        )
        out["sign_up"] = sign_up(
            uow, shift_id="cleaning-2026-12-04", resident_id="h000130-1", at=NOW
        )
        out["complete_shift"] = complete_shift(
            uow,
            "cleaning-2026-12-04",
            present=["h000931-1", "h000130-1"],
            at=pendulum.datetime(2026, 12, 4, 10, 30, tz=TZ),
        )
        out["volunteer_hours"] = volunteer_hours(
            uow, ["h000931-1", "h000130-1"], since=NOW.subtract(days=30), until=NOW
        )
        out["create_series"] = create_series(
            uow,
            ActivitySeries(
                "tea",
                "敬老茶话会",
                "明宫社区",
                "hui",
                "culture",
                pendulum.datetime(2026, 12, 7, 14, 30, tz=TZ),
                90,
                TZ,
                capacity=20,
            ),
        )
        out["change_occurrence"] = change_occurrence(
            uow,
            "picture-books",
            OccurrenceChange(pendulum.datetime(2026, 12, 5, 10, tz=TZ), cancelled=True),
            at=NOW,
        )
        out["change_following"] = change_following(
            uow, "picture-books", pendulum.datetime(2026, 12, 19, 10, tz=TZ), at=NOW, capacity=10
        )
        out["move_household"] = move_household(uow, "h000006", to_cell="610102003006001002", at=NOW)
        out["report_short_shifts"] = report_short_shifts(uow, "610102", now=NOW)
        national_id = uow.households.household_of("h000005-1").member("h000005-1").national_id
        assert national_id is not None
        out["find_person"] = find_person(uow, national_id, KEY)
        out["match_list"] = match_list(uow, [national_id.value, "12345"], KEY)
        out["record_discharges"] = record_discharges(
            uow, [Discharge(national_id, NOW)], KEY, by="grid-01", now=NOW
        )
        out["export_person"] = export_person(uow, "h000005-1")
        out["erase_person"] = erase_person(uow, "h001575-2")
        trail: list[AuditEntry] = []
        out["view_resident"] = view_resident(uow, worker, "h000005-1", at=NOW, audit=trail.append)
        out["audit_entry"] = audit_entry(SYSTEM, NOW, AuditKind.EXPORTED, "query:households")
        grid = "610102003006003"
        parts = [
            SplitPart(
                GridCell(f"610102003006{n}", f"建强路{n}网格", GridLevel.GRID, "610102003006"),
                tuple(f"{grid}{b}" for b in buildings),
            )
            for n, buildings in (("011", ("001", "002")), ("012", ("003", "004")))
        ]
        later = DAY.add(days=3)
        out["split_cell"] = split_cell(uow, grid, into=parts, on=later, at=NOW, actor="secretary")
        out["merge_cells"] = merge_cells(
            uow,
            ["610102003006004", "610102003006005"],
            into=GridCell("610102003006013", "合并网格", GridLevel.GRID, "610102003006"),
            on=later,
            at=NOW,
            actor="secretary",
        )
        uow.cells.add(GridCell("610102003006014", "空网格", GridLevel.GRID, "610102003006"))
        out["retire_cell"] = retire_cell(
            uow, "610102003006014", on=later, at=NOW, actor="secretary"
        )
    out["EscalationEngine.sweep"] = EscalationEngine(store, workflow).sweep(NOW)
    out["sweep_overdue"] = sweep_overdue(store, NOW)
    out["retime"] = retime(store, workflow.calendar, at=NOW)
    queued = QueuedContact(
        "phone-1", "h000005-1", ContactMethod.PHONE, Outcome.WELL, "grid-01", NOW, "好"
    )
    out["sync_contacts"] = sync_contacts(store, [queued], now=NOW)
    out["purge"] = purge(store, NOW)
    return out


def test_every_service_result_has_a_projection_and_a_schema(results: dict[str, object]) -> None:
    """Each public service returning data has a result here, a projection and a schema."""
    functions = service_functions()
    data = {name: fn for name, fn in functions.items() if returns(fn) is not type(None)}
    projected = {name: [project(result, r) for r in Redaction] for name, result in results.items()}
    schemas = {
        name: [schema(returns(data[name]), r)["$schema"] for r in Redaction] for name in projected
    }
    assert set(data) - NOT_DATA == set(results)
    assert {name: [DIALECT, DIALECT] for name in results} == schemas


def test_every_projection_validates_against_its_schema(results: dict[str, object]) -> None:
    """Each result projects, for both redactions, to what the schema of its annotation allows."""
    functions = service_functions()
    for name, result in results.items():
        annotation = returns(functions[name])
        for redaction in Redaction:
            draft_2020_12().check_schema(schema(annotation, redaction))
            assert valid(project(result, redaction), annotation, redaction), name


def secrets_of(households: tuple[Household, ...]) -> set[str]:
    """Return every ID number and phone number in the ledger."""
    found: set[str] = set()
    for h in households:
        if h.forwarding is not None and h.forwarding.phone is not None:
            found.add(h.forwarding.phone.value)
        for m in h.members:
            found.update(x.value for x in (m.national_id, m.phone) if x is not None)
            found.update(c.phone.value for c in m.emergency_contacts)
    return found


def test_masked_projections_hold_no_id_number_phone_or_name(
    minggong: tuple[Scenario, Store], results: dict[str, object]
) -> None:
    """No masked projection of any result holds an ID or phone number, or a name, in full."""
    scenario = minggong[0]
    names = {"田林"} | {
        e.resident.name
        for e in results["worklist"].entries  # type: ignore[attr-defined]
        if len(e.resident.name) >= 2
    }
    secrets = secrets_of(scenario.households) | {"13812345678", "13912345678"} | names
    found = {
        name: leaked(texts(project(result, MASKED)), secrets) for name, result in results.items()
    }
    assert {name: [] for name in results} == found
    assert leaked(texts(project(results["worklist"], FULL)), secrets)


def test_a_full_projection_shows_the_record_as_stored(results: dict[str, object]) -> None:
    """For a role with the full view, phone numbers and names are as stored, units and rooms too."""
    work = results["worklist"]
    stops = obj(project(work, FULL))["stops"]
    assert isinstance(stops, list)
    shown = [
        (obj(obj(e)["resident"])["name"], obj(obj(e)["resident"])["phone"])
        for s in stops
        for h in typing.cast("list[JSONValue]", obj(s)["households"])
        for e in typing.cast("list[JSONValue]", obj(h)["entries"])
    ]
    stored = [
        (e.resident.name, None if e.resident.phone is None else e.resident.phone.value)
        for e in work.entries  # type: ignore[attr-defined]
    ]
    assert stored == shown


HOUSEHOLD = Household(
    "h1",
    "610102003001001",
    Address("铁一村3号楼", unit="2", room="301"),
    members=[
        Resident(
            "r1",
            "田林",
            national_id="11010519491231002X",
            phone="13812345678",
            tags=[Tag.LIVING_ALONE, Tag.ADVANCED_AGE],
            emergency_contacts=[EmergencyContact("田小林", "029-87654321", "儿子")],
        )
    ],
)


def test_a_masked_household_shows_no_personal_data() -> None:
    """Names, ID and phone numbers are masked; the birth date, unit and room are left out."""
    expected = {
        "id": "h1",
        "cell_code": "610102003001001",
        "address": {"line": "铁一村3号楼", "unit": None, "room": None},
        "status": "resident",
        "members": [
            {
                "id": "r1",
                "name": "田*",
                "national_id": "110105**********2X",
                "birth_date": None,
                "sex": "female",
                "phone": "138****5678",
                "tags": ["advanced_age", "living_alone"],
                "living_arrangement": None,
                "health_flags": [],
                "emergency_contacts": [
                    {"name": "田**", "phone": "029-****4321", "relationship": "儿子"}
                ],
                "relationship": "",
            }
        ],
        "forwarding": None,
        "version": 0,
    }
    assert expected == project(HOUSEHOLD, MASKED)


@given(strategies.households())
def test_a_household_projects_to_its_schema_for_each_redaction(household: Household) -> None:
    """Full, a household is its serialized document; masked, it holds no number in full."""
    full, masked = project(household, FULL), project(household, MASKED)
    numbers = {
        x.value for m in household.members for x in (m.national_id, m.phone) if x is not None
    }
    assert unstructure(household) == full
    assert valid(full, Household, FULL)
    assert valid(masked, Household, MASKED)
    assert [] == [t for t in texts(masked) if any(n in t for n in numbers)]


def test_a_principal_sees_as_its_roles_allow() -> None:
    """A grid worker's projection is the full one, a street supervisor's the masked one."""
    worker = Principal("grid-01", {Role.GRID_WORKER}, {"610102003001"})
    supervisor = Principal("street-1", {Role.STREET_SUPERVISOR}, {"610102003"})
    assert (project(HOUSEHOLD, FULL), project(HOUSEHOLD, MASKED)) == (
        project(HOUSEHOLD, worker),
        project(HOUSEHOLD, supervisor),
    )


CASE = Case(
    "k1",
    "complaint",
    CaseSource.WALK_IN,
    Location("610102003001001", "铁一村3号楼2单元"),
    Reporter("田林", "13812345678"),
    "田林说铁一村3号楼2单元楼道堆物，回电 13812345678 或 tian@example.cn",
    Urgency.NORMAL,
    CaseState.REPORTED,
    owner_cell="610102003001",
    owner_level=GridLevel.GRID,
    reported_at=NOW,
)


def test_free_text_masks_the_names_and_addresses_its_result_holds() -> None:
    """A case's description hides its address and masks its reporter, phones and e-mails."""
    masked = obj(project(CASE, MASKED))
    assert ("***", {"name": "田*", "phone": "138****5678", "resident_id": None}) == (
        obj(masked["location"])["address"],
        {k: obj(masked["reporter"])[k] for k in ("name", "phone", "resident_id")},
    )
    assert "田*说***楼道堆物，回电 138****5678 或 t***@example.cn" == masked["description"]
    assert CASE.description == obj(project(CASE, FULL))["description"]


def test_case_events_name_their_kind() -> None:
    """Events held as CaseEvent are written with their own fields and an ``event`` tag."""
    event = CaseEscalated(
        "k1",
        "610102003001001",
        NOW,
        "610102003001",
        "610102003",
        GridLevel.GRID,
        GridLevel.STREET,
        "grid_to_community",
    )
    expected: dict[str, JSONValue] = {
        "event": "case_escalated",
        "case_id": "k1",
        "cell_code": "610102003001001",
        "at": "2026-11-28T01:00:00+00:00",
        "from_cell": "610102003001",
        "to_cell": "610102003",
        "from_level": "grid",
        "to_level": "street",
        "rule": "grid_to_community",
    }
    assert expected == project((event,), MASKED, tz="UTC")[0]  # type: ignore[index]
    assert valid([expected], tuple[CaseEscalated, ...], MASKED)


def test_instants_are_rfc_3339_in_their_zone_or_the_one_asked() -> None:
    """Without ``tz`` an instant keeps its own offset; with it, it is written in that zone."""
    entry = audit_entry(SYSTEM, NOW, AuditKind.EXPORTED, "query:households")
    assert ("2026-11-28T09:00:00+08:00", "2026-11-28T01:00:00+00:00") == (
        obj(project(entry, MASKED))["at"],
        obj(project(entry, MASKED, tz="UTC"))["at"],
    )


ZONES = ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]


@given(
    st.datetimes(
        min_value=dt.datetime(1900, 1, 2),
        max_value=dt.datetime(2100, 12, 30),
        timezones=st.sampled_from([zoneinfo.ZoneInfo(z) for z in ZONES]),
    ),
    st.sampled_from(ZONES),
)
def test_an_instant_written_in_another_zone_is_pendulums_conversion(
    at: dt.datetime, zone: str
) -> None:
    """Written in a zone, an instant reads as pendulum converts it: daylight saving included."""
    entry = audit_entry(SYSTEM, pendulum.instance(at), AuditKind.EXPORTED, "query:households")
    expected = pendulum.instance(at).in_timezone(zone).isoformat()
    assert expected == obj(project(entry, MASKED, tz=zone))["at"]


def view(redaction: Redaction) -> ResidentView:
    """Return a resident's view as the service makes it for ``redaction``."""
    full = redaction is FULL
    return ResidentView(
        "r1",
        "h1",
        "610102003001001",
        redaction,
        "田林" if full else "田*",
        "11010519491231002X" if full else "110105**********2X",
        "13812345678" if full else "138****5678",
        "铁一村3号楼 2 301" if full else "铁一村3号楼",
        76,
        ("living_alone",),
        (),
        (("田小林" if full else "田**", "儿子", "029-87654321" if full else "029-****4321"),),
    )


def test_a_full_view_projected_masked_is_the_masked_view() -> None:
    """A resident's full view, projected for a masked role, is what a masked role's view shows."""
    assert project(view(MASKED), MASKED) == project(view(FULL), MASKED)
    assert "full" == obj(project(view(FULL), FULL))["redaction"]


def test_bad_input_names_the_field() -> None:
    """A bad view, zone, result or result type is a ValidationError naming it."""
    worker = Worker("grid-01", "张静")
    failures = []
    calls: list[Callable[[], object]] = [
        lambda: project(HOUSEHOLD, "masked"),  # type: ignore[arg-type]
        lambda: project(HOUSEHOLD, MASKED, tz="Mars/Olympus"),
        lambda: project(worker, FULL),
        lambda: project([HOUSEHOLD, object()], FULL),
        lambda: schema(Worker),
        lambda: schema("Worklist"),
        lambda: schema(Household, "full"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(ValidationError) as caught:
            call()
        failures.append((caught.value.path, caught.value.problem))
    assert [
        ("view", "expected a Redaction or a Principal"),
        ("tz", "unknown time zone"),
        ("result", "Worker is not a result gridgov projects"),
        ("[1]", "object is not a result gridgov projects"),
        ("result_type", "Worker is not a result gridgov projects"),
        ("result_type", "expected a type"),
        ("view", "expected a Redaction or a Principal"),
    ] == failures


def test_a_schema_requires_every_field_and_refuses_others() -> None:
    """A record's schema is draft 2020-12, lists every field as required and allows no other."""
    doc = schema(ActivitySeries, FULL)
    defs = obj(doc["$defs"])
    fields = [a.name for a in attrs.fields(ActivitySeries)]
    assert (DIALECT, "#/$defs/ActivitySeries") == (doc["$schema"], doc["$ref"])
    assert (fields, False) == (
        obj(defs["ActivitySeries"])["required"],
        obj(defs["ActivitySeries"])["additionalProperties"],
    )
    assert {"Criterion", "AllOf", "HasTag"} <= set(defs)


def test_a_masked_schema_refuses_a_number_in_full() -> None:
    """A document holding a phone or ID number in full does not validate as masked."""
    full = obj(project(HOUSEHOLD, FULL))
    masked = draft_2020_12()(schema(Household, MASKED))
    paths = sorted(".".join(map(str, e.absolute_path)) for e in masked.iter_errors(full))
    assert [
        "address.room",
        "address.unit",
        "members.0.birth_date",
        "members.0.emergency_contacts.0.name",
        "members.0.emergency_contacts.0.phone",
        "members.0.name",
        "members.0.national_id",
        "members.0.phone",
    ] == paths


# Fields whose names suggest personal data that are not personal, and why.
NOT_PERSONAL = {
    ("ActivitySeries", "organiser"): "an organisation",
    ("ActivitySeries", "description"): "the activity's",
    ("Address", "line"): "the building, kept as the masked ledger keeps it",
    ("AuditEntry", "detail"): "never personal data, by its declaration",
    ("PurgeReport", "contact_notes"): "a count",
    ("Attempt", "detail"): "a transport's or gateway's words, never personal data (gridgov.notify)",
    ("EmergencyContact", "relationship"): "a relation, not a person",
    ("Resident", "relationship"): "a relation, not a person",
    ("GridCell", "name"): "a cell's",
    ("WorklistStop", "name"): "a building's",
    ("OccurrenceChange", "note"): "about an occurrence",
    ("ListMatch", "line"): "a position in the list matched",
}


def test_every_field_that_may_be_personal_is_declared() -> None:
    """A field named like personal data is masked by type, by PERSONAL, or said not personal."""
    looks_personal = {"name", "phone", "address", "line", "note", "notes", "description", "detail"}
    masked_by_type = {NationalId, PhoneNumber, NationalId | None, PhoneNumber | None}
    undeclared = sorted(
        (cls.__name__, a.name)
        for cls in projected_types()
        for a in attrs.fields(cls)
        if set(a.name.split("_")) & looks_personal
        and typing.get_type_hints(cls)[a.name] not in masked_by_type
        and not attrs.has(typing.get_type_hints(cls)[a.name])  # its own fields are checked
        and a.name not in PERSONAL.get(cls, {})
        and (cls.__name__, a.name) not in NOT_PERSONAL
    )
    assert [] == undeclared
