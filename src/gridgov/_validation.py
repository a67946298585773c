"""Validators for attrs fields that raise :class:`~gridgov.errors.ValidationError`.

attrs' own validators raise ``TypeError``/``ValueError``; ours name the field and never echo the
value, since many fields hold personal data.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import attrs
import pendulum

from gridgov.clock import EARLIEST, LATEST, OUTSIDE_RANGE
from gridgov.errors import ValidationError

_FIRST_YEAR, _LAST_YEAR = EARLIEST.year, LATEST.year  # the supported range, as whole years

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(x.__name__ for x in t)
    return t.__name__


def instance_of(t: type | tuple[type, ...]) -> Validator:
    """Require an instance of ``t`` (``bool`` is not accepted where ``int`` is asked)."""
    accepted = _as_tuple(t)
    refuse_bool = bool not in accepted
    # A value of exactly one of the types named is the common case (a record built from its own
    # values): one set lookup instead of isinstance over every type, abstract ones included.
    exact = frozenset(accepted)

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if type(value) in exact:
            return
        if not isinstance(value, t) or (refuse_bool and isinstance(value, bool)):
            raise ValidationError(
                attribute.name, f"expected {_type_name(t)}, got {type(value).__name__}"
            )

    _EXACT[check] = exact
    return check


# The exact types each instance_of check passes at once, for optional() to test them inline;
# weak, so that a check made on the fly is not kept for ever.
_EXACT: weakref.WeakKeyDictionary[Validator, frozenset[type]] = weakref.WeakKeyDictionary()


def _as_tuple(t: type | tuple[type, ...]) -> tuple[type, ...]:
    return t if isinstance(t, tuple) else (t,)


def optional(inner: Validator) -> Validator:
    """Accept ``None`` or whatever ``inner`` accepts."""
    exact = _EXACT.get(inner)
    if exact is not None:
        # Over instance_of: None or a value of exactly a type named passes without a second call.
        def check_instance(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
            if value is not None and type(value) not in exact:
                inner(inst, attribute, value)

        return check_instance

    def check(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            inner(inst, attribute, value)

    return check


def text(max_length: int = 200, *, allow_empty: bool = False) -> Validator:
    """Require a string, stripped of outer whitespace, of bounded length."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise ValidationError(attribute.name, f"expected a string, got {type(value).__name__}")
        stripped = value.strip()
        if not allow_empty and not stripped:
            raise ValidationError(attribute.name, "must not be empty")
        if value != stripped:
            raise ValidationError(attribute.name, "must not start or end with whitespace")
        if len(value) > max_length:
            raise ValidationError(attribute.name, f"longer than {max_length} characters")
        if value and UNSTORABLE.search(value):
            raise ValidationError(attribute.name, UNSTORABLE_PROBLEM)

    return check


def identifier(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a record key: 1-64 characters of letters, digits, ``-``, ``_``, ``.`` or ``:``."""
    if not isinstance(value, str):
        raise ValidationError(attribute.name, f"expected a string, got {type(value).__name__}")
    if not _IDENTIFIER.fullmatch(value):
        raise ValidationError(
            attribute.name, "an id is 1-64 characters of letters, digits, '-', '_', '.' or ':'"
        )


UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Characters no text may hold: control characters but tab and line ends, lone surrogates.

Databases refuse them (PostgreSQL has no NUL in text, no UTF-8 encoder takes a lone surrogate),
and a ledger opened in a spreadsheet or a terminal must not carry them either.
"""
UNSTORABLE_PROBLEM = "contains a control character or an unpaired surrogate"

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")


# Tuples of types, not unions: ``tuple | frozenset`` builds a union object at every call.
_COLLECTIONS = (tuple, frozenset)


def collection_of(t: type | tuple[type, ...]) -> Validator:
    """Require every element of a tuple or frozenset field to be an instance of ``t``."""

    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, _COLLECTIONS):
            raise ValidationError(
                attribute.name, f"expected a collection, got {type(value).__name__}"
            )
        # Most collections are right: look for a wrong element first, and sort a frozenset (to
        # name the same wrong element every time) only when there is one.
        for item in value:
            if not isinstance(item, t):
                break
        else:
            return
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        for i, item in enumerate(items):
            if not isinstance(item, t):
                raise ValidationError(
                    f"{attribute.name}[{i}]",
                    f"expected {_type_name(t)}, got {type(item).__name__}",
                )

    return check


def non_negative_int(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require an ``int`` from 0 to 2**63 - 1 (what every database column can hold)."""
    if type(value) is int and 0 <= value < 2**63:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(attribute.name, f"expected an integer, got {type(value).__name__}")
    if not 0 <= value < 2**63:
        raise ValidationError(attribute.name, "must be from 0 to 2**63 - 1")


def plain_date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a pendulum Date (not a DateTime) of any year: for dates with bounds of their own."""
    if type(value) is pendulum.Date:
        return
    if not isinstance(value, pendulum.Date) or isinstance(value, pendulum.DateTime):
        raise ValidationError(
            attribute.name, f"expected a pendulum Date, got {type(value).__name__}"
        )


def date(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a pendulum Date (not a DateTime) from ``EARLIEST`` to ``LATEST`` (gridgov.clock)."""
    if not isinstance(value, pendulum.Date) or isinstance(value, pendulum.DateTime):
        raise ValidationError(
            attribute.name, f"expected a pendulum Date, got {type(value).__name__}"
        )
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValidationError(attribute.name, OUTSIDE_RANGE)


def aware_datetime(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Require a tz-aware pendulum DateTime whose date lies from ``EARLIEST`` to ``LATEST``."""
    if not isinstance(value, pendulum.DateTime):
        raise ValidationError(
            attribute.name, f"expected a pendulum DateTime, got {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(attribute.name, "naive datetime: an instant needs a time zone")
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValidationError(attribute.name, OUTSIDE_RANGE)


def to_tuple(value: Iterable[T]) -> tuple[T, ...]:
    """Convert any iterable (but not a string) to a tuple; leave other values to the validator."""
    if type(value) is tuple:  # the common case, without isinstance on the Iterable ABC
        return value
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]  # the validator reports it
    return tuple(value)


def to_frozenset(value: Iterable[T]) -> frozenset[T]:
    """Convert any iterable (but not a string) to a frozenset; leave other values alone."""
    if type(value) is frozenset:
        return value
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return value  # type: ignore[return-value]  # the validator reports it
    try:
        return frozenset(value)
    except TypeError:  # unhashable elements: let the validator name them
        return value  # type: ignore[return-value]
