"""Stored documents in and out, fast: generated functions beside the validating converter.

A SQL store writes only records that passed validation, so reading them back need not run every
validator again. :func:`decode` first builds the record with a *trusted* function generated per
type: it checks the document's shape (an object with exactly the expected keys, strings, integers
and booleans where they belong, lists where collections belong, known enum values, parseable dates
and instants) but not the values' finer rules (lengths, patterns, ID check digits, a household's
distinct resident ids), and it constructs attrs instances without their validators and
converters. It runs their ``__attrs_post_init__`` as ``__init__`` would, except for the classes in
``_CHECKS_ONLY``, whose post-init only checks invariants (and sets nothing). Anything the trusted
function does not accept, a document written by an older gridgov or a corrupt one, goes to the
validating converter, which either builds it or says what is wrong (a :class:`StorageError`).

:func:`encode` writes the same JSON text as the converter's ``unstructure``, through generated
functions that skip its per-value dispatch.

Validators are not switched off with ``attrs.validators.set_disabled``: that switch is global to
the process, and another thread building records at the same time would skip its checks too.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import linecache
import threading
import types
from collections.abc import Callable
from typing import Any, Literal, TypeGuard, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
import pendulum

from gridgov import _json
from gridgov._vocab import Term
from gridgov.adapters.support import StoredRecord as R
from gridgov.adapters.support import with_version
from gridgov.calendar import WorkCalendar
from gridgov.cases.catalogue import TimeLimit
from gridgov.codes import NationalId, PhoneNumber
from gridgov.errors import StorageError
from gridgov.grid import Boundary
from gridgov.households import Household, Resident
from gridgov.serialization import _KIND_OF, _datetime_to_str, _sort_key, make_converter

__all__ = ["decode", "encode"]

T = TypeVar("T")
Build = Callable[[Any], Any]
Write = Callable[[Any], Any]

_CONVERTER = make_converter()
# Types whose documents have a form of their own (a string, a GeoJSON object, a TOML table, a
# tagged union): the trusted side hands them to the converter's hooks as they are.
_OWN_FORM: frozenset[object] = frozenset({Boundary, WorkCalendar, TimeLimit, *_KIND_OF})
# Single-string values, built from their string without re-parsing it.
_WRAPPED: frozenset[type] = frozenset({NationalId, PhoneNumber})
# Classes whose ``__attrs_post_init__`` only checks invariants (it sets nothing): a trusted
# document has passed those checks when it was written. Any other post-init is run.
_CHECKS_ONLY: frozenset[type] = frozenset({Household, Resident})
_SCALARS: dict[object, type] = {str: str, int: int, bool: bool}
_COLLECTIONS: dict[object, type] = {tuple: tuple, frozenset: frozenset, list: list}
_new = object.__new__
_set = object.__setattr__
_bind = object.__setattr__.__get__  # o's own setattr, past a frozen class's guard, as attrs does
_TERM_CACHE_MAX = 4096  # codes of one vocabulary kept built; open vocabularies stay small
_DATE_CACHE_MAX = 50_000  # about 137 years of distinct days: every plausible birth date
_counter = itertools.count()
# Functions are generated on first use, by one thread at a time: a thread never sees the
# stand-in of a type another thread is still generating.
_GENERATING = threading.RLock()


class Untrusted(Exception):  # noqa: N818 - a signal to the caller, not an error to report
    """The document does not have the shape the trusted builder expects."""


def _untrusted() -> Untrusted:
    return Untrusted()


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None] | None:
    """Return the ``__set__`` of the slot holding ``name`` in ``cls``, if it is a slot.

    Setting a slot through its descriptor skips what ``object.__setattr__`` does first (the
    attribute's lookup through the class, the guard against bypassing a C type's setattr): a
    stored household sets about 45 attributes, so this is a good part of its build.
    """
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            if isinstance(found, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = found.__set__
                return setter
            return None
    return None


def _compile(name: str, source: str, scope: dict[str, Any]) -> Any:
    """Compile generated ``source`` defining ``name``; keep it in linecache for tracebacks."""
    filename = f"<gridgov trusted codec {name} {next(_counter)}>"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, scope)
    return scope[name]


def _optional_inner(t: object) -> object | None:
    """Return ``X`` for ``X | None`` (a single ``X``), else ``None``."""
    if get_origin(t) in (Union, types.UnionType):
        args = [a for a in get_args(t) if a is not type(None)]
        if len(args) == 1 and len(get_args(t)) == 2:
            inner: object = args[0]
            return inner
    return None


def _homogeneous(t: object) -> tuple[type, object] | None:
    """Return ``(collection, element)`` for ``tuple[X, ...]``, ``frozenset[X]``, ``list[X]``."""
    origin = get_origin(t)
    if origin not in _COLLECTIONS:
        return None
    args = get_args(t)
    if origin is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            return None
    elif len(args) != 1:
        return None
    return _COLLECTIONS[origin], args[0]


def _plain_attrs(t: object) -> TypeGuard[type]:
    """Return whether ``t`` is an attrs class the converter writes as a plain object."""
    if not (isinstance(t, type) and attrs.has(t)) or t in _OWN_FORM or t in _WRAPPED:
        return False
    if issubclass(t, Term) or hasattr(t, "__attrs_pre_init__"):
        return False
    attrs.resolve_types(t)
    return all(f.init for f in attrs.fields(t))


class _Reader:
    """Trusted builders, generated per type on first use."""

    def __init__(self, conv: cattrs.Converter) -> None:
        self._conv = conv
        self._builders: dict[object, Build] = {}
        self._pending: dict[object, Build] = {}
        self._records: dict[type, Callable[[Any, int], Any]] = {}
        self._zones: dict[str, pendulum.Timezone] = {}
        self._offsets: dict[dt.timedelta | None, pendulum.Timezone | pendulum.FixedTimezone] = {}

    def record(self, cls: type[T]) -> Callable[[Any, int], T]:
        """Return the builder of a stored record: its document and its version column."""
        found = self._records.get(cls)
        if found is None:
            with _GENERATING:
                found = self._records.get(cls)
                if found is None:
                    found = self._records[cls] = self._attrs(cls, record=True)
        return found

    def builder(self, t: object) -> Build:
        """Return the trusted builder of values of type ``t``."""
        found = self._builders.get(t)
        if found is None:
            with _GENERATING:
                found = self._builders.get(t) or self._pending.get(t)
                if found is None:
                    # A stand-in while generating, for types that contain themselves.
                    self._pending[t] = lambda value: self._builders[t](value)
                    try:
                        found = self._builders[t] = self._make(t)
                    finally:
                        del self._pending[t]
        return found

    def _make(self, t: object) -> Build:
        if t in _SCALARS:
            return self._scalar(_SCALARS[t])
        if t is float:
            return _float
        if t is pendulum.Date:
            return _date
        if t is pendulum.DateTime:
            return self._instant
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return _enum(t)
        if isinstance(t, type) and (issubclass(t, Term) or t in _WRAPPED):
            return _wrapped(t)
        inner = _optional_inner(t)
        if inner is not None:
            build = self.builder(inner)
            return lambda value: None if value is None else build(value)
        collection = _homogeneous(t)
        if collection is not None:
            return self._collection(*collection)
        if _plain_attrs(t):
            built: Build = self._attrs(t, record=False)
            return built
        return self._delegate(t)

    def _delegate(self, t: object) -> Build:
        hook = self._conv.get_structure_hook(t)
        return lambda value: hook(value, t)

    @staticmethod
    def _scalar(kind: type) -> Build:
        def build(value: Any) -> Any:
            if value.__class__ is not kind:
                raise _untrusted()
            return value

        return build

    def _collection(self, collection: type, element: object) -> Build:
        build = self.builder(element)
        if element is str:

            def strings(value: Any) -> Any:
                if value.__class__ is not list:
                    raise _untrusted()
                for item in value:
                    if item.__class__ is not str:
                        raise _untrusted()
                return collection(value)

            return strings

        def items(value: Any) -> Any:
            if value.__class__ is not list:
                raise _untrusted()
            return collection([build(item) for item in value])

        return items

    def _instant(self, value: Any) -> pendulum.DateTime:
        """Build an instant from the text gridgov writes; see ``serialization``."""
        if value.__class__ is not str:
            raise _untrusted()
        if value[-1] == "]":
            cut = value.index("[")
            parsed = dt.datetime.fromisoformat(value[:cut])
            zone: pendulum.Timezone | pendulum.FixedTimezone = self._zone(value[cut + 1 : -1])
        else:
            parsed = dt.datetime.fromisoformat(value)
            offset = parsed.utcoffset()
            zone = self._offsets.get(offset) or self._offset_zone(parsed)
        instant = pendulum.DateTime(
            parsed.year,
            parsed.month,
            parsed.day,
            parsed.hour,
            parsed.minute,
            parsed.second,
            parsed.microsecond,
            tzinfo=zone,
        )
        expected = parsed.utcoffset()
        if instant.utcoffset() != expected:
            # The later of two wall times a zone repeats when its clocks go back.
            instant = instant.replace(fold=1)
            if instant.utcoffset() != expected:
                raise _untrusted()
        return instant

    def _zone(self, name: str) -> pendulum.Timezone:
        zone = self._zones.get(name)
        if zone is None:
            found = pendulum.timezone(name)
            if not isinstance(found, pendulum.Timezone):
                raise _untrusted()
            zone = self._zones[name] = found
        return zone

    def _offset_zone(self, parsed: dt.datetime) -> pendulum.Timezone | pendulum.FixedTimezone:
        """The zone ``pendulum.instance`` gives a fixed offset (UTC for ``+00:00``)."""
        if parsed.tzinfo is None:
            raise _untrusted()
        zone = pendulum.instance(parsed).tzinfo
        if not isinstance(zone, pendulum.Timezone | pendulum.FixedTimezone):
            raise _untrusted()
        self._offsets[parsed.utcoffset()] = zone
        return zone

    def _attrs(self, cls: type, *, record: bool) -> Any:
        """Generate ``build(d)`` (``build(d, version)`` for a stored record) for ``cls``."""
        attrs.resolve_types(cls)
        fields = attrs.fields(cls)
        keys = len(fields) - (1 if record else 0)
        scope: dict[str, Any] = {
            "_cls": cls,
            "_new": _new,
            "_bind": _bind,
            "_set": _set,
            "_date_get": _DATES.get,
            "_date_of": _date,
            "_dict": dict,
            "_list": list,
            "_tuple": tuple,
            "_frozenset": frozenset,
            "_map": map,
            "_no_items": frozenset(),
            "_untrusted": _untrusted,
            **{k.__name__: k for k in (str, int, bool)},
        }
        lines = [
            f"    if d.__class__ is not _dict or len(d) != {keys}:",
            "        raise _untrusted()",
            "    o = _new(_cls)",
        ]
        bound = False  # whether a field is not a slot and needs ``_s``, o's bound setattr

        def assign(i: int, field: str, value: str) -> str:
            nonlocal bound
            setter = _slot_setter(cls, field)
            if setter is None:
                bound = True
                return f"    _s({field!r}, {value})"
            scope[f"_f{i}"] = setter
            return f"    _f{i}(o, {value})"

        for i, f in enumerate(fields):
            name = repr(f.name)
            if record and f.name == "version":
                lines.append(assign(i, f.name, "version"))
                continue
            lines.append(f"    v = d[{name}]")
            inner = _optional_inner(f.type)
            scalar = _SCALARS.get(f.type) or _SCALARS.get(inner)
            if scalar is not None:
                check = f"v.__class__ is not {scalar.__name__}"
                if inner is not None:
                    check = f"v is not None and {check}"
                lines += [f"    if {check}:", "        raise _untrusted()"]
                lines.append(assign(i, f.name, "v"))
                continue
            wrapped = inner if inner is not None else f.type
            if wrapped in _WRAPPED:
                # An ID or phone number, built in place from its (checked) string.
                scope[f"_k{i}"] = wrapped
                (value_field,) = (a.name for a in attrs.fields(wrapped))
                scope[f"_ks{i}"] = _slot_setter(wrapped, value_field)
                fill = f"_ks{i}(x, v)"
                if scope[f"_ks{i}"] is None:
                    fill = f"_set(x, {value_field!r}, v)"
                pad = "    "
                if inner is not None:
                    lines.append("    if v is not None:")
                    pad = "        "
                lines += [
                    f"{pad}if v.__class__ is not str:",
                    f"{pad}    raise _untrusted()",
                    f"{pad}x = _new(_k{i})",
                    f"{pad}{fill}",
                    f"{pad}v = x",
                    assign(i, f.name, "v"),
                ]
                continue
            if wrapped is pendulum.Date:
                # Built once per distinct day (a TypeError on a non-string, as parsing raises).
                value = "(_date_get(v) or _date_of(v))"
                if inner is not None:
                    value = f"None if v is None else {value}"
                lines.append(assign(i, f.name, value))
                continue
            collection = _homogeneous(f.type)
            if collection is not None:
                lines += ["    if v.__class__ is not _list:", "        raise _untrusted()"]
                lines.append(assign(i, f.name, self._collection_expr(*collection, scope)))
                continue
            value = self._expr(f.type, scope)
            if f.converter is not None and not self._native(f.type):
                if not callable(f.converter) or isinstance(f.converter, attrs.Converter):
                    return self._fallback(cls, record=record)
                scope[f"_c{i}"] = f.converter
                value = f"_c{i}({value})"
            lines.append(assign(i, f.name, value))
        if bound:
            lines.insert(3, "    _s = _bind(o)")
        if hasattr(cls, "__attrs_post_init__") and cls not in _CHECKS_ONLY:
            lines.append("    o.__attrs_post_init__()")
        lines.append("    return o")
        head = "def build(d, version):" if record else "def build(d):"
        return _compile("build", "\n".join([head, *lines]) + "\n", scope)

    def _expr(self, t: object, scope: dict[str, Any], var: str = "v") -> str:
        """Return an expression building a value of type ``t`` from ``var``."""
        inner = _optional_inner(t)
        if inner is not None:
            return f"None if {var} is None else {self._expr(inner, scope, var)}"
        name = f"_b{len(scope)}"
        if isinstance(t, type) and issubclass(t, enum.Enum):
            scope[name] = dict(t._value2member_map_)
            return f"{name}[{var}]"  # KeyError (or TypeError if unhashable): untrusted
        scope[name] = self.builder(t)
        return f"{name}({var})"

    def _collection_expr(self, collection: type, element: object, scope: dict[str, Any]) -> str:
        """Return an expression building a collection from the list ``v``, checked a list."""
        if element is str or element in _SCALARS or element is float:
            name = f"_b{len(scope)}"
            kind = tuple[element, ...] if collection is tuple else collection[element]  # type: ignore[index,valid-type]
            scope[name] = self.builder(kind)
            return f"{name}(v)"
        if _optional_inner(element) is None:
            # ``map`` over the items' builder: no comprehension frame for lists of a few items.
            name = f"_b{len(scope)}"
            build = self.builder(element)
            if isinstance(element, type) and issubclass(element, enum.Enum):
                build = dict(element._value2member_map_).__getitem__
            scope[name] = build
            items = f"_map({name}, v)"
        else:
            items = f"[{self._expr(element, scope, 'x')} for x in v]"
        if collection is list:
            return f"_list({items})"
        empty = "()" if collection is tuple else "_no_items"
        return f"(_{collection.__name__}({items}) if v else {empty})"

    def _native(self, t: object) -> bool:
        """Return whether the builder of ``t`` gives what the field's converter would."""
        inner = _optional_inner(t)
        if inner is not None:
            return self._native(inner)
        collection = _homogeneous(t)
        if collection is not None:
            return True
        return isinstance(t, type) and (
            t in _SCALARS
            or t in _WRAPPED
            or t in (float, pendulum.Date, pendulum.DateTime)
            or issubclass(t, Term | enum.Enum)
            or _plain_attrs(t)
        )

    def _fallback(self, cls: type[T], *, record: bool) -> Any:
        hook = self._conv.get_structure_hook(cls)
        if not record:
            return lambda value: hook(value, cls)
        return lambda value, version: with_version(hook(value, cls), version)


