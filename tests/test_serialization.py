"""Tests for gridgov.serialization: round trips, deterministic JSON, strict and safe errors."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import tomllib
import types
import typing
from collections.abc import Iterator

import attrs
import cattrs
import pendulum
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gridgov.care import ContactMethod
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases import Reporter
from gridgov.codes import CodeScheme, NationalId, PhoneNumber, Segment, Sex
from gridgov.errors import ValidationError
from gridgov.grid import (
    Assignment,
    Boundary,
    Duty,
    GridCell,
    GridLevel,
    GridTree,
    LandUse,
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
    LivingArrangement,
    Resident,
    Tag,
)
from gridgov.serialization import (
    configure_converter,
    dumps,
    loads,
    make_converter,
    parse_date,
    parse_instant,
    structure,
    structure_arguments,
    unstructure,
)
from gridgov.testing import strategies as gst
from gridgov.testing._grid_attributes import dated_cells

FAST = settings(max_examples=20, deadline=None)
SLOW = settings(max_examples=15, deadline=None)

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
Path = tuple[str | int, ...]

KNOWN_ID = "11010519491231002X"  # GB 11643-1999's example: female, born 1949-12-31
KNOWN_PHONE = "13812345678"


@attrs.frozen
class Ledger:
    """A wrapper that puts households under a field, as a ledger file does."""

    households: tuple[Household, ...]


@attrs.frozen
class Visit:
    """A wrapper holding an instant, as cases and contact records do."""

    at: pendulum.DateTime


def _household() -> Household:
    """Return a small household with one resident and an emergency contact."""
    resident = Resident(
        id="r-1",
        name="田林",
        national_id=NationalId(KNOWN_ID),
        phone=KNOWN_PHONE,
        tags=[Tag.LIVING_ALONE, Tag.ADVANCED_AGE],
        emergency_contacts=[EmergencyContact("田雨", "029-87654321", "儿子")],
    )
    return Household(
        id="hh-1",
        cell_code="610102001001001",
        address=Address("铁一村3号楼", "2", "301"),
        status=HouseholdStatus.RELOCATED,
        members=(resident,),
        forwarding=ForwardingContact("含元路1号"),
    )


def _fmt(path: Path) -> str:
    """Format path tokens as ValidationError.path does: ``members[0].name``."""
    out = ""
    for token in path:
        if isinstance(token, int):
            out += f"[{token}]"
        else:
            out = f"{out}.{token}" if out else token
    return out


def _positions(data: Json, path: Path = ()) -> Iterator[tuple[Path, Json]]:
    """Yield every position in JSON-ready data (the root first) with its value."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _positions(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _positions(value, (*path, i))


def _step(node: Json, token: str | int) -> Json:
    """Return the child of ``node`` at ``token`` (an index for lists, a key for objects)."""
    if isinstance(token, int):
        assert isinstance(node, list)
        return node[token]
    assert isinstance(node, dict)
    return node[token]


def _replaced(data: Json, path: Path, value: Json) -> Json:
    """Return a deep copy of ``data`` with ``value`` at ``path`` (not the root)."""
    out = copy.deepcopy(data)
    parent = out
    for token in path[:-1]:
        parent = _step(parent, token)
    last = path[-1]
    if isinstance(last, int):
        assert isinstance(parent, list)
        parent[last] = value
    else:
        assert isinstance(parent, dict)
        parent[last] = value
    return out


def _deleted(data: Json, path: Path) -> Json:
    """Return a deep copy of ``data`` without the object key at ``path``."""
    out = copy.deepcopy(data)
    parent = out
    for token in path[:-1]:
        parent = _step(parent, token)
    last = path[-1]
    assert isinstance(parent, dict)
    assert isinstance(last, str)
    del parent[last]
    return out


