"""Tests for gridgov.interop.open311: services, requests out, requests in, errors, import."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import open_store
from gridgov.calendar import WorkCalendar
from gridgov.cases.catalogue import DEFAULT_CATALOGUE, Category, ServiceCatalogue, Stage, TimeLimit
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
from gridgov.codes import PhoneNumber
from gridgov.errors import ConflictError, NotFoundError, ValidationError
from gridgov.grid import GridCell, GridLevel
from gridgov.interop.open311 import (
    ImportResult,
    Redaction,
    ServiceRequestIn,
    dumps_requests,
    dumps_services,
    errors_document,
    import_requests,
    parse_request,
    service_request,
    service_requests,
    services,
)
from gridgov.ports import Store
from gridgov.testing import strategies as gst

TZ = "Asia/Shanghai"
AT = pendulum.datetime(2026, 11, 27, 9, 0, tz=TZ)
NOW = pendulum.datetime(2026, 11, 28, 9, 0, tz=TZ)
COMMUNITY = "610102003006"
GRID = "610102003006001"
BUILDING = f"{GRID}001"
WORKFLOW = CaseWorkflow(WorkCalendar())
OWNER = GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY)
PHONE = "13812345678"
ADDRESS = "铁一村3号楼2单元301"
NAME = "王小明"
FAST = settings(max_examples=40, deadline=None)


def report(
    *,
    description: str = "3号楼楼道堆物",
    address: str = ADDRESS,
    point: tuple[float, float] | None = (108.95, 34.28),
    reporter: Reporter | None = None,
    category: str = "complaint",
    at: pendulum.DateTime = AT,
) -> Case:
    """Return a newly reported case in GRID."""
    return WORKFLOW.report(
        case_id="c1",
        category=category,
        source=CaseSource.ONLINE,
        location=Location(GRID, address, point),
        reporter=reporter or Reporter(NAME, PHONE),
        description=description,
        owner=OWNER,
        at=at,
        actor="w1",
    ).case


def act(case: Case, action: Action, role: CaseRole, hours: int, note: str = "") -> Case:
    """Return ``case`` after ``action``, ``hours`` after AT."""
    return WORKFLOW.apply(
        case, action, actor=f"{role.value}-1", role=role, at=AT.add(hours=hours), note=note
    ).case


def handled(note: str = "已清理") -> Case:
    """Return the case registered, dispatched, started and handled with ``note``."""
    case = act(report(), Action.REGISTER, CaseRole.DISPATCHER, 1)
    case = act(case, Action.DISPATCH, CaseRole.DISPATCHER, 2)
    case = act(case, Action.START, CaseRole.HANDLER, 3)
    return act(case, Action.HANDLE, CaseRole.HANDLER, 4, note)


# --- services ---------------------------------------------------------------------------------


def test_services_in_chinese() -> None:
    """A category is a service named in Chinese with its handling time limit in words."""
    listed = services(DEFAULT_CATALOGUE)

    assert [c.code for c in DEFAULT_CATALOGUE.categories] == [s["service_code"] for s in listed]
    assert {
        "service_code": "complaint",
        "service_name": "投诉",
        "description": "办理时限：15个工作日",
        "metadata": False,
        "type": "batch",
        "keywords": "complaint, 投诉, Complaint",
        "group": "一般",
    } == listed[3]
    assert {
        "service_code": "emergency",
        "service_name": "紧急：危及生命财产安全",
        "description": "办理时限：2小时",
        "metadata": False,
        "type": "realtime",
        "keywords": "emergency, 紧急：危及生命财产安全, Emergency: risk to life or property, 紧急",
        "group": "紧急",
    } == listed[5]


def test_services_in_english() -> None:
    """English names and limits; commas in a label do not split the keyword list."""
    listed = {s["service_code"]: s for s in services(DEFAULT_CATALOGUE, lang="en")}

    assert {
        "service_code": "utilities",
        "service_name": "Water, power, gas or heating",
        "description": "handling within 24 hours",
        "metadata": False,
        "type": "batch",
        "keywords": "utilities, 水电气热, Water power gas or heating",
        "group": "general",
    } == listed["utilities"]
    assert "handling within 2 working days" == listed["consultation"]["description"]
    assert ("realtime", "emergency") == (listed["emergency"]["type"], listed["emergency"]["group"])


def test_services_refuse_an_unknown_language() -> None:
    """Only zh and en are known; the error names ``lang``."""
    with pytest.raises(ValidationError) as info:
        services(DEFAULT_CATALOGUE, lang="fr")

    assert "lang" == info.value.path


def test_dumps_services_is_json_with_chinese_kept() -> None:
    """The JSON text parses back to the list and keeps Chinese characters as they are."""
    text = dumps_services(DEFAULT_CATALOGUE)

    assert services(DEFAULT_CATALOGUE) == json.loads(text)
    assert "投诉" in text
    assert "\\u" not in text


# --- cases as service requests ----------------------------------------------------------------


def test_new_case_as_masked_service_request() -> None:
    """A new case is open; the masked request leaves the address out and has no deadline yet."""
    expected = {
        "service_request_id": "c1",
        "status": "open",
        "service_name": "投诉",
        "service_code": "complaint",
        "description": "3号楼楼道堆物",
        "agency_responsible": GRID,
        "service_notice": "办理时限：15个工作日",
        "requested_datetime": "2026-11-27T09:00:00+08:00",
        "updated_datetime": "2026-11-27T09:00:00+08:00",
        "lat": 34.28,
        "long": 108.95,
    }

    assert expected == service_request(report(), DEFAULT_CATALOGUE)


def test_handled_case_as_full_service_request_in_english() -> None:
    """FULL shows the address; the handling note, deadline and last step are exported."""
    expected = {
        "service_request_id": "c1",
        "status": "open",
        "status_notes": "已清理",
        "service_name": "Complaint",
        "service_code": "complaint",
        "description": "3号楼楼道堆物",
        "agency_responsible": GRID,
        "service_notice": "handling within 15 working days",
        "requested_datetime": "2026-11-27T09:00:00+08:00",
        "updated_datetime": "2026-11-27T13:00:00+08:00",
        "expected_datetime": "2026-12-18T17:30:00+08:00",
        "address": ADDRESS,
        "lat": 34.28,
        "long": 108.95,
    }

    actual = service_request(handled(), DEFAULT_CATALOGUE, redaction=Redaction.FULL, lang="en")

    assert expected == actual


def test_closed_case_is_closed_as_of_its_closing() -> None:
    """A closed and evaluated case is closed; updated_datetime is when it was closed."""
    case = act(handled(), Action.VERIFY, CaseRole.VERIFIER, 5)
    case = act(case, Action.CLOSE, CaseRole.DISPATCHER, 6)
    case = WORKFLOW.apply(
        case,
        Action.EVALUATE,
        actor="w1",
        role=CaseRole.DISPATCHER,
        at=AT.add(hours=30),
        satisfaction=Satisfaction.SATISFIED,
    ).case

    out = service_request(case, DEFAULT_CATALOGUE)

    assert ("closed", "已清理", "2026-11-27T15:00:00+08:00") == (
        out["status"],
        out["status_notes"],
        out["updated_datetime"],
    )


def test_rejected_case_is_closed_with_the_reason() -> None:
    """A rejection closes the request and its note becomes the status notes."""
    case = act(report(), Action.REJECT, CaseRole.DISPATCHER, 1, "不属于受理范围")

    out = service_request(case, DEFAULT_CATALOGUE)

    assert ("closed", "不属于受理范围", "2026-11-27T10:00:00+08:00") == (
        out["status"],
        out["status_notes"],
        out["updated_datetime"],
    )


def test_case_without_point_or_address_has_no_location_fields() -> None:
    """No point: no lat and long; an empty address is left out even with FULL."""
    out = service_request(
        report(address="", point=None), DEFAULT_CATALOGUE, redaction=Redaction.FULL
    )

    assert set() == {"lat", "long", "address"} & set(out)


def test_masked_output_hides_phone_address_name_and_id() -> None:
    """Personal data in the description and notes is masked; the JSON text holds none of it."""
    case = report(
        description=f"{NAME}反映{ADDRESS}楼道堆物，电话138 1234 5678，身份证11010519491231002X",
    )
    case = act(case, Action.REGISTER, CaseRole.DISPATCHER, 1)
    case = act(case, Action.DISPATCH, CaseRole.DISPATCHER, 2)
    case = act(case, Action.START, CaseRole.HANDLER, 3)
    case = act(
        case, Action.HANDLE, CaseRole.HANDLER, 4, f"已清理，回访{NAME}{PHONE}，邮箱wxm@example.com"
    )

    text = dumps_requests([case], DEFAULT_CATALOGUE)
    out = json.loads(text)[0]

    for secret in (PHONE, "138 1234 5678", ADDRESS, NAME, "11010519491231002X", "wxm@"):
        assert secret not in text
    assert "王**反映***楼道堆物，电话138****5678，身份证110105**********2X" == out["description"]
    assert "已清理，回访王**138****5678，邮箱w***@example.com" == out["status_notes"]


def test_masked_output_masks_landlines() -> None:
    """A landline in the description keeps its area code and last four digits."""
    case = report(description="请联系029-87654321或02988776655")

    out = service_request(case, DEFAULT_CATALOGUE)

    assert "请联系029-****4321或029-****6655" == out["description"]


def test_masked_output_keeps_cell_codes() -> None:
    """Grid and building codes are not taken for ID numbers; a 15-digit old ID is masked."""
    case = report(description=f"{GRID}网格{BUILDING}楼，旧证号110105491231002")

    out = service_request(case, DEFAULT_CATALOGUE)

    assert f"{GRID}网格{BUILDING}楼，旧证号110105*******02" == out["description"]


def test_full_output_shows_what_is_stored() -> None:
    """FULL exports the description and the address as stored."""
    case = report(description=f"电话{PHONE}")

    text = dumps_requests([case], DEFAULT_CATALOGUE, redaction=Redaction.FULL)

    assert PHONE in text
    assert ADDRESS in text


def test_service_requests_name_the_case_of_an_unknown_category() -> None:
    """A case whose category the catalogue lacks is refused, naming its index."""
    other = ServiceCatalogue([DEFAULT_CATALOGUE.get("help")])
    cases = [report(category="help"), report()]

    with pytest.raises(ValidationError) as info:
        service_requests(cases, other)

    assert ("[1].category", "not in the service catalogue") == (
        info.value.path,
        info.value.problem,
    )


def test_service_requests_keep_order() -> None:
    """The list holds one request per case, in order."""
    cases = [report(), attrs.evolve(report(category="help"), id="c2")]

    assert ["c1", "c2"] == [
        r["service_request_id"] for r in service_requests(cases, DEFAULT_CATALOGUE)
    ]


# --- requests in ------------------------------------------------------------------------------


def test_parse_a_json_request() -> None:
    """Every field is kept; names, phone, point and instant are normalised."""
    request = parse_request(
        {
            "service_code": "complaint",
            "description": "  楼道堆物\n影响通行 ",
            "lat": 34.28,
            "long": 108.95,
            "address_string": ADDRESS,
            "first_name": "小明",
            "last_name": "王",
            "phone": "+86 138-1234-5678",
            "email": "wxm@example.com",
            "device_id": "d1",
            "account_id": "a1",
            "media_url": "https://example.com/1.jpg",
            "service_request_id": 638344,
            "requested_datetime": "2026-11-27T01:00:00Z",
            "jurisdiction_id": "xa.gov.cn",
            "api_key": "secret",
        },
        DEFAULT_CATALOGUE,
    )

    expected = ServiceRequestIn(
        service_code="complaint",
        description="楼道堆物\n影响通行",
        lat=34.28,
        long=108.95,
        address_string=ADDRESS,
        first_name="小明",
        last_name="王",
        phone=PhoneNumber(PHONE),
        email="wxm@example.com",
        device_id="d1",
        account_id="a1",
        media_url="https://example.com/1.jpg",
        service_request_id="638344",
        requested_datetime=pendulum.datetime(2026, 11, 27, 1, 0, tz="UTC"),
        jurisdiction_id="xa.gov.cn",
    )
    assert expected == request
    assert (NAME, (108.95, 34.28), "open311:638344") == (
        request.reporter_name,
        request.point,
        request.external_id,
    )


def test_parse_a_form_encoded_request() -> None:
    """Form values are strings: numbers are parsed, empty values count as not sent."""
    body = (
        "service_code=help&lat=39.9&long=116.4&description=%E8%B7%AF%E7%81%AF%E5%9D%8F%E4%BA%86"
        "&email=&first_name=Lin&last_name=Tian"
    )

    request = parse_request(
        dict(urllib.parse.parse_qsl(body, keep_blank_values=True)), DEFAULT_CATALOGUE
    )

    assert (
        ServiceRequestIn("help", "路灯坏了", 39.9, 116.4, first_name="Lin", last_name="Tian")
        == request
    )
    assert "Lin Tian" == request.reporter_name


def test_parse_accepts_an_address_alone() -> None:
    """An address_string (or an address_id) is a location without a point."""
    by_string = parse_request(
        {"service_code": "help", "description": "x", "address_string": ADDRESS}, DEFAULT_CATALOGUE
    )
    by_id = parse_request(
        {"service_code": "help", "description": "x", "address_id": 545483}, DEFAULT_CATALOGUE
    )

    assert (None, ADDRESS) == (by_string.point, by_string.address_string)
    assert (None, "545483") == (by_id.point, by_id.address_id)


def test_parse_keeps_the_offset_of_requested_datetime() -> None:
    """A requested_datetime with an offset keeps the instant and the offset."""
    request = parse_request(
        {
            "service_code": "help",
            "description": "x",
            "lat": 0,
            "long": 0,
            "requested_datetime": "2026-11-27T09:00:00+08:00",
        },
        DEFAULT_CATALOGUE,
    )

    assert request.requested_datetime is not None
    assert (AT, "+08:00") == (
        request.requested_datetime,
        request.requested_datetime.isoformat()[-6:],
    )


GOOD = {"service_code": "complaint", "description": "楼道堆物", "lat": "34.28", "long": "108.95"}


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (
            {"requested_datetime": "2026-11-27T09:00:00"},
            "requested_datetime",
            "naive datetime: an instant needs a UTC offset",
        ),
        ({"requested_datetime": "yesterday"}, "requested_datetime", "not an ISO 8601 date-time"),
        ({"service_code": "pothole"}, "service_code", "not in the service catalogue"),
        ({"lat": "91"}, "lat", "expected a number from -90 to 90"),
        ({"lat": -90.5}, "lat", "expected a number from -90 to 90"),
        ({"long": "181"}, "long", "expected a number from -180 to 180"),
        ({"lat": "north"}, "lat", "expected a number from -90 to 90"),
        ({"lat": "nan"}, "lat", "expected a number from -90 to 90"),
        ({"lat": True}, "lat", "expected a number from -90 to 90"),
        ({"lat": [34.28]}, "lat", "expected a number from -90 to 90, got list"),
        ({"description": 42}, "description", "expected a string, got int"),
        ({"service_code": ["complaint"]}, "service_code", "expected a string, got list"),
        ({"description": "x" * 4001}, "description", "longer than 4000 characters"),
        ({"address_string": "x" * 301}, "address_string", "longer than 300 characters"),
        ({"service_request_id": "9" * 93}, "service_request_id", "longer than 92 characters"),
        ({"service_request_id": 10**5000}, "service_request_id", "longer than 92 characters"),
        ({"lat": 10**400}, "lat", "expected a number from -90 to 90"),
        ({"lat": "1" + "0" * 400}, "lat", "expected a number from -90 to 90"),
        ({"description": "  "}, "description", "required"),
        ({"colour": "red"}, "colour", "unknown key"),
        (
            {"attribute[WHISPAWN]": "1"},
            "attribute[WHISPAWN]",
            "unknown key: these services take no attributes (their metadata is false)",
        ),
        ({"long": None}, "long", "lat and long are sent together"),
        (
            {"lat": "", "long": ""},
            "lat",
            "a location is required: lat and long, address_string or address_id",
        ),
        (
            {"phone": "12345"},
            "phone",
            "not a mainland phone number (11-digit mobile or area code-number landline)",
        ),
        ({"email": "not-an-address"}, "email", "not an e-mail address"),
        ({"media_url": "file:///etc/passwd"}, "media_url", "expected an http or https URL"),
        (
            {"first_name": "x" * 30, "last_name": "y" * 30},
            "last_name",
            "the names together are longer than 50 characters",
        ),
    ],
)
def test_parse_refuses_bad_input_naming_the_field(
    change: dict[str, object], path: str, problem: str
) -> None:
    """Each bad field is a ValidationError naming it, with a message that holds no input."""
    with pytest.raises(ValidationError) as info:
        parse_request({**GOOD, **change}, DEFAULT_CATALOGUE)

    assert [(path, problem)] == list(info.value.problems)


def test_parse_requires_service_code_and_description() -> None:
    """Both are required; a missing one is named."""
    with pytest.raises(ValidationError) as info:
        parse_request({"lat": 1, "long": 1}, DEFAULT_CATALOGUE)

    assert [("service_code", "required"), ("description", "required")] == list(info.value.problems)


def test_parse_reports_every_problem() -> None:
    """All problems of a request are listed, in the specification's order of the fields."""
    with pytest.raises(ValidationError) as info:
        parse_request(
            {"service_code": "pothole", "lat": "100", "long": 0, "description": "x", "x": 1},
            DEFAULT_CATALOGUE,
        )

    assert [
        ("service_code", "not in the service catalogue"),
        ("lat", "expected a number from -90 to 90"),
        ("x", "unknown key"),
    ] == list(info.value.problems)