def _float(value: Any) -> float:
    if value.__class__ is float:
        return float(value)
    if value.__class__ is int:
        return float(value)
    raise _untrusted()


# Dates built from their text, shared: a ``pendulum.Date`` is immutable, and parsing one and
# building the subclass costs ten times a look-up.
_DATES: dict[str, pendulum.Date] = {}


def _date(value: Any) -> pendulum.Date:
    found = _DATES.get(value)
    if found is not None:
        return found
    if value.__class__ is not str:
        raise _untrusted()
    date = pendulum.Date.fromisoformat(value)
    if len(_DATES) >= _DATE_CACHE_MAX:
        _DATES.clear()
    _DATES[value] = date
    return date


def _enum(cls: type[enum.Enum]) -> Build:
    members = dict(cls._value2member_map_)

    def build(value: Any) -> enum.Enum:
        member: enum.Enum = members[value]
        return member  # KeyError (or TypeError if unhashable): untrusted

    return build


class _Terms(dict[str, object]):
    """The terms of one vocabulary built so far, by code; a missing code is built on look-up.

    Its ``__getitem__`` is the vocabulary's builder: a known code costs one look-up in C, with
    no Python frame.
    """

    def __init__(self, cls: type) -> None:
        super().__init__()
        (field,) = (f.name for f in attrs.fields(cls))
        self._cls = cls
        self._field = field

    def __missing__(self, code: Any) -> object:
        if code.__class__ is not str:
            raise _untrusted()
        obj: object = _new(self._cls)
        _set(obj, self._field, code)
        if len(self) < _TERM_CACHE_MAX:
            self[code] = obj
        return obj