def _objects(data: Json, hint: object, path: Path = ()) -> Iterator[tuple[Path, list[str]]]:
    """Yield the path of every attrs object in ``data`` typed ``hint``, with its required keys."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            yield from _objects(data, arg, path)
    elif origin is tuple and isinstance(data, list):
        for i, item in enumerate(data):
            yield from _objects(item, typing.get_args(hint)[0], (*path, i))
    elif isinstance(hint, type) and attrs.has(hint) and isinstance(data, dict):
        if hint is Boundary:  # written as GeoJSON, not field by field
            return
        fields = attrs.fields(hint)
        yield path, [f.name for f in fields if f.init and f.default is attrs.NOTHING]
        hints = typing.get_type_hints(hint)
        for f in fields:
            if f.name in data:
                yield from _objects(data[f.name], hints[f.name], (*path, f.name))


def _texts(exc: ValidationError) -> list[str]:
    """Return every text a ValidationError shows: message, repr and problems."""
    return [str(exc), repr(exc), exc.problem, *(m for _, m in exc.problems)]


# --- round trips ------------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[st.SearchStrategy[object], type[object]]] = [
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
    (dated_cells(gst.grid_cells()), GridCell),
    (gst.assignments(), Assignment),
    (gst.workers(), Worker),
    (gst.code_schemes(), CodeScheme),
    (gst.code_schemes().map(lambda s: s.segments[-1]), Segment),
    (gst.dates(), pendulum.Date),
    (gst.contact_attempts(), ContactAttempt),
    (gst.care_tasks(), CareTask),
    (gst.aware_datetimes(), pendulum.DateTime),
    (st.sampled_from(GridLevel), GridLevel),
    (st.sampled_from(Sex), Sex),
    (st.sampled_from(HouseholdStatus), HouseholdStatus),
    (st.sampled_from(LivingArrangement), LivingArrangement),
]
ROUND_TRIP_IDS = [cls.__name__ for _, cls in ROUND_TRIPS]
ROUND_TRIP_IDS[ROUND_TRIP_IDS.index("GridCell") + 1] = "GridCell-dated"


@pytest.mark.parametrize(("strategy", "cls"), ROUND_TRIPS, ids=ROUND_TRIP_IDS)
@FAST
@given(data=st.data())
def test_round_trips_for_every_domain_type(
    strategy: st.SearchStrategy[object], cls: type[object], data: st.DataObject
) -> None:
    """structure(unstructure(x)) == x and loads(dumps(x)) == x; the copy dumps the same text."""
    value = data.draw(strategy)
    assert value == structure(unstructure(value), cls)
    text = dumps(value)
    again = loads(text, cls)
    assert value == again
    assert text == dumps(again)


@settings(max_examples=10, deadline=None)
@given(gst.grid_trees())
def test_grid_tree_round_trips_as_a_list_of_cells(tree: GridTree) -> None:
    """A tree serialised as its list of cells rebuilds into the same tree."""
    cells = loads(dumps(list(tree)), list[GridCell])
    assert list(tree) == list(GridTree(cells, tree.scheme))


def test_json_text_is_exactly_as_documented() -> None:
    """A known household serialises to a fixed text: field order kept, sets sorted."""
    expected = (
        '{"id": "hh-1", "cell_code": "610102001001001", '
        '"address": {"line": "铁一村3号楼", "unit": "2", "room": "301"}, '
        '"status": "relocated", "members": [{"id": "r-1", "name": "田林", '
        '"national_id": "11010519491231002X", "birth_date": "1949-12-31", "sex": "female", '
        '"phone": "13812345678", "tags": ["advanced_age", "living_alone"], '
        '"living_arrangement": null, "health_flags": [], "emergency_contacts": '
        '[{"name": "田雨", "phone": "029-87654321", "relationship": "儿子"}], '
        '"relationship": ""}], "forwarding": {"address": "含元路1号", "phone": null, '
        '"note": ""}, "version": 0}'
    )
    assert expected == dumps(_household())


@FAST
@given(gst.residents(), st.randoms(use_true_random=False))
def test_sets_are_written_sorted_whatever_their_order(
    resident: Resident, rnd: random.Random
) -> None:
    """Tags and health flags are written sorted; insertion order does not change the text."""
    tags = list(resident.tags)
    rnd.shuffle(tags)
    shuffled = attrs.evolve(resident, tags=frozenset(tags))
    data = unstructure(resident)
    assert sorted(t.code for t in resident.tags) == data["tags"]
    assert sorted(f.code for f in resident.health_flags) == data["health_flags"]
    assert dumps(resident) == dumps(shuffled)


@FAST
@given(gst.workers())
def test_worker_roles_and_duties_are_written_sorted(worker: Worker) -> None:
    """A worker's roles and each assignment's duties are written sorted."""
    data = unstructure(worker)
    assert sorted(r.code for r in worker.roles) == data["roles"]
    for assignment, written in zip(worker.assignments, data["assignments"], strict=True):
        assert sorted(d.code for d in assignment.duties) == written["duties"]


# --- instants and dates -----------------------------------------------------------------------


@FAST
@given(gst.aware_datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1)))
def test_datetime_round_trip_keeps_instant_offset_and_zone_name(
    instant: pendulum.DateTime,
) -> None:
    """An instant comes back equal, with its offset and, for named zones, its zone name."""
    text = unstructure(instant)
    again = structure(text, pendulum.DateTime)
    assert instant == again
    assert instant.utcoffset() == again.utcoffset()
    name = instant.timezone_name
    if name is not None and "/" in name:
        assert text.endswith(f"[{name}]")
        assert name == again.timezone_name


def test_named_zone_is_written_with_rfc_9557_suffix() -> None:
    """A Shanghai instant is written with its offset and a bracketed zone name."""
    instant = pendulum.datetime(2025, 3, 1, 9, 30, tz="Asia/Shanghai")
    assert "2025-03-01T09:30:00+08:00[Asia/Shanghai]" == unstructure(instant)
    assert "Asia/Shanghai" == structure(unstructure(instant), pendulum.DateTime).timezone_name


def test_ambiguous_local_time_keeps_its_instant() -> None:
    """The second 01:30 of a DST fall-back day in New York survives the round trip."""
    instant = pendulum.datetime(2024, 11, 3, 6, 30, tz="UTC").in_timezone("America/New_York")
    again = structure(unstructure(instant), pendulum.DateTime)
    assert (instant, "-05:00") == (again, again.isoformat()[-6:])


@FAST
@given(st.datetimes(), st.sampled_from(["", "[Asia/Shanghai]", "[UTC]"]))
def test_naive_datetime_strings_are_rejected(naive: dt.datetime, suffix: str) -> None:
    """A date-time string without an offset is a ValidationError, even with a zone name."""
    with pytest.raises(ValidationError, match="naive"):
        structure(naive.isoformat() + suffix, pendulum.DateTime)


@FAST
@given(st.datetimes())
def test_naive_datetime_objects_are_rejected(naive: dt.datetime) -> None:
    """Naive datetime and naive pendulum DateTime objects are ValidationErrors at their path."""
    for value in (naive, pendulum.instance(naive).naive()):
        with pytest.raises(ValidationError) as info:
            structure({"at": value}, Visit)
        assert "at" == info.value.path


def test_unknown_zone_is_rejected() -> None:
    """An unknown bracketed zone name is a ValidationError."""
    with pytest.raises(ValidationError, match="time zone"):
        structure("2025-03-01T09:30:00+08:00[Mars/Olympus]", pendulum.DateTime)


def test_toml_native_dates_and_datetimes_are_accepted() -> None:
    """TOML-native datetime.date and aware datetime.datetime structure into pendulum values."""
    doc = tomllib.loads(
        'cell_code = "610102001001001"\nstart = 2024-03-01\nend = 2024-12-31\nduties = []\n'
    )
    assignment = structure(doc, Assignment)
    assert pendulum.Date is type(assignment.start)
    assert pendulum.Date(2024, 3, 1) == assignment.start
    visit = structure(tomllib.loads("at = 2025-03-01T09:30:00+08:00"), Visit)
    assert pendulum.datetime(2025, 3, 1, 1, 30) == visit.at


@pytest.mark.parametrize(
    ("toml", "cls", "path"),
    [
        ("at = 2025-03-01T09:30:00", Visit, "at"),
        ('cell_code = "a"\nstart = 2024-03-01T08:00:00+08:00', Assignment, "start"),
    ],
    ids=["local-datetime-for-instant", "datetime-for-date"],
)
def test_toml_local_datetimes_and_datetimes_for_dates_are_rejected(
    toml: str, cls: type[object], path: str
) -> None:
    """A TOML local date-time is not an instant, and a date-time is not a date."""
    with pytest.raises(ValidationError) as info:
        structure(tomllib.loads(toml), cls)
    assert path == info.value.path


# --- bad input: unknown keys, wrong types, missing keys ---------------------------------------

OBJECT_STRATEGIES: list[tuple[st.SearchStrategy[object], type[object]]] = [
    (gst.households(), Household),
    (gst.workers(), Worker),
    (dated_cells(gst.grid_cells()), GridCell),
]
OBJECT_IDS = [cls.__name__ for _, cls in OBJECT_STRATEGIES]
OBJECT_IDS[-1] = "GridCell-dated"
KEYS = st.text(st.characters(categories=["L"]), min_size=1, max_size=8)


def test_unknown_nested_key_is_named() -> None:
    """An unknown key in a member is reported at ``members[0].extra``."""
    data = unstructure(_household())
    data["members"][0]["extra"] = 1
    with pytest.raises(ValidationError) as info:
        structure(data, Household)
    assert ("members[0].extra", "unknown key") == (info.value.path, info.value.problem)


@pytest.mark.parametrize(("strategy", "cls"), OBJECT_STRATEGIES, ids=OBJECT_IDS)
@SLOW
@given(data=st.data())
def test_unknown_keys_anywhere_are_named(
    strategy: st.SearchStrategy[object], cls: type[object], data: st.DataObject
) -> None:
    """A key added to any object, GeoJSON included, is rejected with its path."""
    document: Json = unstructure(data.draw(strategy))
    objects = [p for p, v in _positions(document) if isinstance(v, dict)]
    where = data.draw(st.sampled_from(objects))
    key = data.draw(KEYS)
    target = dict(_positions(document))[where]
    assert isinstance(target, dict)
    assume(key not in target)
    with pytest.raises(ValidationError) as info:
        structure(_replaced(document, (*where, key), 1), cls)
    assert _fmt((*where, key)) == info.value.path


@pytest.mark.parametrize("extra", [{1: "x"}, {1: "x", "z": "y"}], ids=["int", "int-and-str"])
def test_non_string_unknown_keys_are_named_as_text(extra: dict[object, object]) -> None:
    """Unknown non-string keys (YAML allows them) are reported with a text path."""
    document: dict[object, object] = {**unstructure(_household()), **extra}
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    assert "1" == info.value.path


def test_a_cell_stored_before_its_attributes_reads_with_their_defaults() -> None:
    """A cell document of schema versions 1 to 10 (no grade, land use, body, dates) still reads."""
    document = {"code": "610102", "name": "新城区", "level": "district", "version": 3}
    cell = structure(document, GridCell)
    assert (None, None, "", None, None, True) == (
        cell.management_grade,
        cell.land_use,
        cell.responsible_body,
        cell.valid_from,
        cell.valid_to,
        cell.active_on(pendulum.Date(2026, 12, 1)),
    )


def test_a_cell_with_its_attributes_is_written_as_documented() -> None:
    """Grade, land use (its code), body and dates (ISO days) are plain JSON values."""
    cell = GridCell(
        "610102003006001",
        "第一网格",
        GridLevel.GRID,
        "610102003006",
        management_grade=2,
        land_use=LandUse.RESIDENTIAL,
        responsible_body="明宫社区居委会",
        valid_from=pendulum.Date(2024, 1, 1),
        valid_to=pendulum.Date(2026, 11, 30),
    )
    written = unstructure(cell)
    assert (2, "residential", "明宫社区居委会", "2024-01-01", "2026-11-30") == (
        written["management_grade"],
        written["land_use"],
        written["responsible_body"],
        written["valid_from"],
        written["valid_to"],
    )


def test_bad_geojson_coordinates_are_named_as_in_the_input() -> None:
    """Malformed GeoJSON coordinates are reported at the input's ``coordinates`` key."""
    document = {
        "code": "610102",
        "name": "新城区",
        "level": "district",
        "boundary": {"type": "Polygon", "coordinates": [[1]]},
    }
    with pytest.raises(ValidationError) as info:
        structure(document, GridCell)
    assert "boundary.coordinates" == info.value.path


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("id",), 5),
        (("members", 0, "name"), 3),
        (("members", 0, "emergency_contacts", 0, "phone"), 13812345678),
        (("version",), "5"),
        (("version",), True),
        (("version",), 1.0),
        (("address",), []),
        (("forwarding",), ["含元路1号"]),
        (("members", 0), "r-1"),
        (("status",), 1),
        (("members", 0, "tags"), 7),
        (("members", 0, "birth_date"), 19491231),
    ],
    ids=lambda v: str(v),
)
def test_wrong_types_are_reported_at_their_path(path: Path, value: Json) -> None:
    """Int for str, str or bool for int, list for object: a ValidationError at the path."""
    document = _replaced(unstructure(_household()), path, value)
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    assert _fmt(path) == info.value.path


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("members", 0, "tags"), "ab"),
        (("members", 0, "tags"), {"living_alone": True}),
        (("members",), ""),
        (("members",), {"id": "r-1"}),
    ],
    ids=["str-for-set", "object-for-set", "str-for-list", "object-for-list"],
)
def test_strings_and_objects_for_lists_are_rejected(path: Path, value: Json) -> None:
    """A string or an object where a list is expected is a ValidationError at the field."""
    document = _replaced(unstructure(_household()), path, value)
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    assert _fmt(path) == info.value.path


