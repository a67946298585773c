"""The projection engine: one cattrs converter per redaction (and time zone), derived from attrs.

A converter starts from :func:`gridgov.serialization.configure_converter`'s hooks (dates, enums,
terms, sets written sorted, criteria as tagged tables) and adds:

- instants written as RFC 3339 (``2026-11-28T09:00:00+08:00``), in a zone of the caller's choice;
- for a masked redaction, ID and phone numbers written masked wherever they are, and each field
  that :data:`PERSONAL` declares masked as declared;
- the fields :data:`LEAVE_OUT` declares left out;
- subclasses of a tagged base (case events) written with their tag;
- a refusal of any record class that is not a result or part of one: its personal fields are not
  declared, so it is not projected.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import typing
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs
import cattrs
import pendulum
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter as _json_converter

from gridgov._masking import HIDDEN, mask_id_text, mask_phone_text, mask_text
from gridgov.access import Principal, Redaction
from gridgov.codes import NationalId, PhoneNumber, mask_name
from gridgov.errors import ValidationError
from gridgov.projections._declarations import (
    LEAVE_OUT,
    PERSONAL,
    TAG_KEY,
    FieldMask,
    JSONValue,
    Mask,
    carries_redaction,
    leaf,
    projected_types,
    tag_of,
    tagged_base,
)
from gridgov.serialization import configure_converter

__all__ = ["converter", "project", "redaction_of", "zone_of"]

_Hook = Callable[[Any], Any]

# The personal values of the result being projected, each with its masked form: free texts
# mask them wherever they appear (a reporter's name in a case's description).
_KNOWN: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "known", default=None
)


def redaction_of(view: object) -> Redaction:
    """Return the redaction of a ``Redaction`` or of a ``Principal``'s roles.

    Raises:
        ValidationError: On ``view`` if it is neither.
    """
    if isinstance(view, Redaction):
        return view
    if isinstance(view, Principal):
        return view.redaction
    raise ValidationError("view", "expected a Redaction or a Principal")


def zone_of(tz: object) -> str | None:
    """Return the time zone name ``tz`` if pendulum knows it (``None`` stays ``None``).

    Raises:
        ValidationError: On ``tz`` if it is not a known IANA time zone name.
    """
    if tz is None:
        return None
    if not isinstance(tz, str):
        raise ValidationError("tz", f"expected a time zone name, got {type(tz).__name__}")
    try:
        pendulum.timezone(tz)
    except Exception:  # pendulum raises several types for an unknown zone
        raise ValidationError("tz", "unknown time zone") from None
    return tz


def _masked_str(mask: Mask, value: str | None) -> str | None:
    if mask is Mask.LEFT_OUT or value is None:
        return None
    if mask is Mask.NAME:
        return mask_name(value)
    if mask is Mask.ID_NUMBER:
        return mask_id_text(value)
    if mask is Mask.PHONE:
        return mask_phone_text(value)
    if mask is Mask.HIDDEN:
        return HIDDEN if value else ""
    if mask is Mask.BUILDING:
        return value.split(" ", 1)[0]
    return mask_text(value, _KNOWN.get() or {})


def _masker(mask: FieldMask) -> _Hook:
    if isinstance(mask, Mask):
        return functools.partial(_masked_str, mask)
    columns = mask

    def rows(value: tuple[tuple[str, ...], ...]) -> list[list[str | None]]:
        return [
            [c if m is None else _masked_str(m, c) for c, m in zip(row, columns, strict=True)]
            for row in value
        ]

    return rows


def _refusal(cls: type) -> _Hook:
    def refuse(_: object) -> Any:
        raise ValidationError("result", f"{cls.__name__} is not a result gridgov projects")

    return refuse


def _record_hook(
    conv: cattrs.Converter, cls: type, masked: bool, omit: tuple[str, ...] = ()
) -> _Hook:
    """Return the hook writing a record of ``cls`` field by field, as the declarations say."""
    if cls not in projected_types():
        return _refusal(cls)
    hints = typing.get_type_hints(cls)
    masks = PERSONAL.get(cls, {}) if masked else {}
    overrides: dict[str, Any] = {}
    for a in attrs.fields(cls):
        if a.name in omit:
            overrides[a.name] = override(omit=True)
        elif a.name in masks:
            overrides[a.name] = override(unstruct_hook=_masker(masks[a.name]))
        elif (cls, a.name) in LEAVE_OUT:
            inner = _record_hook(conv, hints[a.name], masked, LEAVE_OUT[cls, a.name])
            overrides[a.name] = override(unstruct_hook=inner)
    write: _Hook = make_dict_unstructure_fn(cls, conv, **overrides)
    if not (masked and carries_redaction(cls)):
        return write
    # A record that says how it was redacted (a resident's view) is shown as it is when it is
    # masked already, and masked, saying so, when it is full.
    as_is = _record_hook(conv, cls, False, omit)

    def once(record: Any) -> Any:
        if record.redaction is Redaction.MASKED:
            return as_is(record)
        return {**write(record), "redaction": Redaction.MASKED.value}

    return once


def _tagged_hook(conv: cattrs.Converter, masked: bool) -> _Hook:
    writers: dict[type, _Hook] = {}

    def write(record: Any) -> Any:
        cls = type(record)
        if cls not in writers:
            writers[cls] = _record_hook(conv, cls, masked)
        return {TAG_KEY: tag_of(cls), **writers[cls](record)}

    return write


def _is_record(t: object) -> bool:
    return isinstance(t, type) and attrs.has(t) and not leaf(t)


def _is_tagged(t: object) -> bool:
    return isinstance(t, type) and tagged_base(t) is not None


def _is_fixed_tuple(t: object) -> bool:
    args = typing.get_args(t)
    return typing.get_origin(t) is tuple and bool(args) and args[-1] is not Ellipsis


def _fixed_tuple_hook(conv: cattrs.Converter, t: object) -> _Hook:
    """Write ``tuple[X, Y, Z]`` as a JSON array, each item by its own type."""
    args = typing.get_args(t)

    def write(value: tuple[Any, ...]) -> list[Any]:
        return [conv.unstructure(x, unstructure_as=a) for x, a in zip(value, args, strict=True)]

    return write


@functools.cache
def converter(redaction: Redaction, tz: str | None = None) -> cattrs.Converter:
    """Return the projection converter of ``redaction``, writing instants in ``tz`` if given."""
    masked = redaction is Redaction.MASKED
    conv = _json_converter()
    configure_converter(conv)

    zone = None if tz is None else zoneinfo.ZoneInfo(tz)

    def instant(value: pendulum.DateTime) -> str:
        if zone is None:
            return value.isoformat()
        # In the standard library, on a plain datetime: half the time of pendulum's in_timezone,
        # the same text (pendulum's arithmetic must not run inside the zone's fromutc).
        wall = dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=zone,
        )
        return zone.fromutc(wall - value.utcoffset()).isoformat()  # type: ignore[operator]

    conv.register_unstructure_hook(pendulum.DateTime, instant)
    if masked:
        conv.register_unstructure_hook(NationalId, lambda n: n.masked)
        conv.register_unstructure_hook(PhoneNumber, lambda p: p.masked)
    conv.register_unstructure_hook_factory(_is_fixed_tuple, lambda t: _fixed_tuple_hook(conv, t))
    # Registered last, so that they come before the hooks of configure_converter.
    conv.register_unstructure_hook_factory(_is_record, lambda t: _record_hook(conv, t, masked))
    conv.register_unstructure_hook_func(_is_tagged, _tagged_hook(conv, masked))
    return conv


def _holds_records(t: object) -> bool:
    """Return whether a field of type ``t`` may hold records (else its value is a leaf)."""
    args = typing.get_args(t)
    if args:
        return any(_holds_records(a) for a in args if a is not Ellipsis)
    return not leaf(t)


_Visits = tuple[tuple[str, Mask | None], ...]
_VISITS: dict[type, _Visits | None] = {}


def _visits(cls: type) -> _Visits | None:
    """Return the fields :func:`_known` reads of a projected record class, else ``None``.

    A name or hidden text is collected; a field without a mask is looked into unless its type
    holds no record (text, numbers, dates, enums: most fields).
    """
    if cls in _VISITS:
        return _VISITS[cls]
    if not (attrs.has(cls) and cls in projected_types()):
        _VISITS[cls] = None
        return None
    masks = PERSONAL.get(cls, {})
    hints = typing.get_type_hints(cls)
    visits: list[tuple[str, Mask | None]] = []
    for a in attrs.fields(cls):
        mask = masks.get(a.name)
        if mask is Mask.NAME or mask is Mask.HIDDEN:
            visits.append((a.name, mask))
        elif mask is None and _holds_records(hints.get(a.name, object)):
            visits.append((a.name, None))
    found = _VISITS[cls] = tuple(visits)
    return found


def _known(value: object, found: dict[str, str]) -> None:
    """Collect the names and hidden texts held in ``value``, each with its masked form."""
    visits = _visits(type(value))
    if visits is not None:
        for name, mask in visits:
            field = getattr(value, name)
            if mask is None:
                _known(field, found)
            elif not isinstance(field, str) or not field:
                continue
            elif mask is Mask.HIDDEN:
                found[field] = HIDDEN
            elif len(field) >= 2:
                found[field] = mask_name(field)
    elif isinstance(value, tuple | list | frozenset | set):
        for item in value:
            _known(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _known(item, found)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _json_only(value: object) -> bool:
    """Return whether ``value`` is made of JSON values of the built-in types only (fast)."""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not _json_only(item):
                return False
        return True
    if kind is list:
        return all(_json_only(item) for item in value)  # type: ignore[attr-defined]
    return kind in _SCALARS


def _check(value: object, path: str) -> None:
    """Raise unless ``value`` is made of JSON values only."""
    if _json_only(value):
        return  # the common case, without building a path for every value
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(path or "result", "a key JSON cannot hold")
            _check(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise ValidationError(
            path or "result", f"{type(value).__name__} is not a result gridgov projects"
        )


def project(result: object, view: Redaction | Principal, *, tz: str | None = None) -> JSONValue:
    """Return a service result as JSON values, its personal data shown as ``view`` may see it.

    Args:
        result: What a service returned (see ``RESULT_TYPES``), or a tuple, list or dict of
            such results.
        view: A ``Redaction``, or the ``Principal`` the result is for (its roles' redaction).
        tz: Write instants in this IANA time zone (``"Asia/Shanghai"``); by default each in
            its own.

    Returns:
        Dicts with ``str`` keys, lists, strings, numbers, booleans and ``None``, as
        :func:`schema` describes them for the same redaction.

    Raises:
        ValidationError: On ``view`` or ``tz`` if invalid; on ``result`` if it holds a record
            that is not a result or part of one.
    """
    redaction = redaction_of(view)
    conv = converter(redaction, zone_of(tz))
    known: dict[str, str] = {}
    if redaction is Redaction.MASKED:
        _known(result, known)
    token = _KNOWN.set(known)
    try:
        data = conv.unstructure(result)
    finally:
        _KNOWN.reset(token)
    _check(data, "")
    return cast("JSONValue", data)