def _wrapped(cls: type) -> Build:
    """Build a single-string value (a vocabulary term, an ID or phone number) from its text."""
    if _is_term(cls):  # terms are few and immutable: one object per code
        return _Terms(cls).__getitem__
    (field,) = (f.name for f in attrs.fields(cls))
    fill = _slot_setter(cls, field) or (lambda obj, value: _set(obj, field, value))

    def build(value: Any) -> Any:
        if value.__class__ is not str:
            raise _untrusted()
        obj: object = _new(cls)
        fill(obj, value)
        return obj

    return build


class _Writer:
    """Generated ``unstructure`` functions giving the converter's documents."""

    def __init__(self, conv: cattrs.Converter) -> None:
        self._conv = conv
        self._writers: dict[object, Write] = {}
        self._records: dict[type, Write] = {}
        self._pending: dict[object, Write] = {}
        self._inlining: set[type] = set()

    def record(self, cls: type) -> Write:
        """Return the writer of a stored record's document, without its version."""
        found = self._records.get(cls)
        if found is None:
            with _GENERATING:
                found = self._records.get(cls)
                if found is None:
                    found = self._records[cls] = self._attrs(cls, skip="version")
        return found

    def writer(self, t: object) -> Write:
        """Return the writer of values of type ``t``."""
        found = self._writers.get(t)
        if found is None:
            with _GENERATING:
                found = self._writers.get(t) or self._pending.get(t)
                if found is None:
                    self._pending[t] = lambda value: self._writers[t](value)
                    try:
                        found = self._writers[t] = self._make(t)
                    finally:
                        del self._pending[t]
        return found

    def _make(self, t: object) -> Write:
        if t in _SCALARS or t is float or get_origin(t) is Literal:
            return _same
        if t is pendulum.Date:
            return _isoformat
        if t is pendulum.DateTime:
            return _datetime_to_str
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return _enum_value
        if isinstance(t, type) and issubclass(t, Term):
            return _code
        if t in _WRAPPED:
            return _value
        inner = _optional_inner(t)
        if inner is not None:
            write = self.writer(inner)
            return lambda value: None if value is None else write(value)
        collection = _homogeneous(t)
        if collection is not None:
            return self._collection(*collection)
        if _plain_attrs(t):
            return self._attrs(t, skip=None)
        hook: Write = self._conv.get_unstructure_hook(t)
        return hook

    def _collection(self, collection: type, element: object) -> Write:
        if collection is frozenset:
            # The converter writes sets sorted, terms by code, other items by their JSON text.
            if isinstance(element, type) and issubclass(element, Term):
                return lambda terms: sorted([term.code for term in terms])
            write = self.writer(element)
            return lambda items: sorted([write(x) for x in items], key=_sort_key)
        write = self.writer(element)
        if write is _same:
            return list
        return lambda items: [write(x) for x in items]

    def _attrs(self, cls: type, *, skip: str | None) -> Write:
        attrs.resolve_types(cls)
        scope: dict[str, Any] = {"_sorted": sorted}
        self._inlining.add(cls)
        try:
            items = [
                f"{f.name!r}: {self._expr(f.type, f'o.{f.name}', scope)}"
                for f in attrs.fields(cls)
                if f.name != skip
            ]
        finally:
            self._inlining.discard(cls)
        source = "def write(o):\n    return {" + ", ".join(items) + "}\n"
        return _compile("write", source, scope)  # type: ignore[no-any-return]

    def _expr(self, t: object, var: str, scope: dict[str, Any]) -> str:
        """Return a Python expression writing ``var``, of type ``t``; helpers go to ``scope``."""
        if t in _SCALARS or t is float or get_origin(t) is Literal:
            return var
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return f"{var}._value_"
        if isinstance(t, type) and issubclass(t, Term):
            return f"{var}.code"
        if t in _WRAPPED:
            return f"{var}.value"
        if t is pendulum.Date:
            return f"{var}.isoformat()"
        inner = _optional_inner(t)
        if inner is not None:
            if inner in _SCALARS or inner is float:
                return var
            name = f"_x{len(scope)}"
            scope[name] = None  # reserves the name
            return f"(None if ({name} := {var}) is None else {self._expr(inner, name, scope)})"
        collection = _homogeneous(t)
        if collection is not None and collection[0] is not frozenset:
            item = f"_x{len(scope)}"
            scope[item] = None  # reserves the name
            return f"[{self._expr(collection[1], item, scope)} for {item} in {var}]"
        if collection is not None and _is_term(collection[1]):
            return f"(_sorted([_t.code for _t in {var}]) if {var} else [])"
        if _plain_attrs(t) and t not in self._inlining:
            # Written in place: a dict display costs less than a call of the class's writer.
            self._inlining.add(t)
            try:
                items = [
                    f"{f.name!r}: {self._expr(f.type, f'{var}.{f.name}', scope)}"
                    for f in attrs.fields(t)
                ]
            finally:
                self._inlining.discard(t)
            return "{" + ", ".join(items) + "}"
        write = f"_w{len(scope)}"
        scope[write] = self.writer(t)
        return f"{write}({var})"