@pytest.mark.parametrize("value", [[], "hh-1"], ids=["list", "str"])
def test_non_object_at_top_level_is_a_validation_error(value: Json) -> None:
    """A list or string where an object is expected at the top is a ValidationError."""
    with pytest.raises(ValidationError) as info:
        structure(value, Household)
    assert "" == info.value.path


def test_non_object_at_top_level_is_rejected_for_scalars() -> None:
    """A number or null where an object is expected at the top is a ValidationError."""
    for value in (1, None, 2.5, True):
        with pytest.raises(ValidationError):
            structure(value, Household)


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("address",),
        ("address", "line"),
        ("members", 0, "id"),
        ("members", 0, "name"),
        ("members", 0, "emergency_contacts", 0, "phone"),
        ("forwarding", "address"),
    ],
    ids=lambda p: _fmt(p),
)
def test_missing_required_keys_are_named(path: Path) -> None:
    """A missing required key is reported at its path."""
    with pytest.raises(ValidationError) as info:
        structure(_deleted(unstructure(_household()), path), Household)
    assert (_fmt(path), "required key missing") == (info.value.path, info.value.problem)


@pytest.mark.parametrize(("strategy", "cls"), OBJECT_STRATEGIES, ids=OBJECT_IDS)
@SLOW
@given(data=st.data())
def test_any_missing_required_key_is_named(
    strategy: st.SearchStrategy[object], cls: type[object], data: st.DataObject
) -> None:
    """Deleting any required key of any nested object gives a ValidationError at its path."""
    document: Json = unstructure(data.draw(strategy))
    choices = [(*p, name) for p, required in _objects(document, cls) for name in required]
    path = data.draw(st.sampled_from(choices))
    with pytest.raises(ValidationError) as info:
        structure(_deleted(document, path), cls)
    assert _fmt(path) == info.value.path