def test_parse_refuses_a_body_that_is_not_an_object() -> None:
    """A list or a string is not a request."""
    with pytest.raises(ValidationError) as info:
        parse_request(["complaint"], DEFAULT_CATALOGUE)  # type: ignore[arg-type]

    assert ("", "expected an object, got list") == (info.value.path, info.value.problem)


def test_request_repr_shows_no_personal_data() -> None:
    """The repr shows the code, the id and the masked phone: no name, address, e-mail or text."""
    request = parse_request(
        {
            **GOOD,
            "first_name": "小明",
            "last_name": "王",
            "phone": PHONE,
            "email": "wxm@example.com",
            "address_string": ADDRESS,
            "service_request_id": "7",
        },
        DEFAULT_CATALOGUE,
    )

    assert (
        "ServiceRequestIn(service_code='complaint', service_request_id='7', phone='138****5678')"
        == repr(request)
    )


# --- errors -----------------------------------------------------------------------------------


def test_errors_document_of_a_validation_error() -> None:
    """One entry per problem; an unknown service code is a 404, as the specification says."""
    with pytest.raises(ValidationError) as info:
        parse_request({**GOOD, "service_code": "pothole", "lat": "100"}, DEFAULT_CATALOGUE)

    assert [
        {"code": 404, "description": "service_code: not in the service catalogue"},
        {"code": 400, "description": "lat: expected a number from -90 to 90"},
    ] == errors_document(info.value)