def _is_term(t: object) -> bool:
    return isinstance(t, type) and issubclass(t, Term)


def _same(value: Any) -> Any:
    return value


def _isoformat(value: Any) -> Any:
    return value.isoformat()


def _value(value: Any) -> Any:
    return value.value


def _enum_value(value: Any) -> Any:
    return value._value_


def _code(value: Any) -> Any:
    return value.code


_RECORD_WRITERS: dict[type, Write] = {}
_READER = _Reader(_CONVERTER)
_WRITER = _Writer(_CONVERTER)


def encode(record: object) -> str:
    """Return a stored record as its JSON document, without its version (kept in a column)."""
    write = _RECORD_WRITERS.get(type(record))
    if write is None:
        write = _RECORD_WRITERS[type(record)] = _WRITER.record(type(record))
    return _json.dumps(write(record))


def decode(cls: type[R], doc: str | bytes | dict[str, Any], version: int) -> R:
    """Build a ``cls`` from a stored document (JSON text, its UTF-8, or parsed) and its version.

    Raises:
        StorageError: If the document is not JSON or no longer validates (corrupt or foreign).
    """
    try:
        data = _json.loads(doc) if isinstance(doc, str | bytes) else dict(doc)
    except (TypeError, ValueError):
        raise StorageError(f"stored {cls.__name__} is not a JSON document") from None
    try:
        return _READER.record(cls)(data, version)
    except Exception:
        pass
    try:
        record = _CONVERTER.structure(data, cls)
    except Exception as exc:  # a stored document that fails validation is corruption
        raise StorageError(f"stored {cls.__name__} does not validate: {exc}") from None
    return with_version(record, version)


def decode_validated(cls: type[R], doc: str | bytes | dict[str, Any], version: int) -> R:
    """Build a ``cls`` like :func:`decode`, through the validating converter only."""
    try:
        data = _json.loads(doc) if isinstance(doc, str | bytes) else dict(doc)
        record = _CONVERTER.structure(data, cls)
    except Exception as exc:
        raise StorageError(f"stored {cls.__name__} does not validate: {exc}") from None
    return with_version(record, version)


def encode_validated(record: object) -> str:
    """Return the document :func:`encode` writes, through the converter's ``unstructure``."""
    data = _CONVERTER.unstructure(record)
    del data["version"]
    return _json.dumps(data)