# --- personal data stays out of messages ------------------------------------------------------


def _bad_ids() -> st.SearchStrategy[str]:
    """Invalid ID numbers: a valid one with a wrong check character or an impossible date."""
    wrong_check = gst.national_ids().map(
        lambda n: n.value[:17] + "0123456789X"[("0123456789X".index(n.value[17]) + 1) % 11]
    )
    bad_date = gst.national_ids().map(lambda n: n.value[:10] + "13" + n.value[12:])
    return wrong_check | bad_date


LEDGERS = st.builds(
    lambda first, fourth, rest: Ledger((*first, fourth, *rest)),
    st.lists(gst.households(max_members=1), min_size=3, max_size=3),
    gst.households(min_members=1, max_members=2),
    st.lists(gst.households(max_members=1), max_size=1),
)


@settings(max_examples=15, deadline=None)
@given(LEDGERS, _bad_ids())
def test_bad_national_id_deep_in_a_ledger_is_named_without_the_number(
    ledger: Ledger, bad: str
) -> None:
    """A bad ID at households[3].members[0] is named by path; no message repeats it."""
    document = _replaced(unstructure(ledger), ("households", 3, "members", 0, "national_id"), bad)
    with pytest.raises(ValidationError) as info:
        structure(document, Ledger)
    assert "households[3].members[0].national_id" == info.value.path
    for text in _texts(info.value):
        assert bad not in text
        assert bad[:14] not in text