def test_errors_document_of_several_errors() -> None:
    """Other errors give one entry each with a fitting code."""
    errors = [
        NotFoundError("case", "c9"),
        ConflictError("stale version", retryable=True),
        ValidationError("", "bad"),
    ]

    assert [
        {"code": 404, "description": "case 'c9' not found"},
        {"code": 409, "description": "stale version; retrying the unit of work may succeed"},
        {"code": 400, "description": "bad"},
    ] == errors_document(errors)


# --- round trips ------------------------------------------------------------------------------


# Any character text may hold (no control characters, no lone surrogates).
STORABLE = st.characters(blacklist_categories=("Cc", "Cs"))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Newly reported cases of any default category, with a point and maybe an address."""
    point = (
        draw(st.floats(-180, 180, allow_nan=False)),
        draw(st.floats(-90, 90, allow_nan=False)),
    )
    return WORKFLOW.report(
        case_id=draw(gst.identifiers()),
        category=draw(st.sampled_from([c.code for c in DEFAULT_CATALOGUE.categories])),
        source=draw(st.sampled_from(CaseSource)),
        location=Location(GRID, draw(st.text(STORABLE, max_size=300).map(str.strip)), point),
        reporter=Reporter(
            draw(st.just("") | gst.personal_names()), draw(st.none() | gst.phone_numbers())
        ),
        description=draw(st.text(STORABLE, min_size=1, max_size=4000).map(str.strip).filter(bool)),
        owner=OWNER,
        at=draw(gst.aware_datetimes()),
        actor="w1",
    ).case


def _as_post(exported: Mapping[str, object]) -> dict[str, object]:
    """Return the POST fields that report the exported request again."""
    keys = (
        "service_code",
        "description",
        "lat",
        "long",
        "requested_datetime",
        "service_request_id",
    )
    data = {k: exported[k] for k in keys}
    if "address" in exported:
        data["address_string"] = exported["address"]
    return data


@FAST
@given(cases())
def test_export_then_parse_gives_the_same_request(case: Case) -> None:
    """A case exported as JSON and posted back keeps category, text, point, address, instant."""
    exported = json.loads(dumps_requests([case], DEFAULT_CATALOGUE, redaction=Redaction.FULL))[0]

    again = parse_request(_as_post(exported), DEFAULT_CATALOGUE)

    assert (
        case.category,
        case.description,
        case.location.point,
        case.location.address,
        case.reported_at,
        case.id,
    ) == (
        again.service_code,
        again.description,
        again.point,
        again.address_string,
        again.requested_datetime,
        again.service_request_id,
    )


@FAST
@given(cases())
def test_export_then_parse_form_encoded_gives_the_same_request(case: Case) -> None:
    """The same round trip through a form-encoded body, where every value is a string."""
    exported = service_request(case, DEFAULT_CATALOGUE, redaction=Redaction.FULL)
    body = urllib.parse.urlencode({k: str(val) for k, val in _as_post(exported).items()})

    again = parse_request(dict(urllib.parse.parse_qsl(body)), DEFAULT_CATALOGUE)

    assert (case.category, case.description, case.location.point, case.reported_at) == (
        again.service_code,
        again.description,
        again.point,
        again.requested_datetime,
    )


_PROSE = st.text(alphabet="楼道堆物路灯坏了请联系反映电话，。 abc", max_size=20)


@FAST
@given(gst.phone_numbers(), _PROSE, _PROSE, st.integers(1, 30), st.integers(1, 9))
def test_masked_json_never_holds_the_phone_or_address(
    phone: PhoneNumber, before: str, after: str, building: int, unit: int
) -> None:
    """Whatever the prose around them, the reporter's phone and the address stay hidden."""
    address = f"铁一村{building}号楼{unit}单元"
    description = f"{before}{phone.value}{address}{after}".strip() or "x"
    case = report(description=description, address=address, reporter=Reporter(NAME, phone))

    text = dumps_requests([case], DEFAULT_CATALOGUE)

    assert phone.value not in text
    assert phone.value.replace("-", "") not in text
    assert address not in text
    assert phone.masked in text


