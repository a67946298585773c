"""Conversion of domain objects to and from JSON-ready data, following the cattrs preconf pattern.

``make_converter()`` returns a converter configured for every gridgov type; ``configure_converter``
adds the same hooks to a converter of your own. Structuring forbids unknown keys, is strict about
types (a number is not a string) and turns every failure into a
:class:`~gridgov.errors.ValidationError` whose path names the bad field, e.g.
``households[3].members[0].national_id``.

Instants are written as ISO 8601 with their offset and, for named zones, the zone in brackets
(RFC 9557): ``2025-03-01T09:30:00+08:00[Asia/Shanghai]``. A string without an offset is rejected.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

import attrs
import cattrs
import pendulum
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn
from cattrs.preconf.json import make_converter as _make_json_converter

from gridgov._vocab import Term
from gridgov.calendar import WorkCalendar
from gridgov.care.criteria import (
    AgeAtLeast,
    AgeBelow,
    AllOf,
    AnyOf,
    Criterion,
    HasHealthFlag,
    HasTag,
    HouseholdStatusIs,
    LivesAs,
    Not,
)
from gridgov.cases.catalogue import TimeLimit
from gridgov.clock import ensure_in_range
from gridgov.codes import NationalId, PhoneNumber, parse_national_id, parse_phone
from gridgov.errors import Problem, ValidationError, join_path
from gridgov.grid import Boundary

__all__ = [
    "as_validation_error",
    "configure_converter",
    "dumps",
    "loads",
    "make_converter",
    "parse_date",
    "parse_instant",
    "structure",
    "structure_arguments",
    "unstructure",
]

T = TypeVar("T")


def _type_name(t: object) -> str:
    return getattr(t, "__name__", None) or str(t).replace("typing.", "")


def _datetime_to_str(value: pendulum.DateTime) -> str:
    text = value.isoformat()
    name = getattr(value.tzinfo, "name", None)
    # Fixed offsets carry no zone name worth keeping; named zones keep their rules.
    if isinstance(name, str) and "/" in name:
        text += f"[{name}]"
    return text


def parse_instant(text: object, field: str = "at") -> pendulum.DateTime:
    """Parse an instant as a platform receives it: ISO 8601 with its UTC offset, strictly.

    ``2026-11-28T09:00:00+08:00``, ``2026-11-28T01:00:00Z``, and RFC 9557's bracketed zone,
    ``2026-11-28T09:00:00+08:00[Asia/Shanghai]`` (the instant then carries that zone). A naive
    time, an unknown zone, an offset the zone does not have then, or a date outside 1900-2100 is
    refused: what a web service's query parameters and JSON bodies need.

    Raises:
        ValidationError: On ``field``, saying what is wrong (never echoing the text).
    """
    try:
        return _structure_datetime(text, None)
    except ValidationError as exc:
        raise exc.within(field) from None


def parse_date(text: object, field: str = "on") -> pendulum.Date:
    """Parse a day as a platform receives it: ISO 8601, ``2026-11-28``, strictly.

    The counterpart of :func:`parse_instant` for query parameters such as a worklist's day. A
    date-time, a value that is not text, or a date outside 1900-2100 is refused.

    Raises:
        ValidationError: On ``field``, saying what is wrong (never echoing the text).
    """
    if not isinstance(text, str):
        raise ValidationError(field, f"expected an ISO 8601 date string, got {_kind(text)}")
    try:
        return ensure_in_range(_structure_date(text, None), "")
    except ValidationError as exc:
        raise exc.within(field) from None


_PASSED_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def structure_arguments(
    service: Callable[..., object],
    data: object,
    names: Iterable[str],
    *,
    converter: cattrs.Converter | None = None,
) -> dict[str, Any]:
    """Return the keyword arguments of ``service`` that a JSON object gives, typed.

    What a web service does with a request's body: each value is structured, as
    :func:`structure` does, to the type its parameter is annotated with (enums by value,
    instants with their offsets, records without unknown keys), so that a route passes the body
    on as it is::

        asked = structure_arguments(record_contact, body, ("resident_id", "method", "at"))
        record_contact(uow, **asked, by=worker_id, now=clock.now())

    Args:
        service: The function to call, e.g. a service of :mod:`gridgov.services`.
        data: The JSON value received, e.g. ``json.loads(body)``.
        names: The parameters a client may give (the others are the caller's: the unit of
            work, the instant, the actor); one without a default in ``service`` is required.
        converter: The converter to use; :func:`make_converter`'s by default.

    Returns:
        The arguments given, by name.

    Raises:
        ValidationError: Listing every problem, each on its path: ``data`` is not an object,
            a key is not one of ``names`` (``unknown key``), a required one is missing
            (``required key missing``), a value does not fit its type.
        TypeError: If one of ``names`` is not a parameter of ``service`` passed by name.
    """
    allowed = tuple(names)
    parameters = inspect.signature(service).parameters
    wrong = [n for n in allowed if n not in parameters or parameters[n].kind not in _PASSED_BY_NAME]
    if wrong:
        raise TypeError(f"{_type_name(service)} takes no argument {', '.join(wrong)} by name")
    if not isinstance(data, Mapping):
        raise ValidationError("", f"expected an object, got {_kind(data)}")
    hints = get_type_hints(service)
    given: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in data.items():
        if key not in allowed:
            problems.append((str(key), "unknown key"))
            continue
        try:
            given[key] = structure(value, hints[key], converter=converter)
        except ValidationError as exc:
            problems.extend(exc.within(key).problems)
    problems.extend(
        (name, "required key missing")
        for name in allowed
        if name not in data and parameters[name].default is inspect.Parameter.empty
    )
    if problems:
        order = {name: i for i, name in enumerate(allowed)}
        problems.sort(key=lambda p: order.get(p[0].split(".", 1)[0].split("[", 1)[0], len(order)))
        raise ValidationError(problems[0][0], problems[0][1], problems=problems)
    return given


def _structure_datetime(value: object, _: object) -> pendulum.DateTime:
    if isinstance(value, dt.datetime):
        parsed, zone = value, None
    elif isinstance(value, str):
        text, zone = value, None
        if text.endswith("]") and "[" in text:
            text, zone = text[:-1].split("[", 1)
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("", "not an ISO 8601 date-time") from None
    else:
        raise ValidationError("", f"expected an ISO 8601 date-time string, got {_kind(value)}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError("", "naive datetime: an instant needs a UTC offset")
    ensure_in_range(parsed, "")  # before any conversion, which could leave datetime's years
    instant = pendulum.instance(parsed)
    if zone is not None:
        try:
            instant = instant.in_timezone(zone)
        except Exception:  # pendulum raises several types for an unknown zone
            raise ValidationError("", "unknown time zone") from None
        if instant.utcoffset() != parsed.utcoffset():
            raise ValidationError("", "the UTC offset does not match the bracketed time zone")
    return instant


def _structure_date(value: object, _: object) -> pendulum.Date:
    if isinstance(value, dt.datetime):
        raise ValidationError("", "expected a date, got a date-time")
    if isinstance(value, dt.date):
        return pendulum.Date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("", "not an ISO 8601 date (YYYY-MM-DD)") from None
        return pendulum.Date(d.year, d.month, d.day)
    raise ValidationError("", f"expected an ISO 8601 date string, got {_kind(value)}")


def _kind(value: object) -> str:
    return type(value).__name__


def _structure_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {_kind(value)}")
    return value


def _structure_int(value: object, _: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError("", f"expected an integer, got {_kind(value)}")
    return value


def _structure_float(value: object, _: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValidationError("", f"expected a number, got {_kind(value)}")
    return float(value)


def _structure_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("", f"expected true or false, got {_kind(value)}")
    return value


def _enum_hook(cls: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    choices = ", ".join(repr(m.value) for m in cls)

    def structure(value: object, _: object) -> enum.Enum:
        try:
            return cls(value)
        except ValueError:
            raise ValidationError("", f"not one of {choices}") from None

    return structure


def _term_hook(cls: type[Term]) -> Callable[[object, object], Term]:
    def structure(value: object, _: object) -> Term:
        if not isinstance(value, str):
            raise ValidationError("", f"expected a code string, got {_kind(value)}")
        return cls(value)

    return structure


def _parse_with(parse: Callable[[str], T]) -> Callable[[object, object], T]:
    def structure(value: object, _: object) -> T:
        if not isinstance(value, str):
            raise ValidationError("", f"expected a string, got {_kind(value)}")
        return parse(value)

    return structure


def _structure_calendar(value: object, _: object) -> WorkCalendar:
    if not isinstance(value, Mapping):
        raise ValidationError("", f"expected a calendar table, got {_kind(value)}")
    return WorkCalendar.from_mapping(value)


def _structure_boundary(value: object, _: object) -> Boundary:
    if not isinstance(value, Mapping):
        raise ValidationError("", f"expected a GeoJSON geometry object, got {_kind(value)}")
    extra = set(value) - {"type", "coordinates"}
    if extra:
        raise ValidationError(sorted(extra)[0], "unknown key")
    try:
        return Boundary.from_geojson(value)
    except ValidationError as exc:
        # Name the input's own key: GeoJSON says "coordinates" where Boundary says "polygons".
        problems = [(_geojson_path(p), m) for p, m in exc.problems]
        raise ValidationError(problems[0][0], problems[0][1], problems=problems) from None


def _geojson_path(path: str) -> str:
    return "coordinates" + path[len("polygons") :] if path.startswith("polygons") else path


def _sort_key(item: object) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _is_frozenset(t: object) -> bool:
    origin = getattr(t, "__origin__", t)
    return origin is frozenset


def configure_converter(conv: cattrs.Converter) -> None:
    """Register gridgov's hooks on ``conv``.

    Args:
        conv: A cattrs converter; it should forbid extra keys for strict input checking.
    """
    # Registered first so that the more specific hooks below take precedence.
    conv.register_structure_hook_factory(
        attrs.has, lambda cl: _mapping_only(make_dict_structure_fn(cl, conv))
    )
    conv.register_structure_hook_factory(_is_collection, lambda t: _collection_hook(conv, t))
    conv.register_unstructure_hook(pendulum.DateTime, _datetime_to_str)
    conv.register_structure_hook(pendulum.DateTime, _structure_datetime)
    conv.register_unstructure_hook(pendulum.Date, lambda d: d.isoformat())
    conv.register_structure_hook(pendulum.Date, _structure_date)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook(NationalId, lambda n: n.value)
    # A record read masked is written with its masked numbers, and read back as masked ones.
    conv.register_structure_hook(NationalId, _parse_with(parse_national_id))
    conv.register_unstructure_hook(PhoneNumber, lambda p: p.value)
    conv.register_structure_hook(PhoneNumber, _parse_with(parse_phone))
    conv.register_unstructure_hook(Boundary, Boundary.to_geojson)
    conv.register_structure_hook(Boundary, _structure_boundary)
    # A calendar is written as its TOML table: ranges of holidays, hours per weekday name.
    conv.register_unstructure_hook(WorkCalendar, WorkCalendar.to_mapping)
    conv.register_structure_hook(WorkCalendar, _structure_calendar)
    # Time limits read as people write them: "15 working days", "2 hours".
    conv.register_unstructure_hook(TimeLimit, str)
    conv.register_structure_hook(TimeLimit, _parse_with(TimeLimit.parse))

    def is_term(t: object) -> bool:
        return isinstance(t, type) and issubclass(t, Term)

    def is_enum(t: object) -> bool:
        return isinstance(t, type) and issubclass(t, enum.Enum)

    conv.register_unstructure_hook_func(is_term, lambda term: term.code)
    conv.register_structure_hook_factory(is_term, _term_hook)
    conv.register_unstructure_hook_func(is_enum, lambda member: member.value)
    conv.register_structure_hook_factory(is_enum, _enum_hook)
    # Sets are written sorted so that documents are deterministic and diff well.
    conv.register_unstructure_hook_factory(_is_frozenset, lambda t: _set_unstructure(conv, t))
    # Last: the criterion hooks are generated from the hooks registered above.
    _configure_criteria(conv)


_CRITERION_KINDS: dict[str, type] = {
    "age_at_least": AgeAtLeast,
    "age_below": AgeBelow,
    "has_tag": HasTag,
    "has_health_flag": HasHealthFlag,
    "lives_as": LivesAs,
    "household_status_is": HouseholdStatusIs,
    "all_of": AllOf,
    "any_of": AnyOf,
    "not": Not,
}
_KIND_OF = {cls: kind for kind, cls in _CRITERION_KINDS.items()}


def _configure_criteria(conv: cattrs.Converter) -> None:
    """Criteria are a tagged union: a table whose ``kind`` names the criterion."""
    plain: dict[type, Callable[[Any], dict[str, Any]]] = {
        cls: make_dict_unstructure_fn(cls, conv) for cls in _KIND_OF
    }
    structurers: dict[str, Callable[[object, object], object]] = {
        kind: _mapping_only(make_dict_structure_fn(cls, conv))
        for kind, cls in _CRITERION_KINDS.items()
    }
    kinds = ", ".join(repr(k) for k in _CRITERION_KINDS)

    def unstructure(criterion: object) -> dict[str, Any]:
        return {"kind": _KIND_OF[type(criterion)], **plain[type(criterion)](criterion)}

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise ValidationError("", f"expected a criterion table, got {_kind(value)}")
        kind = value.get("kind")
        if kind not in structurers:
            raise ValidationError("kind", f"a criterion's kind is one of {kinds}")
        rest = {k: v for k, v in value.items() if k != "kind"}
        return structurers[kind](rest, _CRITERION_KINDS[kind])

    def is_criterion(t: object) -> bool:
        return t == Criterion or t in _KIND_OF

    conv.register_unstructure_hook_func(is_criterion, unstructure)
    conv.register_structure_hook_func(lambda t: t == Criterion, structure)


def _set_unstructure(conv: cattrs.Converter, t: object) -> Callable[[frozenset[Any]], list[Any]]:
    (element,) = get_args(t) or (object,)
    if isinstance(element, type) and issubclass(element, Term):
        return lambda terms: sorted(term.code for term in terms)
    return lambda items: sorted((conv.unstructure(x) for x in items), key=_sort_key)


def _mapping_only(inner: Callable[[Any, Any], T]) -> Callable[[object, object], T]:
    def structure(value: object, t: object) -> T:
        if not isinstance(value, Mapping):
            raise ValidationError("", f"expected an object, got {_kind(value)}")
        return inner(value, t)

    return structure


_COLLECTIONS: dict[object, type] = {tuple: tuple, frozenset: frozenset, list: list, set: frozenset}


def _is_collection(t: object) -> bool:
    origin = get_origin(t)
    if origin not in _COLLECTIONS:
        return False
    args = get_args(t)
    # Only homogeneous collections: tuple[X, ...], list[X], frozenset[X].
    return origin is not tuple or (len(args) == 2 and args[1] is Ellipsis)


def _collection_hook(conv: cattrs.Converter, t: object) -> Callable[[object, object], object]:
    """Structure a homogeneous collection from a JSON array only, naming bad items by index."""
    build = _COLLECTIONS[get_origin(t)]
    element = get_args(t)[0]

    def structure(value: object, _: object) -> object:
        # A string or an object is iterable too; taking it apart would hide the mistake.
        if not isinstance(value, list | tuple):
            raise ValidationError("", f"expected a list, got {_kind(value)}")
        items: list[object] = []
        problems: list[Problem] = []
        for i, item in enumerate(value):
            try:
                items.append(conv.structure(item, element))
            except Exception as exc:  # collected and reported with the item's index
                problems.extend(_problems(exc, f"[{i}]", element))
        if problems:
            raise ValidationError(problems[0][0], problems[0][1], problems=problems)
        return build(items)

    return structure


def make_converter() -> cattrs.Converter:
    """Return a JSON-ready converter for every gridgov type, forbidding unknown keys.

    Returns:
        A new converter; configure it further as you like.
    """
    conv = _make_json_converter(forbid_extra_keys=True, detailed_validation=True)
    configure_converter(conv)
    return conv


_DEFAULT = make_converter()


def _problems(exc: BaseException, path: str, expected: object = None) -> Iterator[Problem]:
    if isinstance(exc, ClassValidationError):
        with_names, others = exc.group_exceptions()
        for sub, name_note in with_names:
            yield from _problems(sub, join_path(path, name_note.name), name_note.type)
        for sub in others:
            yield from _problems(sub, path)
    elif isinstance(exc, IterableValidationError):
        with_indexes, others = exc.group_exceptions()
        for sub, index_note in with_indexes:
            yield from _problems(sub, f"{path}[{index_note.index}]", index_note.type)
        for sub in others:
            yield from _problems(sub, path)
    elif isinstance(exc, BaseValidationError):
        for sub in exc.exceptions:
            yield from _problems(sub, path)
    elif isinstance(exc, ValidationError):
        yield from ((join_path(path, p), m) for p, m in exc.problems)
    elif isinstance(exc, ForbiddenExtraKeysError):
        yield from ((join_path(path, k), "unknown key") for k in sorted(map(str, exc.extra_fields)))
    elif isinstance(exc, KeyError):
        yield (path, "required key missing")
    elif expected is not None:
        # Library messages may quote the bad value, which may be personal: say what was expected.
        yield (path, f"expected {_type_name(expected)}")
    else:
        yield (path, "invalid value")


def as_validation_error(exc: BaseException, *, source: str | None = None) -> ValidationError:
    """Turn a cattrs structuring failure into one :class:`ValidationError` listing every problem.

    Args:
        exc: What the converter raised.
        source: The file or input being read, named in the message.

    Returns:
        The error; its ``path`` and ``problem`` are those of the first problem found.
    """
    problems = list(_problems(exc, "")) or [("", "invalid value")]
    path, problem = problems[0]
    return ValidationError(path, problem, source=source, problems=problems)


def structure(
    data: object,
    cls: type[T],
    *,
    converter: cattrs.Converter | None = None,
    source: str | None = None,
) -> T:
    """Build a ``cls`` from JSON-ready ``data``.

    Args:
        data: Dicts, lists and scalars, as ``json.loads`` or ``tomllib`` give them.
        cls: The type to build.
        converter: The converter to use; :func:`make_converter`'s by default.
        source: The file or input ``data`` came from, named in errors.

    Returns:
        The validated object.

    Raises:
        ValidationError: Naming the path of the first bad field and counting the others.
    """
    conv = converter or _DEFAULT
    try:
        return conv.structure(data, cls)
    except ValidationError as exc:
        raise (exc.from_source(source) if source else exc) from None
    except (BaseValidationError, ForbiddenExtraKeysError, KeyError, TypeError, ValueError) as exc:
        raise as_validation_error(exc, source=source) from None


def unstructure(obj: object, *, converter: cattrs.Converter | None = None) -> Any:
    """Return ``obj`` as JSON-ready dicts, lists and scalars.

    Args:
        obj: A domain object (or a list or dict of them).
        converter: The converter to use; :func:`make_converter`'s by default.

    Returns:
        The JSON-ready value.
    """
    return (converter or _DEFAULT).unstructure(obj)


def dumps(
    obj: object, *, converter: cattrs.Converter | None = None, indent: int | None = None
) -> str:
    """Serialise ``obj`` to a JSON string (UTF-8 text, Chinese kept as is).

    Args:
        obj: A domain object.
        converter: The converter to use; :func:`make_converter`'s by default.
        indent: Pretty-print with this indent.

    Returns:
        The JSON text.
    """
    return json.dumps(unstructure(obj, converter=converter), ensure_ascii=False, indent=indent)


def loads(
    text: str | bytes,
    cls: type[T],
    *,
    converter: cattrs.Converter | None = None,
    source: str | None = None,
) -> T:
    """Parse JSON text into a ``cls``.

    Args:
        text: The JSON text.
        cls: The type to build.
        converter: The converter to use; :func:`make_converter`'s by default.
        source: The file or input the text came from, named in errors.

    Returns:
        The validated object.

    Raises:
        ValidationError: If the text is not JSON or does not describe a valid ``cls``.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "", f"not valid JSON ({exc.__class__.__name__})", source=source
        ) from None
    return structure(data, cls, converter=converter, source=source)
