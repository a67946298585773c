"""Open311 GeoReport v2: the service list, cases as service requests, and requests as cases.

The field names are those of the GeoReport v2 specification (wiki.open311.org/GeoReport_v2):

- :func:`services` gives the service list (``GET services``): one service per catalogue category.
- :func:`service_request` and :func:`service_requests` give cases as service requests (``GET
  requests``), with personal data masked unless :attr:`Redaction.FULL` is asked for.
- :func:`parse_request` validates the fields of a ``POST requests`` body, as JSON or as
  form-encoded text (numbers as strings), into a :class:`ServiceRequestIn`.
- :func:`import_requests` validates a batch of requests and, only if all of them are valid,
  stores them as cases.
- :func:`errors_document` turns gridgov errors into the GeoReport error array
  ``[{"code": 400, "description": "..."}]``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._masking import HIDDEN, mask_text
from gridgov.access import Redaction
from gridgov.cases.catalogue import Category, ServiceCatalogue, Stage
from gridgov.cases.model import Case, CaseSource, Location, Reporter
from gridgov.cases.workflow import OWNER_LEVELS, CaseWorkflow
from gridgov.clock import ensure_aware
from gridgov.codes import PhoneNumber, as_optional_phone, mask_name
from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    GridgovError,
    NotFoundError,
    Problem,
    ValidationError,
)
from gridgov.events import CaseEvent
from gridgov.grid import GridCell
from gridgov.idempotency import idempotent_replaying
from gridgov.outbox import record_events
from gridgov.ports import UnitOfWork
from gridgov.serialization import structure
from gridgov.services.cases import reported
from gridgov.services.placing import CellFinder
from gridgov.settings import case_workflow

__all__ = [
    "EXTERNAL_ID_PREFIX",
    "ImportResult",
    "Redaction",
    "ServiceRequestIn",
    "dumps_requests",
    "dumps_services",
    "errors_document",
    "import_requests",
    "parse_request",
    "service_request",
    "service_requests",
    "services",
]

#: The prefix of a case's ``external_id`` when it was imported from Open311.
EXTERNAL_ID_PREFIX = "open311:"

_LANGS = ("zh", "en")
_NOT_IN_CATALOGUE = "not in the service catalogue"


# --- the service list ---------------------------------------------------------------------


def _check_lang(lang: object) -> str:
    if lang not in _LANGS:
        raise ValidationError("lang", "expected 'zh' or 'en'")
    return str(lang)


def _handling_text(category: Category, lang: str) -> str:
    limit = category.limit(Stage.HANDLING)
    return f"办理时限：{limit.label_zh}" if lang == "zh" else f"handling within {limit}"


def _keywords(category: Category) -> str:
    # The list is comma separated: commas inside a label would split it.
    words = [category.code, category.label_zh, category.label_en]
    if category.emergency:
        words += ["紧急", "emergency"]
    cleaned = (" ".join(w.replace(",", " ").replace("，", " ").split()) for w in words)
    return ", ".join(dict.fromkeys(cleaned))


def _group(category: Category, lang: str) -> str:
    if category.emergency:
        return "紧急" if lang == "zh" else "emergency"
    return "一般" if lang == "zh" else "general"


def services(catalogue: ServiceCatalogue, *, lang: str = "zh") -> list[dict[str, object]]:
    """Return the GeoReport v2 service list of ``catalogue``: one service per category.

    Args:
        catalogue: The service catalogue.
        lang: ``"zh"`` or ``"en"``: the language of names, descriptions and groups.

    Returns:
        One ``{"service_code", "service_name", "description", "metadata", "type", "keywords",
        "group"}`` per category, in catalogue order. ``description`` states the handling time
        limit (``"办理时限：15个工作日"``, ``"handling within 15 working days"``); ``metadata``
        is false (no extra attributes); ``type`` is ``"realtime"`` for emergency categories and
        ``"batch"`` for the others; ``keywords`` lists the code and both labels; ``group`` is
        emergency or general.

    Raises:
        ValidationError: On an unknown language.
    """
    lang = _check_lang(lang)
    return [
        {
            "service_code": c.code,
            "service_name": c.label_zh if lang == "zh" else c.label_en,
            "description": _handling_text(c, lang),
            "metadata": False,
            "type": "realtime" if c.emergency else "batch",
            "keywords": _keywords(c),
            "group": _group(c, lang),
        }
        for c in catalogue.categories
    ]


def dumps_services(
    catalogue: ServiceCatalogue, *, lang: str = "zh", indent: int | None = None
) -> str:
    """Return :func:`services` as JSON text, Chinese kept as is.

    Args:
        catalogue: The service catalogue.
        lang: ``"zh"`` or ``"en"``.
        indent: Indent the JSON by this many spaces; compact on one line by default.

    Raises:
        ValidationError: On an unknown language.
    """
    return json.dumps(services(catalogue, lang=lang), ensure_ascii=False, indent=indent)


# --- cases as service requests --------------------------------------------------------------


def _redact(text: str, case: Case, redaction: Redaction) -> str:
    """Return ``text`` with the personal data ``redaction`` hides masked."""
    if redaction is Redaction.FULL or not text:
        return text
    known = {case.location.address: HIDDEN}
    name = case.reporter.name
    if len(name) >= 2:
        known[name] = mask_name(name)
    return mask_text(text, known)


#: The actions whose notes explain a request's status to the public.
_STATUS_NOTE_ACTIONS = frozenset(
    {
        "reject",
        "wait_on_resident",
        "handle",
        "fail_verification",
        "close",
        "reopen",
        "merge",
        "mark_duplicate",
    }
)


def _status_notes(case: Case) -> str | None:
    for entry in reversed(case.history):
        if entry.action in _STATUS_NOTE_ACTIONS and entry.note:
            return entry.note
    return None


def _iso(instant: pendulum.DateTime) -> str:
    return instant.isoformat()


def _category_of(case: Case, catalogue: ServiceCatalogue) -> Category:
    if case.category not in catalogue:
        raise ValidationError("category", _NOT_IN_CATALOGUE)
    return catalogue.get(case.category)


def service_request(
    case: Case,
    catalogue: ServiceCatalogue,
    *,
    redaction: Redaction = Redaction.MASKED,
    lang: str = "zh",
) -> dict[str, object]:
    """Return ``case`` as a GeoReport v2 service request.

    Fields without a value are left out, as the specification allows ("may not be returned").

    Args:
        case: The case.
        catalogue: The catalogue its category is in (for the service name and notice).
        redaction: ``MASKED`` (default) leaves the address out and masks personal data in the
            description and status notes; ``FULL`` shows them as stored.
        lang: ``"zh"`` or ``"en"``: the language of the service name and notice.

    Returns:
        ``service_request_id`` (the case id), ``status`` (``"open"`` while the case needs work,
        else ``"closed"``), ``status_notes`` (the latest note of a rejection, wait, handling,
        failed verification, closing, reopening, or closing as a duplicate, which names the
        case that handles the problem), ``service_name``, ``service_code``,
        ``description``, ``agency_responsible`` (the owning unit's cell code),
        ``service_notice`` (the handling time limit), ``requested_datetime`` (when it was
        received), ``updated_datetime`` (when it was closed if it is, else its last history
        entry), ``expected_datetime`` (the handling deadline, once one runs), ``address``
        (``FULL`` only), ``lat`` and ``long``. Instants are ISO 8601 with their UTC offset.

    Raises:
        ValidationError: If the case's category is not in ``catalogue``, or on an unknown
            language.
    """
    lang = _check_lang(lang)
    if not isinstance(redaction, Redaction):
        raise ValidationError("redaction", "expected a Redaction")
    category = _category_of(case, catalogue)
    updated = case.closed_at or (case.history[-1].at if case.history else case.reported_at)
    handling = case.deadline(Stage.HANDLING)
    notes = _status_notes(case)
    out: dict[str, object] = {
        "service_request_id": case.id,
        "status": "open" if case.is_open else "closed",
        "status_notes": None if notes is None else _redact(notes, case, redaction),
        "service_name": category.label_zh if lang == "zh" else category.label_en,
        "service_code": case.category,
        "description": _redact(case.description, case, redaction),
        "agency_responsible": case.owner_cell,
        "service_notice": _handling_text(category, lang),
        "requested_datetime": _iso(case.reported_at),
        "updated_datetime": _iso(updated),
        "expected_datetime": None if handling is None else _iso(handling.due),
    }
    if redaction is Redaction.FULL and case.location.address:
        out["address"] = case.location.address
    point = case.location.point
    if point is not None:
        out["lat"] = float(point[1])
        out["long"] = float(point[0])
    return {k: val for k, val in out.items() if val is not None}


def service_requests(
    cases: Iterable[Case],
    catalogue: ServiceCatalogue,
    *,
    redaction: Redaction = Redaction.MASKED,
    lang: str = "zh",
) -> list[dict[str, object]]:
    """Return :func:`service_request` of every case, in order.

    Raises:
        ValidationError: If a case's category is not in ``catalogue``, or on an unknown
            language; its path names the case's index.
    """
    out: list[dict[str, object]] = []
    for i, case in enumerate(cases):
        try:
            out.append(service_request(case, catalogue, redaction=redaction, lang=lang))
        except ValidationError as exc:
            raise exc.within(f"[{i}]") from None
    return out


def dumps_requests(
    cases: Iterable[Case],
    catalogue: ServiceCatalogue,
    *,
    redaction: Redaction = Redaction.MASKED,
    lang: str = "zh",
    indent: int | None = None,
) -> str:
    """Return :func:`service_requests` as JSON text, Chinese kept as is.

    Args:
        cases: The cases.
        catalogue: The catalogue their categories are in.
        redaction: How much personal data to show; masked by default.
        lang: ``"zh"`` or ``"en"``.
        indent: Indent the JSON by this many spaces; compact on one line by default.

    Raises:
        ValidationError: As :func:`service_requests` does.
    """
    data = service_requests(cases, catalogue, redaction=redaction, lang=lang)
    return json.dumps(data, ensure_ascii=False, indent=indent)


# --- requests in ------------------------------------------------------------------------------


def _latitude(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _degrees(attribute.name, value, 90)


def _longitude(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    _degrees(attribute.name, value, 180)


def _degrees(name: str, value: object, bound: int) -> None:
    if value is None:
        return
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not -bound <= value <= bound
    ):
        raise ValidationError(name, f"expected a number from -{bound} to {bound}")


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://\S+")


def _pattern(regex: re.Pattern[str], problem: str) -> v.Validator:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None and not (isinstance(value, str) and regex.fullmatch(value)):
            raise ValidationError(attribute.name, problem)

    return check


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _optional_text(max_length: int) -> v.Validator:
    return v.optional(v.text(max_length))


@attrs.frozen(repr=False)
class ServiceRequestIn:
    """The validated fields of a GeoReport v2 ``POST requests`` body.

    Build it with :func:`parse_request`, which also accepts form-encoded values. Holds personal
    data: ``repr`` shows the service code, the request id and the masked phone number only.

    Args:
        service_code: The catalogue category.
        description: What is reported (up to 4000 characters, as the specification limits it).
        lat: The latitude (WGS 84), sent together with ``long``.
        long: The longitude (WGS 84), sent together with ``lat``.
        address_string: The address as typed (up to 300 characters).
        address_id: The address's id in the sender's address register.
        first_name: The reporter's given name.
        last_name: The reporter's family name.
        phone: The reporter's phone number.
        email: The reporter's e-mail address.
        device_id: The sending device's id.
        account_id: The reporter's account id in the sending system.
        media_url: A URL to a photo or other media.
        service_request_id: The request's id in the sending system (an extension: GeoReport
            ``POST`` assigns ids on the server); imported cases keep it as their external id.
        requested_datetime: When the request was made, with its UTC offset (an extension).
        jurisdiction_id: The jurisdiction the sender addressed.

    Raises:
        ValidationError: Naming the bad field; also when ``lat`` and ``long`` come alone, when
            there is no location at all, or when the names together exceed 50 characters.
    """

    service_code: str = attrs.field(validator=v.identifier)
    description: str = attrs.field(validator=v.text(4000))
    lat: float | None = attrs.field(default=None, validator=_latitude)
    long: float | None = attrs.field(default=None, validator=_longitude)
    address_string: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    address_id: str | None = attrs.field(default=None, validator=_optional_text(100))
    first_name: str = attrs.field(default="", validator=v.text(50, allow_empty=True))
    last_name: str = attrs.field(default="", validator=v.text(50, allow_empty=True))
    phone: PhoneNumber | None = attrs.field(
        default=None, converter=as_optional_phone, validator=v.optional(v.instance_of(PhoneNumber))
    )
    email: str | None = attrs.field(
        default=None,
        validator=[_optional_text(254), _pattern(_EMAIL, "not an e-mail address")],
    )
    device_id: str | None = attrs.field(default=None, validator=_optional_text(100))
    account_id: str | None = attrs.field(default=None, validator=_optional_text(100))
    media_url: str | None = attrs.field(
        default=None,
        validator=[_optional_text(2000), _pattern(_URL, "expected an http or https URL")],
    )
    service_request_id: str | None = attrs.field(
        default=None, validator=_optional_text(100 - len(EXTERNAL_ID_PREFIX))
    )
    requested_datetime: pendulum.DateTime | None = attrs.field(
        default=None, validator=v.optional(v.aware_datetime)
    )
    jurisdiction_id: str | None = attrs.field(default=None, validator=_optional_text(100))

    def __attrs_post_init__(self) -> None:
        if (self.lat is None) != (self.long is None):
            missing = "long" if self.long is None else "lat"
            raise ValidationError(missing, "lat and long are sent together")
        if self.lat is None and not self.address_string and self.address_id is None:
            raise ValidationError(
                "lat", "a location is required: lat and long, address_string or address_id"
            )
        if len(self.reporter_name) > 50:
            raise ValidationError("last_name", "the names together are longer than 50 characters")

    @property
    def point(self) -> tuple[float, float] | None:
        """Return ``(longitude, latitude)`` as cases store it, if given."""
        if self.lat is None or self.long is None:
            return None
        return (self.long, self.lat)

    @property
    def reporter_name(self) -> str:
        """Return the full name: family name first for Chinese names, else given name first."""
        first, last = self.first_name, self.last_name
        if not first or not last:
            return first or last
        if _CJK.search(first + last):
            return last + first
        return f"{first} {last}"

    @property
    def external_id(self) -> str | None:
        """Return the external id an imported case keeps, ``"open311:<id>"``, if there is one."""
        if self.service_request_id is None:
            return None
        return EXTERNAL_ID_PREFIX + self.service_request_id

    def __repr__(self) -> str:
        phone = f", phone={self.phone.masked!r}" if self.phone is not None else ""
        return (
            f"ServiceRequestIn(service_code={self.service_code!r}, "
            f"service_request_id={self.service_request_id!r}{phone})"
        )


_TEXT_LIMITS = {
    "service_code": 64,
    "description": 4000,
    "address_string": 300,
    "address_id": 100,
    "first_name": 50,
    "last_name": 50,
    "email": 254,
    "device_id": 100,
    "account_id": 100,
    "media_url": 2000,
    "jurisdiction_id": 100,
    "service_request_id": 100 - len(EXTERNAL_ID_PREFIX),
}
_KNOWN_KEYS = frozenset({*_TEXT_LIMITS, "lat", "long", "phone", "requested_datetime", "api_key"})


class _Absent:
    """Marks a key that is missing, ``None`` or empty: GeoReport treats them alike."""


_ABSENT = _Absent()


def _kind(value: object) -> str:
    return type(value).__name__


def _text_field(key: str, value: object) -> object:
    if not isinstance(value, str):
        raise ValidationError(key, f"expected a string, got {_kind(value)}")
    text = value.strip()
    if not text:
        return _ABSENT
    limit = _TEXT_LIMITS.get(key, 100)
    if len(text) > limit:
        raise ValidationError(key, f"longer than {limit} characters")
    return text


def _number_field(key: str, value: object, bound: int) -> float:
    problem = f"expected a number from -{bound} to {bound}"
    if isinstance(value, bool):
        raise ValidationError(key, problem)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValidationError(key, problem) from None
    elif isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            raise ValidationError(key, problem) from None
    else:
        raise ValidationError(key, f"{problem}, got {_kind(value)}")
    if not math.isfinite(number) or not -bound <= number <= bound:
        raise ValidationError(key, problem)
    return number


def _id_field(key: str, value: object) -> object:
    # JSON senders often give numeric ids (the specification's examples do).
    if isinstance(value, int) and not isinstance(value, bool):
        limit = _TEXT_LIMITS.get(key, 100)
        if abs(value) >= 10**limit:  # before str(), which refuses 4,300 digits and more
            raise ValidationError(key, f"longer than {limit} characters")
        value = str(value)
    return _text_field(key, value)


def _instant_field(key: str, value: object) -> pendulum.DateTime:
    if isinstance(value, dt.datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationError(key, "naive datetime: an instant needs a UTC offset")
    if isinstance(value, str):
        value = value.strip()
        if value.endswith(("Z", "z")):  # the w3 profile's UTC designator
            value = value[:-1] + "+00:00"
    try:
        return structure(value, pendulum.DateTime)
    except ValidationError as exc:
        raise exc.within(key) from None


def _phone_field(key: str, value: object) -> object:
    text = _text_field(key, value)
    if isinstance(text, _Absent):
        return text
    try:
        return PhoneNumber.parse(str(text))
    except ValidationError as exc:
        raise exc.within(key) from None


def _field(key: str, value: object) -> object:
    match key:
        case "lat":
            return _number_field(key, value, 90)
        case "long":
            return _number_field(key, value, 180)
        case "phone":
            return _phone_field(key, value)
        case "service_request_id" | "address_id":
            return _id_field(key, value)
        case "requested_datetime":
            return _instant_field(key, value)
        case _:
            return _text_field(key, value)


def _unknown_key_problem(key: str) -> str:
    if key == "attribute" or key.startswith("attribute["):
        return "unknown key: these services take no attributes (their metadata is false)"
    return "unknown key"


def parse_request(data: Mapping[str, object], catalogue: ServiceCatalogue) -> ServiceRequestIn:
    """Validate the fields of a GeoReport v2 ``POST requests`` body.

    Accepts JSON values and form-encoded ones alike: numbers may come as strings (``"39.9"``),
    numeric ids as numbers. A key that is missing, ``null`` or empty counts as not sent, as the
    specification says. Outer whitespace is stripped. ``api_key`` is accepted and never kept;
    any key the specification (and its ``service_request_id`` and ``requested_datetime``
    extensions) does not define is reported.

    Args:
        data: The body, e.g. ``json.loads(text)`` or ``dict(urllib.parse.parse_qsl(text))``.
        catalogue: The catalogue ``service_code`` must be in.

    Returns:
        The validated request.

    Raises:
        ValidationError: Listing every problem found, each naming its field, e.g.
            ``service_code: not in the service catalogue`` or
            ``lat: expected a number from -90 to 90``; a ``requested_datetime`` without a UTC
            offset is refused.
    """
    if not isinstance(data, Mapping):
        raise ValidationError("", f"expected an object, got {_kind(data)}")
    problems: list[Problem] = []
    fields: dict[str, object] = {}
    for key, value in data.items():
        name = str(key)
        if key not in _KNOWN_KEYS:
            problems.append((name, _unknown_key_problem(name)))
            continue
        if value is None or key == "api_key" or (isinstance(value, str) and not value.strip()):
            continue
        try:
            parsed = _field(name, value)
        except ValidationError as exc:
            problems.extend(exc.problems)
            continue
        if not isinstance(parsed, _Absent):
            fields[name] = parsed
    for required in ("service_code", "description"):
        if required not in fields and not any(p == required for p, _ in problems):
            problems.append((required, "required"))
    code = fields.get("service_code")
    if isinstance(code, str) and code not in catalogue:
        problems.append(("service_code", _NOT_IN_CATALOGUE))
    if not problems:
        try:
            return ServiceRequestIn(**fields)  # type: ignore[arg-type]
        except ValidationError as exc:
            problems.extend(exc.problems)
    problems.sort(key=lambda p: _KEY_ORDER.get(p[0].split("[", 1)[0], len(_KEY_ORDER)))
    raise ValidationError(problems[0][0], problems[0][1], problems=problems)


# The order problems are reported in: the specification's order of the fields.
_KEY_ORDER = {
    key: i
    for i, key in enumerate(
        (
            "service_code",
            "lat",
            "long",
            "address_string",
            "address_id",
            "email",
            "device_id",
            "account_id",
            "first_name",
            "last_name",
            "phone",
            "description",
            "media_url",
            "service_request_id",
            "requested_datetime",
            "jurisdiction_id",
        )
    )
}


# --- errors -------------------------------------------------------------------------------


def _problem_code(path: str, problem: str) -> int:
    # The specification answers an unknown service_code with 404.
    return 404 if path == "service_code" and problem == _NOT_IN_CATALOGUE else 400


def _error_code(exc: GridgovError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, AccessDeniedError):
        return 403
    if isinstance(exc, ConflictError):
        return 409
    return 400


def errors_document(errors: GridgovError | Iterable[GridgovError]) -> list[dict[str, object]]:
    """Return the GeoReport v2 error array for ``errors``.

    A :class:`ValidationError` gives one entry per problem, ``"<field>: <problem>"``, with code
    400 (404 for a service code not in the catalogue, as the specification asks). Other errors
    give one entry each: 404 for not found, 403 for access denied, 409 for a conflict, else 400.
    gridgov's messages never repeat personal data, so the descriptions can be shown to users.

    Args:
        errors: One error or several.

    Returns:
        ``[{"code": 400, "description": "lat: expected a number from -90 to 90"}, ...]``.
    """
    items = (errors,) if isinstance(errors, GridgovError) else tuple(errors)
    out: list[dict[str, object]] = []
    for exc in items:
        if isinstance(exc, ValidationError):
            for path, problem in exc.problems:
                text = f"{path}: {problem}" if path else problem
                out.append({"code": _problem_code(path, problem), "description": text})
        else:
            out.append({"code": _error_code(exc), "description": str(exc)})
    return out


# --- importing requests as cases ------------------------------------------------------------


@attrs.frozen
class ImportResult:
    """What :func:`import_requests` did.

    Args:
        created: The ids of the cases created, in request order.
        duplicates: For each request skipped because its ``service_request_id`` was imported
            before (or earlier in the same batch): its index and the id of that case.
        errors: For each invalid request: its index and its GeoReport error array. When there
            are any, nothing was stored.
        events: The domain events to publish once the unit of work is committed.
    """

    created: tuple[str, ...] = ()
    duplicates: dict[int, str] = attrs.field(factory=dict, hash=False)
    errors: dict[int, list[dict[str, object]]] = attrs.field(factory=dict, hash=False)
    events: tuple[CaseEvent, ...] = ()

    @property
    def ok(self) -> bool:
        """Return whether every request was valid."""
        return not self.errors


_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")


@attrs.frozen
class _Planned:
    index: int
    request: ServiceRequestIn
    cell_code: str
    reporter: Reporter
    received: pendulum.DateTime
    case_id: str | None


def _owner(uow: UnitOfWork, code: str) -> GridCell:
    """Return the unit that owns a case in cell ``code``, as ``report_case`` will find it."""
    try:
        cell = uow.cells.get(code)
        while cell.level not in OWNER_LEVELS:
            if cell.parent_code is None:
                raise ValidationError("cell_code", "no grid above this cell to own the case")
            cell = uow.cells.get(cell.parent_code)
    except NotFoundError:
        raise ValidationError("cell_code", "no such cell") from None
    return cell


def _plan(
    index: int,
    data: Mapping[str, object],
    uow: UnitOfWork,
    workflow: CaseWorkflow,
    cell_for: Callable[[ServiceRequestIn], str],
    case_id_for: Callable[[ServiceRequestIn], str | None] | None,
    at: pendulum.DateTime,
    actor: str,
) -> _Planned:
    request = parse_request(data, workflow.catalogue)
    case_id = None if case_id_for is None else case_id_for(request)
    if case_id is not None and not (isinstance(case_id, str) and _ACTOR.fullmatch(case_id)):
        raise ValidationError(
            "case_id", "an id is 1-64 characters of letters, digits, '-', '_', '.' or ':'"
        )
    received = request.requested_datetime or at
    if received > at:
        raise ValidationError("requested_datetime", "later than the import")
    cell_code = cell_for(request)
    if not isinstance(cell_code, str):
        raise ValidationError("cell_code", f"cell_for returned {_kind(cell_code)}, not a code")
    owner = _owner(uow, cell_code)
    try:
        reporter = Reporter(name=request.reporter_name, phone=request.phone)
    except ValidationError as exc:
        raise exc.within("reporter") from None
    # A dry run of the pure workflow: whatever it refuses is refused before anything is stored.
    workflow.report(
        case_id=case_id or "open311.dry-run",
        category=request.service_code,
        source=CaseSource.ONLINE,
        location=Location(cell_code, request.address_string, request.point),
        reporter=reporter,
        description=request.description,
        owner=owner,
        at=received,
        actor=actor,
        external_id=request.external_id,
    )
    return _Planned(index, request, cell_code, reporter, received, case_id)


def _placing(finder: CellFinder) -> Callable[[ServiceRequestIn], str]:
    """Return the default ``cell_for``: a request's point, else its address, errors by field."""

    def cell_for(request: ServiceRequestIn) -> str:
        return finder.place(
            point=request.point,
            address=request.address_string,
            point_path="long",
            address_path="address_string",
        )

    return cell_for


