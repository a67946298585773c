"""JSON Schemas (2020-12) of the projections, derived from the same declarations as the converters.

A schema describes what :func:`~gridgov.projections.project` writes for one redaction: every
field required, no other key, instants and days as RFC 3339 text, and for a masked redaction the
masked forms of ID numbers, phone numbers and names as patterns, so that a document holding a
number in full does not validate.
"""

from __future__ import annotations

import enum
import functools
import typing
from collections.abc import Callable

import attrs
import pendulum

from gridgov._masking import MASKED_ID, MASKED_PHONE
from gridgov._vocab import Term
from gridgov.access import Principal, Redaction
from gridgov.care.criteria import CRITERION_TYPES
from gridgov.cases.catalogue import TimeLimit
from gridgov.codes import NationalId, PhoneNumber
from gridgov.errors import ValidationError
from gridgov.grid import Boundary
from gridgov.projections._declarations import (
    LEAVE_OUT,
    PERSONAL,
    TAG_KEY,
    FieldMask,
    JSONValue,
    Mask,
    carries_redaction,
    is_union,
    projected_types,
    subclasses,
    tag_of,
    tagged_base,
)
from gridgov.projections._engine import redaction_of
from gridgov.serialization import _KIND_OF

__all__ = ["DIALECT", "schema"]

#: The JSON Schema dialect of the schemas: draft 2020-12.
DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, JSONValue]

_INSTANT = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})$"
)
_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_FULL_ID = r"^[1-9][0-9]{16}[0-9X]$"
_FULL_PHONE = r"^(?:1[3-9][0-9]{9}|0[0-9]{2,3}-[2-9][0-9]{6,7})$"
_MASKED_NAME = r"^(?:[\s\S]\**)?$"
_HIDDEN = r"^(?:\*\*\*)?$"


def _string(pattern: str | None = None, fmt: str | None = None) -> Schema:
    out: Schema = {"type": "string"}
    if fmt is not None:
        out["format"] = fmt
    if pattern is not None:
        out["pattern"] = pattern
    return out


def _array(items: Schema, *, unique: bool = False) -> Schema:
    out: Schema = {"type": "array", "items": items}
    if unique:
        out["uniqueItems"] = True
    return out


def _position_array(depth: int) -> Schema:
    out: Schema = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    for _ in range(depth):
        out = _array(out)
    return out


_GEOMETRY: Schema = {
    "description": "A GeoJSON Polygon or MultiPolygon geometry object (RFC 7946).",
    "oneOf": [
        {
            "type": "object",
            "properties": {"type": {"const": kind}, "coordinates": _position_array(depth)},
            "required": ["type", "coordinates"],
            "additionalProperties": False,
        }
        for kind, depth in (("Polygon", 2), ("MultiPolygon", 3))
    ],
}


def _first_line(cls: type) -> str:
    return (cls.__doc__ or "").strip().split("\n", 1)[0]