# --- import (needs case storage in the memory store) --------------------------------------------


def seeded(url: str) -> Store:
    """Return the store at ``url`` with a district, street, community, grid and one building."""
    s = open_store(url)
    with s() as uow:
        for cell in [
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            OWNER,
            GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID),
        ]:
            uow.cells.add(cell)
        uow.commit()
    return s


@pytest.fixture
def store() -> Iterator[Store]:
    """Return a seeded memory store."""
    s = seeded("memory://")
    yield s
    s.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return a seeded store of each kind: memory, a SQLite file and PostgreSQL."""
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'open311.db'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    s = seeded(url)
    yield s
    s.close()


def in_building(_request: ServiceRequestIn) -> str:
    """Place every request in BUILDING."""
    return BUILDING


def stored_cases(store: Store) -> list[Case]:
    """Return the open cases stored under the district."""
    with store() as uow:
        return list(uow.cases.open_in_subtree("610102").items)


REQUESTS: list[dict[str, object]] = [
    {
        "service_code": "complaint",
        "description": "楼道堆物",
        "lat": "34.28",
        "long": "108.95",
        "address_string": ADDRESS,
        "first_name": "小明",
        "last_name": "王",
        "phone": PHONE,
        "service_request_id": "a-1",
        "requested_datetime": "2026-11-27T09:00:00+08:00",
    },
    {"service_code": "emergency", "description": "燃气泄漏", "address_string": "2号楼"},
]


def test_import_creates_cases(store: Store) -> None:
    """Valid requests become online cases owned by the grid, with reporter and external id."""
    with store() as uow:
        result = import_requests(uow, WORKFLOW, REQUESTS, cell_for=in_building, at=NOW, actor="w1")
        uow.commit()

    assert (("case.20261127010000000", "case.20261128010000000"), {}, {}) == (
        tuple(key.rsplit(".", 1)[0] for key in result.created),
        result.duplicates,
        result.errors,
    )
    assert result.ok
    assert 2 == len(result.events)
    with store() as uow:
        first = uow.cases.get(result.created[0])
        second = uow.cases.get(result.created[1])
    assert (
        "complaint",
        CaseSource.ONLINE,
        BUILDING,
        GRID,
        ADDRESS,
        (108.95, 34.28),
        NAME,
        PhoneNumber(PHONE),
        "open311:a-1",
        AT,
        CaseState.REPORTED,
    ) == (
        first.category,
        first.source,
        first.cell_code,
        first.owner_cell,
        first.location.address,
        first.location.point,
        first.reporter.name,
        first.reporter.phone,
        first.external_id,
        first.reported_at,
        first.state,
    )
    assert (None, NOW, Urgency.EMERGENCY, "w1") == (
        second.external_id,
        second.reported_at,
        second.urgency,
        second.history[0].actor,
    )


def test_reimport_skips_duplicates(store: Store) -> None:
    """A service_request_id imported before, or earlier in the batch, is skipped as a duplicate."""
    with store() as uow:
        first = import_requests(
            uow, WORKFLOW, REQUESTS[:1], cell_for=in_building, at=NOW, actor="w1"
        )
        uow.commit()
    with store() as uow:
        again = import_requests(
            uow,
            WORKFLOW,
            [
                REQUESTS[0],
                REQUESTS[1],
                REQUESTS[1] | {"service_request_id": "b"},
                REQUESTS[1] | {"service_request_id": "b"},
            ],
            cell_for=in_building,
            at=NOW,
            actor="w1",
        )
        uow.commit()

    assert 1 == len(first.created)
    assert 2 == len(again.created)
    assert {0: first.created[0], 3: again.created[1]} == again.duplicates
    assert 3 == len(stored_cases(store))


def test_import_numbers_cases_received_together(store: Store) -> None:
    """Two requests of one cell, category and instant get distinct ids, in request order."""
    with store() as uow:
        result = import_requests(
            uow, WORKFLOW, [REQUESTS[1], REQUESTS[1]], cell_for=in_building, at=NOW, actor="w1"
        )
        uow.commit()

    assert (2, sorted(result.created)) == (len(set(result.created)), list(result.created))


def platform_id(request: ServiceRequestIn) -> str | None:
    """Use the description as the platform's own request id, if it looks like one."""
    return request.description if request.description.startswith("req-") else None