@FAST
@given(gst.households(min_members=1, max_members=1), st.sampled_from(["1381234567", "0298765"]))
def test_bad_phone_is_named_without_the_number(household: Household, bad: str) -> None:
    """A bad phone number is named by path; no message repeats it."""
    path: Path = ("members", 0, "phone")
    with pytest.raises(ValidationError) as info:
        structure(_replaced(unstructure(household), path, bad), Household)
    assert "members[0].phone" == info.value.path
    for text in _texts(info.value):
        assert bad not in text


def test_id_and_birth_date_disagreeing_is_named_without_the_number() -> None:
    """A birth date contradicting the ID is reported at birth_date without the ID."""
    document = _replaced(unstructure(_household()), ("members", 0, "birth_date"), "1950-01-01")
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    assert "members[0].birth_date" == info.value.path
    assert not any(KNOWN_ID in text or KNOWN_ID[6:14] in text for text in _texts(info.value))


# --- several problems, garbage anywhere -------------------------------------------------------


def test_problems_lists_every_bad_field() -> None:
    """Several bad fields are all listed in ValidationError.problems."""
    document = unstructure(_household())
    document["id"] = 5
    document["version"] = "x"
    document["members"][0]["name"] = 3
    document["members"][0]["emergency_contacts"][0]["phone"] = "12"
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    expected = {"id", "version", "members[0].name", "members[0].emergency_contacts[0].phone"}
    assert expected == {path for path, _ in info.value.problems}
    assert "(and 3 more problem(s))" in str(info.value)