class _Builder:
    """Builds one schema: the root's and the ``$defs`` it refers to."""

    def __init__(self, masked: bool) -> None:
        self.masked = masked
        self.defs: dict[str, JSONValue] = {}

    def ref(self, name: str, build: Callable[[], Schema]) -> Schema:
        if name not in self.defs:
            self.defs[name] = {}  # taken: a record that holds itself refers to it
            self.defs[name] = build()
        return {"$ref": f"#/$defs/{name}"}

    def of(self, t: object) -> Schema:
        if t is None or t is type(None):
            return {"type": "null"}
        if is_union(t):
            return self.union(typing.get_args(t))
        origin = typing.get_origin(t)
        if origin is not None:
            return self.generic(origin, typing.get_args(t))
        if not isinstance(t, type):
            raise ValidationError("result_type", "expected a type")
        simple = self.simple(t)
        if simple is not None:
            return simple
        if t in CRITERION_TYPES:
            return self.criterion()
        if attrs.has(t) and t in projected_types():
            base = tagged_base(t)
            if base is None:
                return self.ref(t.__name__, lambda: self.record(t))
            return self.tagged(base) if t is base else self.tagged_member(base, t)
        raise ValidationError("result_type", f"{t.__name__} is not a result gridgov projects")

    def simple(self, t: type) -> Schema | None:
        if t is bool:
            return {"type": "boolean"}
        if t is int:
            return {"type": "integer"}
        if t is float:
            return {"type": "number"}
        if t is str:
            return {"type": "string"}
        if t is pendulum.DateTime:
            return _string(_INSTANT, "date-time")
        if t is pendulum.Date:
            return _string(_DAY, "date")
        if issubclass(t, Term):
            return {"type": "string", "description": f"a {t.__name__} code"}
        if issubclass(t, enum.Enum):
            return {"enum": [m.value for m in t]}
        if t is NationalId:
            return _string(f"^(?:{MASKED_ID})$" if self.masked else _FULL_ID)
        if t is PhoneNumber:
            return _string(f"^(?:{MASKED_PHONE})$" if self.masked else _FULL_PHONE)
        if t is TimeLimit:
            return {"type": "string", "description": "a time limit, e.g. 15 working days"}
        if t is Boundary:
            return _GEOMETRY
        return None

    def union(self, args: tuple[object, ...]) -> Schema:
        present = [a for a in args if a is not type(None)]
        if set(present) == set(CRITERION_TYPES):
            first = self.criterion()
        elif len(present) == 1:
            first = self.of(present[0])
        else:
            first = {"anyOf": [self.of(a) for a in present]}
        if len(present) == len(args):
            return first
        return {"anyOf": [first, {"type": "null"}]}

    def generic(self, origin: object, args: tuple[object, ...]) -> Schema:
        if origin is dict:
            key, value = args
            out: Schema = {"type": "object", "additionalProperties": self.of(value)}
            if isinstance(key, type) and issubclass(key, enum.Enum):
                out["propertyNames"] = {"enum": [m.value for m in key]}
            return out
        if origin is tuple and args and args[-1] is not Ellipsis:
            return {
                "type": "array",
                "prefixItems": [self.of(a) for a in args],
                "items": False,
                "minItems": len(args),
            }
        if origin in (tuple, list, frozenset, set):
            return _array(self.of(args[0]), unique=origin in (frozenset, set))
        raise ValidationError("result_type", f"{origin} is not a result gridgov projects")

    def criterion(self) -> Schema:
        def build() -> Schema:
            refs: list[JSONValue] = [
                self.ref(c.__name__, functools.partial(self.record, c, kind=("kind", _KIND_OF[c])))
                for c in CRITERION_TYPES
            ]
            return {"description": "An eligibility criterion, its kind named.", "oneOf": refs}

        return self.ref("Criterion", build)

    def tagged(self, base: type) -> Schema:
        def build() -> Schema:
            members = [base, *sorted(subclasses(base), key=lambda c: c.__name__)]
            refs: list[JSONValue] = [
                self.tagged_member(base, c) for c in members if c in projected_types()
            ]
            return {"description": _first_line(base), "oneOf": refs}

        return self.ref(base.__name__, build)

    def tagged_member(self, base: type, cls: type) -> Schema:
        tag = tag_of(cls)
        return self.ref(f"{base.__name__}.{tag}", lambda: self.record(cls, kind=(TAG_KEY, tag)))

    def record(
        self, cls: type, omit: tuple[str, ...] = (), kind: tuple[str, str] | None = None
    ) -> Schema:
        hints = typing.get_type_hints(cls)
        masks = PERSONAL.get(cls, {}) if self.masked else {}
        props: dict[str, JSONValue] = {}
        if kind is not None:
            props[kind[0]] = {"const": kind[1]}
        for a in attrs.fields(cls):
            hint = hints[a.name]
            if a.name in omit:
                continue
            if a.name in masks:
                props[a.name] = self.masked_field(masks[a.name], hint)
            elif (cls, a.name) in LEAVE_OUT:
                left = LEAVE_OUT[cls, a.name]
                props[a.name] = self.ref(
                    f"{cls.__name__}.{a.name}", functools.partial(self.record, hint, left)
                )
            else:
                props[a.name] = self.of(hint)
        if self.masked and carries_redaction(cls):
            props["redaction"] = {"const": Redaction.MASKED.value}
        return {
            "title": cls.__name__,
            "description": _first_line(cls),
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    def masked_field(self, mask: FieldMask, hint: object) -> Schema:
        if isinstance(mask, tuple):
            columns: list[JSONValue] = [
                {"type": "string"} if m is None else self.masked_text(m) for m in mask
            ]
            row: Schema = {
                "type": "array",
                "prefixItems": columns,
                "items": False,
                "minItems": len(columns),
            }
            return _array(row)
        out = self.masked_text(mask)
        if mask is not Mask.LEFT_OUT and is_union(hint) and type(None) in typing.get_args(hint):
            return {"anyOf": [out, {"type": "null"}]}
        return out

    @staticmethod
    def masked_text(mask: Mask) -> Schema:
        patterns = {
            Mask.NAME: _MASKED_NAME,
            Mask.ID_NUMBER: rf"^(?:|\*\*\*|{MASKED_ID})$",
            Mask.PHONE: rf"^(?:|\*\*\*|{MASKED_PHONE})$",
            Mask.HIDDEN: _HIDDEN,
        }
        if mask is Mask.LEFT_OUT:
            return {"type": "null"}
        return _string(patterns.get(mask))


def _name(t: object) -> str:
    """Return a type as its annotation reads: ``tuple[Escalation, ...]``, ``GridCell | None``."""
    if t is Ellipsis:
        return "..."
    if t is None or t is type(None):
        return "None"
    if is_union(t):
        return " | ".join(_name(a) for a in typing.get_args(t))
    origin = typing.get_origin(t)
    if origin is not None:
        return f"{_name(origin)}[{', '.join(_name(a) for a in typing.get_args(t))}]"
    return getattr(t, "__name__", None) or str(t)


def schema(
    result_type: object, view: Redaction | Principal = Redaction.MASKED
) -> dict[str, JSONValue]:
    """Return the JSON Schema (2020-12) of the projections of ``result_type`` for ``view``.

    Args:
        result_type: A result class (``Worklist``), or a type made of them as the services
            annotate their returns: ``tuple[Escalation, ...]``, ``dict[str, float]``,
            ``Registration | None``.
        view: The redaction the projections are made for, or the ``Principal`` they are for;
            masked by default, the schema a platform publishes for roles without the full view.

    Returns:
        The schema: ``$schema`` (draft 2020-12), ``title``, the root's schema or ``$ref``, and
        ``$defs`` holding a schema per record class.

    Raises:
        ValidationError: On ``view`` if invalid; on ``result_type`` if it is not a type, or
            names a record that is not a result or part of one.
    """
    builder = _Builder(redaction_of(view) is Redaction.MASKED)
    root = builder.of(result_type)
    return {"$schema": DIALECT, "title": _name(result_type), **root, "$defs": builder.defs}