def test_import_keeps_the_case_ids_the_caller_supplies(store: Store) -> None:
    """``case_id_for`` names each case; a request it gives no id gets a new one."""
    requests = [
        REQUESTS[1] | {"description": "req-1"},
        REQUESTS[1],
        REQUESTS[1] | {"description": "req-2"},
    ]

    with store() as uow:
        result = import_requests(
            uow,
            WORKFLOW,
            requests,
            cell_for=in_building,
            at=NOW,
            actor="w1",
            case_id_for=platform_id,
        )
        uow.commit()

    assert (["req-1", "req-2"], "case", 3) == (
        [result.created[0], result.created[2]],
        result.created[1].split(".")[0],
        len(stored_cases(store)),
    )


def test_import_refuses_a_caller_id_repeated_in_the_batch(store: Store) -> None:
    """A case id repeating an earlier request's is that request's 409 error; nothing is stored."""
    requests = [REQUESTS[1] | {"description": "req-1"}] * 2

    with store() as uow:
        result = import_requests(
            uow,
            WORKFLOW,
            requests,
            cell_for=in_building,
            at=NOW,
            actor="w1",
            case_id_for=platform_id,
        )

    assert (
        {
            1: [
                {
                    "code": 409,
                    "description": "case id 'req-1' repeats request 0's; a retry will not help",
                }
            ]
        },
        [],
    ) == (result.errors, stored_cases(store))