@FAST
@given(data=st.data(), household=gst.households())
def test_problems_lists_every_corrupted_leaf(data: st.DataObject, household: Household) -> None:
    """Replacing several string or number leaves with the wrong type reports each of them."""
    document: Json = unstructure(household)
    leaves = [
        p
        for p, v in _positions(document)
        if p and (isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)))
    ]
    chosen = data.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=4, unique=True))
    for path in chosen:
        old = dict(_positions(document))[path]
        document = _replaced(document, path, 0 if isinstance(old, str) else "x")
    with pytest.raises(ValidationError) as info:
        structure(document, Household)
    assert {_fmt(p) for p in chosen} == {path for path, _ in info.value.problems}


def _json(*strategies: st.SearchStrategy[typing.Any]) -> st.SearchStrategy[Json]:
    """Combine strategies of JSON-ready values into one typed as such."""
    return st.one_of(*strategies)


SCALARS = _json(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5))
NUMBERS = _json(st.booleans(), st.integers(), st.floats())
LISTS = _json(st.lists(SCALARS, max_size=3))
NON_EMPTY_LISTS = _json(st.lists(st.none() | st.booleans() | st.integers(), min_size=1, max_size=3))
OBJECTS = _json(st.dictionaries(st.text(max_size=4), SCALARS, max_size=2))