def _without_events(result: ImportResult) -> ImportResult:
    """A repeated import's result: its events went out after the first."""
    return attrs.evolve(result, events=())


@idempotent_replaying(_without_events, received=("at",))
def import_requests(
    uow: UnitOfWork,
    workflow: CaseWorkflow | None,
    requests: Iterable[Mapping[str, object]],
    *,
    cell_for: Callable[[ServiceRequestIn], str] | None = None,
    at: pendulum.DateTime,
    actor: str,
    case_id_for: Callable[[ServiceRequestIn], str | None] | None = None,
    idempotency_key: str | None = None,
) -> ImportResult:
    """Store GeoReport v2 requests as cases, all or nothing.

    First every request is validated: its fields (:func:`parse_request`), the cell
    ``cell_for`` places it in, and the case the workflow would make of it. If any request is
    invalid, the result lists the errors of each by index and nothing is stored. Otherwise
    each request becomes a case through :func:`~gridgov.services.cases.report_case`, reported
    online, owned by the grid of its cell, received at its ``requested_datetime`` (or ``at``).
    A request with a ``service_request_id`` keeps ``"open311:<id>"`` as its external id; one
    whose id was imported before is skipped and listed as a duplicate.

    Each case gets the id ``case_id_for`` returns for its request (a platform's own request
    id, say) or, without one, a new id from :func:`gridgov.ids.new_id` that no other case, of
    this batch or of a concurrent import, can have: nothing is looked up, so concurrent imports
    do not collide.

    The unit of work is not committed here: commit it, then publish the result's events. If
    storing fails half-way, the error propagates; leaving the ``with`` block without
    committing discards the partial batch.

    Args:
        uow: An open unit of work.
        workflow: The catalogue, calendar and escalation policy; ``None`` for the store's
            settings (:func:`gridgov.settings.case_workflow`).
        requests: The request bodies, e.g. the items of a JSON array.
        cell_for: Returns the code of the grid or building a request lies in, e.g. from its
            point or address; may raise ValidationError or NotFoundError, reported as the
            request's error. Default: by its ``lat``/``long``, else its ``address_string``,
            over the stored cells (:class:`gridgov.services.placing.CellFinder`): a point
            outside every grid, an address naming no building or several is that request's
            error.
        at: When the batch is imported; a ``requested_datetime`` after it is refused.
        actor: Who imports (recorded in each case's history).
        case_id_for: Returns the id the case of a request is stored under, or ``None`` for a
            new one. An id that is not a valid key, or that repeats an earlier request's id in
            the batch, is that request's error (400, 409).
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The cases created, the duplicates skipped, the errors, and the events to publish.

    Raises:
        ValidationError: On a naive ``at``.
        ConflictError: If an id from ``case_id_for`` names a stored case (a retry will not
            help), or a concurrent writer got in the way (``retryable``: run it again).
    """
    at = ensure_aware(at, "at")
    workflow = case_workflow(uow, workflow)
    if not isinstance(actor, str) or not _ACTOR.fullmatch(actor):
        raise ValidationError(
            "actor", "an id is 1-64 characters of letters, digits, '-', '_', '.' or ':'"
        )
    if cell_for is None:
        cell_for = _placing(CellFinder.of_store(uow))
    planned: list[_Planned] = []
    errors: dict[int, list[dict[str, object]]] = {}
    ids: dict[str, int] = {}
    for index, data in enumerate(requests):
        try:
            plan = _plan(index, data, uow, workflow, cell_for, case_id_for, at, actor)
            if plan.case_id is not None and ids.setdefault(plan.case_id, index) != index:
                raise ConflictError(
                    f"case id {plan.case_id!r} repeats request {ids[plan.case_id]}'s"
                )
            planned.append(plan)
        except (ValidationError, NotFoundError, CalendarCoverageError, ConflictError) as exc:
            errors[index] = errors_document(exc)
    if errors:
        return ImportResult(errors=errors)
    created: list[str] = []
    duplicates: dict[int, str] = {}
    events: list[CaseEvent] = []
    seen: dict[str, str] = {}
    for plan in planned:
        request, external = plan.request, plan.request.external_id
        if external is not None:
            earlier = seen.get(external)
            if earlier is None:
                stored = uow.cases.by_external_id(external)
                earlier = None if stored is None else stored.id
            if earlier is not None:
                duplicates[plan.index] = earlier
                continue
        transition = reported(
            uow,
            workflow,
            category=request.service_code,
            source=CaseSource.ONLINE,
            cell_code=plan.cell_code,
            description=request.description,
            at=plan.received,
            actor=actor,
            reporter=plan.reporter,
            address=request.address_string,
            point=request.point,
            external_id=external,
            case_id=plan.case_id,
        )
        if external is not None:
            seen[external] = transition.case.id
        created.append(transition.case.id)
        events.extend(transition.events)
    # At once: one write for the events of every case imported, all new.
    record_events(uow, events, new=True)
    return ImportResult(tuple(created), duplicates, {}, tuple(events))