def test_import_under_a_taken_caller_id_says_no_retry_helps(store: Store) -> None:
    """A caller id naming a stored case is a ConflictError that names it and is not retryable."""
    request = REQUESTS[1] | {"description": "req-1"}
    with store() as uow:
        import_requests(
            uow,
            WORKFLOW,
            [request],
            cell_for=in_building,
            at=NOW,
            actor="w1",
            case_id_for=platform_id,
        )
        uow.commit()

    with store() as uow, pytest.raises(ConflictError) as info:
        import_requests(
            uow,
            WORKFLOW,
            [request],
            cell_for=in_building,
            at=NOW,
            actor="w1",
            case_id_for=platform_id,
        )

    assert (False, "req-1", 1) == (info.value.retryable, info.value.taken, len(stored_cases(store)))


def test_concurrent_imports_store_every_request(any_store: Store) -> None:
    """8 threads importing 10 batches of 3 identical requests each store all 240 cases."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with any_store() as uow:
                    import_requests(
                        uow, WORKFLOW, [REQUESTS[1]] * 3, cell_for=in_building, at=NOW, actor="w1"
                    )
                    uow.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    with any_store() as uow:
        stored = uow.cases.open_in_subtree("610102", limit=1000).items
    assert ([], 240) == (errors, len(stored))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"requested_datetime": "2026-11-27T09:00:00"}, "requested_datetime"),
        ({"service_code": "pothole"}, "service_code"),
        ({"lat": "95"}, "lat"),
        ({"lat": {"deg": 34}}, "lat"),
        ({"description": "x" * 4001}, "description"),
        ({"requested_datetime": "2026-11-29T09:00:00+08:00"}, "requested_datetime"),
    ],
)
def test_import_with_a_bad_request_stores_nothing(
    store: Store, change: dict[str, object], path: str
) -> None:
    """One invalid request: its errors are listed by index, and no request is stored."""
    requests = [REQUESTS[1], REQUESTS[0] | change]

    with store() as uow:
        result = import_requests(uow, WORKFLOW, requests, cell_for=in_building, at=NOW, actor="w1")
        uow.commit()

    assert ((), [1]) == (result.created, list(result.errors))
    assert [path] == [str(e["description"]).split(":", 1)[0] for e in result.errors[1]]
    assert [] == stored_cases(store)


def test_import_reports_cells_that_cannot_own_a_case(store: Store) -> None:
    """A cell_for that fails, or names an unknown cell, is the request's error."""

    def cell_for(request: ServiceRequestIn) -> str:
        if request.address_string == "2号楼":
            raise ValidationError("address_string", "not in any grid")
        return "610102003006099"

    with store() as uow:
        result = import_requests(uow, WORKFLOW, REQUESTS, cell_for=cell_for, at=NOW, actor="w1")

    assert {
        0: [{"code": 400, "description": "cell_code: no such cell"}],
        1: [{"code": 400, "description": "address_string: not in any grid"}],
    } == result.errors
    assert [] == stored_cases(store)