def _garbage_for(original: Json) -> st.SearchStrategy[Json]:
    """Values of a JSON type that the field holding ``original`` can never accept."""
    if isinstance(original, bool):
        return _json(st.integers(), st.text(), LISTS)
    if isinstance(original, int):
        return _json(st.booleans(), st.floats(), st.text(), st.none(), LISTS, OBJECTS)
    if isinstance(original, str):
        return _json(NUMBERS, LISTS, OBJECTS)
    if isinstance(original, list):
        return _json(NUMBERS, st.none(), st.text(), OBJECTS, NON_EMPTY_LISTS)
    if isinstance(original, dict):
        return _json(NUMBERS, st.text(), LISTS)
    return _json(NUMBERS, LISTS, OBJECTS)  # an optional field that was null


@settings(max_examples=40, deadline=None)
@given(data=st.data(), household=gst.households())
def test_garbage_anywhere_is_a_validation_error(data: st.DataObject, household: Household) -> None:
    """Any field of a household, at any depth, replaced by garbage gives a ValidationError."""
    document: Json = unstructure(household)
    path, original = data.draw(st.sampled_from([(p, v) for p, v in _positions(document) if p]))
    garbage = data.draw(_garbage_for(original))
    with pytest.raises(ValidationError) as info:
        structure(_replaced(document, path, garbage), Household)
    where = _fmt(path)
    assert where == info.value.path or info.value.path.startswith((f"{where}.", f"{where}["))


# --- converters -------------------------------------------------------------------------------


def test_make_converter_returns_independent_converters() -> None:
    """A hook registered on one converter changes neither another nor the default one."""
    first, second = make_converter(), make_converter()
    address = Address("铁一村3号楼")
    first.register_unstructure_hook(Address, lambda a: a.line)
    expected = {"line": "铁一村3号楼", "unit": None, "room": None}
    assert "铁一村3号楼" == first.unstructure(address)
    assert expected == second.unstructure(address)
    assert expected == unstructure(address)


def _plain_converter() -> cattrs.Converter:
    """Return a fresh plain cattrs converter configured by configure_converter."""
    conv = cattrs.Converter(forbid_extra_keys=True)
    configure_converter(conv)
    return conv


PLAIN = _plain_converter()


@FAST
@given(gst.households())
def test_configure_converter_on_a_plain_cattrs_converter(household: Household) -> None:
    """configure_converter makes a fresh cattrs.Converter round-trip and reject bad input."""
    conv = PLAIN
    assert household == loads(dumps(household, converter=conv), Household, converter=conv)
    document = json.loads(dumps(household, converter=conv))
    document["extra"] = 1
    with pytest.raises(ValidationError) as info:
        structure(document, Household, converter=conv)
    assert "extra" == info.value.path


def test_configured_plain_converter_names_deep_paths() -> None:
    """A configured plain converter reports a bad ID at its full path."""
    conv = _plain_converter()
    document = unstructure(Ledger((_household(),) * 4), converter=conv)
    document["households"][3]["members"][0]["national_id"] = KNOWN_ID[:17] + "1"
    with pytest.raises(ValidationError) as info:
        structure(document, Ledger, converter=conv)
    assert "households[3].members[0].national_id" == info.value.path


def test_source_is_named_in_errors() -> None:
    """structure(..., source=...) names the input in the error."""
    with pytest.raises(ValidationError) as info:
        structure({"id": 5}, Household, source="ledger.json")
    assert "ledger.json" == info.value.source
    assert str(info.value).startswith("ledger.json: ")


def test_invalid_json_is_a_validation_error() -> None:
    """Text that is not JSON is a ValidationError, not a JSONDecodeError."""
    with pytest.raises(ValidationError, match="not valid JSON"):
        loads("{", Household)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-11-28T09:00:00", "naive datetime: an instant needs a UTC offset"),
        ("28/11/2026 09:00", "not an ISO 8601 date-time"),
        ("2101-01-01T00:00:00+08:00", "outside the supported range 1900-01-01 to 2100-12-31"),
        (
            "2026-11-28T09:00:00+09:00[Asia/Shanghai]",
            "the UTC offset does not match the bracketed time zone",
        ),
        (20261128, "expected an ISO 8601 date-time string, got int"),
    ],
)
def test_parse_instant_refuses_what_is_not_an_instant(text: object, problem: str) -> None:
    """A strict instant parser for a platform: each refusal names the field and the problem."""
    with pytest.raises(ValidationError) as info:
        parse_instant(text, "since")
    assert ("since", problem) == (info.value.path, info.value.problem)


def test_parse_instant_keeps_the_offset_and_the_zone() -> None:
    """An offset is kept; a bracketed zone becomes the instant's zone."""
    plain = parse_instant("2026-11-28T09:00:00+08:00")
    zoned = parse_instant("2026-11-28T09:00:00+08:00[Asia/Shanghai]")
    assert (plain, "Asia/Shanghai") == (zoned, zoned.timezone_name)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-11-28T09:00:00+08:00", "not an ISO 8601 date (YYYY-MM-DD)"),
        ("28/11/2026", "not an ISO 8601 date (YYYY-MM-DD)"),
        ("1899-12-31", "outside the supported range 1900-01-01 to 2100-12-31"),
        (20261128, "expected an ISO 8601 date string, got int"),
    ],
)
def test_parse_date_refuses_what_is_not_a_day(text: object, problem: str) -> None:
    """A strict day parser for query parameters: each refusal names the field and the problem."""
    with pytest.raises(ValidationError) as info:
        parse_date(text, "on")
    assert ("on", problem) == (info.value.path, info.value.problem)


def test_parse_date_reads_an_iso_day() -> None:
    """``YYYY-MM-DD`` is a pendulum Date."""
    assert pendulum.Date(2026, 11, 28) == parse_date("2026-11-28")


def _service(
    uow: object,
    *,
    resident_id: str,
    method: ContactMethod,
    at: pendulum.DateTime,
    notes: str = "",
    reporter: Reporter | None = None,
    by: str,
) -> None:
    """A service's signature, as the body of a request fills it."""


_ASKED = ("resident_id", "method", "at", "notes", "reporter")


def test_structure_arguments_types_what_a_body_gives() -> None:
    """Each value is built to its parameter's type; what the body leaves out is left out."""
    body = {
        "resident_id": "r1",
        "method": "phone",
        "at": "2026-11-28T08:50:00+08:00",
        "reporter": {"name": "王小明", "phone": "13812345678"},
    }
    expected = {
        "resident_id": "r1",
        "method": ContactMethod.PHONE,
        "at": pendulum.datetime(2026, 11, 28, 8, 50, tz="Asia/Shanghai"),
        "reporter": Reporter(name="王小明", phone="13812345678"),
    }
    assert expected == structure_arguments(_service, body, _ASKED)


def test_structure_arguments_lists_every_problem_in_the_parameters_order() -> None:
    """Unknown keys, missing required keys and bad values: one ValidationError, field by field."""
    body = {"by": "w1", "at": "2026-11-28T08:50", "method": "fax", "reporter": {"name": 1}}
    with pytest.raises(ValidationError) as info:
        structure_arguments(_service, body, _ASKED)
    assert [
        ("resident_id", "required key missing"),
        ("method", "not one of 'home_visit', 'phone', 'video', 'volunteer_visit'"),
        ("at", "naive datetime: an instant needs a UTC offset"),
        ("reporter.name", "expected a string, got int"),
        ("by", "unknown key"),
    ] == list(info.value.problems)


@pytest.mark.parametrize("body", [[], "text", None])
def test_structure_arguments_wants_an_object(body: object) -> None:
    """A body that is not a JSON object is refused at the top."""
    with pytest.raises(ValidationError) as info:
        structure_arguments(_service, body, _ASKED)
    assert ("", f"expected an object, got {type(body).__name__}") == (
        info.value.path,
        info.value.problem,
    )


def test_structure_arguments_names_only_parameters() -> None:
    """Asking for a name the service does not take is the caller's mistake: a TypeError."""
    with pytest.raises(TypeError) as info:
        structure_arguments(_service, {}, ("resident_id", "when"))
    assert "_service takes no argument when by name" == str(info.value)