def test_import_refuses_a_naive_instant_and_a_bad_actor(store: Store) -> None:
    """``at`` must carry a time zone and ``actor`` must be an id."""
    with store() as uow:
        with pytest.raises(ValidationError) as naive:
            import_requests(
                uow,
                WORKFLOW,
                REQUESTS,
                cell_for=in_building,
                at=pendulum.naive(2026, 11, 28),
                actor="w1",
            )
        with pytest.raises(ValidationError) as actor:
            import_requests(uow, WORKFLOW, REQUESTS, cell_for=in_building, at=NOW, actor="w 1")

    assert ("at", "actor") == (naive.value.path, actor.value.path)


def test_import_result_defaults() -> None:
    """An empty result is ok and holds nothing."""
    assert (True, (), {}, {}, ()) == (
        ImportResult().ok,
        ImportResult().created,
        ImportResult().duplicates,
        ImportResult().errors,
        ImportResult().events,
    )


def test_import_counts_limits_on_the_workflow_calendar(store: Store) -> None:
    """A calendar that does not cover the year is reported per request; nothing is stored."""
    strict = CaseWorkflow(
        WorkCalendar(years=(2020, 2021), beyond="refuse"),
        ServiceCatalogue(
            [
                Category(
                    "help",
                    "Help",
                    "求助",
                    {s: TimeLimit.parse("1 working_days") for s in Stage},
                )
            ]
        ),
    )

    with store() as uow:
        result = import_requests(
            uow,
            strict,
            [{"service_code": "help", "description": "x", "address_id": "1"}],
            cell_for=in_building,
            at=NOW,
            actor="w1",
        )

    assert [0] == list(result.errors)
    assert [] == stored_cases(store)
