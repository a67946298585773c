"""Records redacted for a role without the full view, and restored when such a role writes back.

A scoped unit of work (:func:`gridgov.services.scoped.scoped`) hands a principal whose
:attr:`~gridgov.access.Principal.redaction` is ``MASKED`` every record already passed through
:func:`redact`, and passes every record it is given to write through :func:`restore` against the
stored one. Both are driven by one declaration, :data:`PERSONAL`, and by type: wherever a record
holds a :class:`~gridgov.codes.NationalId` or a :class:`~gridgov.codes.PhoneNumber`, it is
replaced by its :class:`~gridgov.codes.MaskedNationalId` or
:class:`~gridgov.codes.MaskedPhoneNumber`.

What a masked record keeps: ids, cells, tags, health flags, birth dates and sexes, states and
instants (the rules run on them: a supervisor's coverage counts what a worker's does), and the
building line of an address. What it hides: names (``王*``), ID and phone numbers, units, rooms
and forwarding addresses (``***``), and the ID numbers, phones, e-mails, names and addresses
found in free text (notes, descriptions).

Restoring: a field of the record written that still equals the masked form of the stored field
is the stored value; a field the principal changed is taken as written, except that in free text
the masked forms of the values the stored text held stand for those values. A masked ID or phone
number that does not restore (a new resident given a masked number, or a masked number that is
not the stored one's) is a :class:`~gridgov.errors.ValidationError` naming the field, never a
value: a masked record is never stored.
"""

from __future__ import annotations

import enum
import functools
import json
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import attrs

from gridgov._masking import HIDDEN, mask_text, masked_fragments
from gridgov.care.contacts import ContactAttempt
from gridgov.cases.model import Case, HistoryEntry, Location, Reporter
from gridgov.codes import MaskedNationalId, MaskedPhoneNumber, NationalId, PhoneNumber, mask_name
from gridgov.errors import ValidationError
from gridgov.households import Address, EmergencyContact, ForwardingContact, Household, Resident
from gridgov.idempotency import RememberedRequest
from gridgov.ports import Page

__all__ = [
    "MENTIONS",
    "PERSONAL",
    "Mask",
    "holds_personal_data",
    "masked_at",
    "mentioned_households",
    "redact",
    "restore",
]

T = TypeVar("T")


class Mask(enum.Enum):
    """How a personal field kept as text is shown to a role without the full view."""

    #: A personal name: the first character, then one ``*`` for each other (``王*``).
    NAME = "name"
    #: Hidden whole: ``***`` (empty and ``None`` stay as they are): a unit, a room.
    HIDDEN = "hidden"
    #: An address hidden whole (``***``), and wherever the record's free text repeats it.
    ADDRESS = "address"
    #: Free text: ID and phone numbers, e-mails, and the record's names and hidden texts masked.
    TEXT = "text"
    #: JSON text (a remembered result): each string under the name of a personal field masked
    #: as that field is (``"name"`` as a name, ``"room"`` hidden...), and the names found masked
    #: in free text; other strings are masked whole if ID or phone numbers, as free text if
    #: text, and kept if codes, ids or instants.
    JSON = "json"


#: The personal fields kept as text, by class. ID and phone numbers are masked by type.
PERSONAL: Mapping[type, Mapping[str, Mask]] = {
    Resident: {"name": Mask.NAME},
    EmergencyContact: {"name": Mask.NAME},
    Address: {"unit": Mask.HIDDEN, "room": Mask.HIDDEN},
    ForwardingContact: {"address": Mask.ADDRESS, "note": Mask.TEXT},
    Reporter: {"name": Mask.NAME},
    Location: {"address": Mask.ADDRESS},
    Case: {"description": Mask.TEXT},
    HistoryEntry: {"note": Mask.TEXT},
    ContactAttempt: {"notes": Mask.TEXT},
    # A remembered request keeps a service's result as JSON text, which may hold a case or a
    # household: its names, addresses, ID and phone numbers and e-mails are masked.
    RememberedRequest: {"result": Mask.JSON},
}

#: The household a record's free text may speak of, by class: its names are masked there too.
MENTIONS: Mapping[type, str] = {ContactAttempt: "household_id"}

_Known = dict[str, str]
_MASKED_TYPES = frozenset({MaskedNationalId, MaskedPhoneNumber})
_LEAVES = frozenset({str, NationalId, PhoneNumber, type(None)})


def _mentioned(t: object) -> typing.Iterator[type]:
    """Yield the classes a type expression mentions."""
    if isinstance(t, type):
        yield t
    for arg in typing.get_args(t):
        yield from _mentioned(arg)


@functools.cache
def holds_personal_data(cls: type) -> bool:
    """Return whether records of ``cls`` may hold personal data that :func:`redact` hides."""
    return _holds(cls, frozenset())


def _holds(cls: type, seen: frozenset[type]) -> bool:
    if issubclass(cls, NationalId | PhoneNumber) or cls in PERSONAL:
        return True
    if not attrs.has(cls) or cls in seen:
        return False
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # a generic container (Page): its items are looked at
        return False
    return any(
        _holds(m, seen | {cls})
        for a in attrs.fields(cls)
        for m in _mentioned(hints.get(a.name, object))
    )


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, str, Mask | None], ...]:
    """Return ``(name, init alias, mask)`` of the fields of ``cls`` that may hold personal data.

    Only these are walked: a household's tags or a case's deadlines are never looked at.
    """
    masks = PERSONAL.get(cls, {})
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    plan = []
    for a in attrs.fields(cls):
        mask, hint = masks.get(a.name), hints.get(a.name)
        if mask is not None or hint is None or any(map(holds_personal_data, _mentioned(hint))):
            plan.append((a.name, a.alias, mask))
    return tuple(plan)


# -- masking ---------------------------------------------------------------------------------


def _known(record: object, known: _Known) -> _Known:
    """Collect the names and hidden texts a record holds, to mask them in its free text too."""
    cls = type(record)
    if isinstance(record, tuple):
        for item in record:
            _known(item, known)
    elif attrs.has(cls) and holds_personal_data(cls):
        for name, _, mask in _plan(cls):
            value = getattr(record, name)
            # A one-character name masks to itself; a unit or a room is too short to look for.
            if isinstance(value, str) and len(value) > 1 and mask in (Mask.NAME, Mask.ADDRESS):
                known[value] = mask_name(value) if mask is Mask.NAME else HIDDEN
            elif mask is None:
                _known(value, known)
    return known


def _masked_str(mask: Mask, value: str | None, known: _Known) -> str | None:
    if not value:
        return value
    if mask is Mask.NAME:
        return mask_name(value)
    if mask is Mask.HIDDEN or mask is Mask.ADDRESS:
        return HIDDEN
    if mask is Mask.JSON:
        return _masked_json(value, known)
    return mask_text(value, known)


@functools.cache
def _field_masks() -> Mapping[str, Mask]:
    """Return how a JSON string is masked by the name it is under: the personal fields' masks."""
    return {
        name: mask
        for fields in PERSONAL.values()
        for name, mask in fields.items()
        if mask is not Mask.JSON
    }


def _json_names(value: Any, known: _Known) -> None:
    """Collect the names a JSON value holds (under a field masked as a name)."""
    if isinstance(value, dict):
        for name, item in value.items():
            mask = _field_masks().get(name)
            if isinstance(item, str) and len(item) > 1 and mask in (Mask.NAME, Mask.ADDRESS):
                known[item] = mask_name(item) if mask is Mask.NAME else HIDDEN
            else:
                _json_names(item, known)
    elif isinstance(value, list):
        for item in value:
            _json_names(item, known)


def _masked_json_value(value: Any, mask: Mask | None, known: _Known) -> Any:
    if isinstance(value, dict):
        return {k: _masked_json_value(v, _field_masks().get(k), known) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_json_value(v, mask, known) for v in value]
    if isinstance(value, str):
        return _masked_str(mask, value, known) if mask is not None else _masked_plain(value, known)
    return value


# Ids, codes, instants, states: a JSON string of these characters is free text of none.
_CODE = re.compile(r"[0-9A-Za-z_.:+\-]*")


def _masked_plain(value: str, known: _Known) -> str:
    """Return a JSON string under a field that is not personal: a number masked, text as text.

    An ID or phone number (a resident's ``national_id``) is masked whole; a code or an instant
    (a cell code may look like an old 15-digit ID number) stays; other text is free text.
    """
    if not _CODE.fullmatch(value):
        return mask_text(value, known)
    for typed in (NationalId, PhoneNumber):
        try:
            return typed(value).masked
        except ValidationError:
            pass
    return value


def _masked_json(text: str, known: _Known) -> str:
    """Return JSON text with its personal data masked (see :attr:`Mask.JSON`)."""
    try:
        value = json.loads(text)
    except ValueError:  # not JSON after all: free text
        return mask_text(text, known)
    names = dict(known)
    _json_names(value, names)
    return json.dumps(_masked_json_value(value, None, names), ensure_ascii=False)


def _redact(value: Any, known: _Known) -> Any:
    if type(value) in _MASKED_TYPES or value is None or type(value) is str:
        return value
    if isinstance(value, NationalId):
        return MaskedNationalId(value.masked)
    if isinstance(value, PhoneNumber):
        return MaskedPhoneNumber(value.masked)
    if isinstance(value, tuple):
        items = tuple(_redact(v, known) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    cls = type(value)
    if not attrs.has(cls) or not holds_personal_data(cls):
        return value
    changes: dict[str, Any] = {}
    for name, alias, mask in _plan(cls):
        old = getattr(value, name)
        new = _masked_str(mask, old, known) if mask is not None else _redact(old, known)
        if new is not old and new != old:
            changes[alias] = new
    return attrs.evolve(value, **changes) if changes else value


def redact(value: T, mentioned: Iterable[Household] = ()) -> T:
    """Return ``value`` as a role without the full view of personal data may read it.

    Args:
        value: A record, a page, tuple or list of records, a ``{key: record}`` mapping
            (``get_many``), or ``None``; anything holding no personal data is returned as it is.
        mentioned: Households whose names and addresses the free text of ``value`` may repeat
            (those of :func:`mentioned_households`), masked there too.

    Returns:
        The same shape, each record's personal data masked (see the module documentation).
    """
    extra: _Known = {}
    for household in mentioned:
        _known(household, extra)
    return _redact_all(value, extra)


def _redact_all(value: T, extra: _Known) -> T:
    if isinstance(value, Page):
        items = tuple(_redact_all(item, extra) for item in value.items)
        return Page(items, value.next_cursor)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {k: _redact_all(item, extra) for k, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, tuple | list):
        return type(value)(_redact_all(item, extra) for item in value)
    cls = type(value)
    if not attrs.has(cls) or not holds_personal_data(cls):
        return value
    result: T = _redact(value, _known(value, dict(extra)))
    return result


def mentioned_households(value: object) -> set[str]:
    """Return the ids of the households the free text of ``value``'s records may speak of.

    Args:
        value: What :func:`redact` is given.

    Returns:
        The ids named by the fields :data:`MENTIONS` declares (a contact's household).
    """
    if isinstance(value, Page):
        return mentioned_households(value.items)
    if isinstance(value, dict):
        return mentioned_households(tuple(value.values()))
    if isinstance(value, tuple | list):
        return {key for item in value for key in mentioned_households(item)}
    field = MENTIONS.get(type(value))
    return set() if field is None else {getattr(value, field)}


# -- restoring -------------------------------------------------------------------------------


def _keyed(value: tuple[Any, ...]) -> bool:
    return all(attrs.has(type(v)) and isinstance(getattr(v, "id", None), str) for v in value)


def _restore(given: Any, stored: Any, known: _Known) -> Any:
    if given is stored or stored is None:
        return given
    if type(given) in _MASKED_TYPES:
        full = type(stored) in (NationalId, PhoneNumber)
        # Only the stored number's own masked form stands for it.
        return stored if full and given.value == stored.masked else given
    if isinstance(given, tuple) and isinstance(stored, tuple):
        if given and stored and _keyed(given) and _keyed(stored):
            by_id = {s.id: s for s in stored}
            return tuple(_restore(g, by_id.get(g.id), known) for g in given)
        # A row without an id (history, emergency contacts) left as read is the stored row it
        # was read from, wherever it now stands; a changed one corresponds by position.
        read: list[Any] = []  # the stored rows as a masked principal read them, made once
        restored = []
        for i, g in enumerate(given):
            if i < len(stored) and g == stored[i]:  # as stored (a full view, or no personal data)
                restored.append(g)
                continue
            if not read:
                read = [_redact(s, known) for s in stored]
            same = next((s for s, r in zip(stored, read, strict=True) if r == g), None)
            if same is None:
                same = _restore(g, stored[i] if i < len(stored) else None, known)
            restored.append(same)
        return tuple(restored)
    cls = type(given)
    if type(stored) is not cls or not attrs.has(cls) or not holds_personal_data(cls):
        return given
    changes: dict[str, Any] = {}
    for name, alias, mask in _plan(cls):
        new, old = getattr(given, name), getattr(stored, name)
        if mask is Mask.TEXT and isinstance(new, str) and isinstance(old, str):
            value = _restore_text(new, old, known)
        elif mask is not None:
            kept = new != old and new == _masked_str(mask, old, known)
            value = old if kept else new
        else:
            value = _restore(new, old, known)
        if value is not new:
            changes[alias] = value
    return attrs.evolve(given, **changes) if changes else given


def _restore_text(new: str, old: str, known: _Known) -> str:
    """Return free text as written, with the stored text's personal values left masked put back.

    A note edited after a masked read keeps the numbers and names it held: their masked forms
    still in it stand for the stored values (``139****5555`` for ``13944445555``).
    """
    if new == old or not old:
        return new
    if new == mask_text(old, known):  # left as read
        return old
    for masked, value in sorted(masked_fragments(old, known).items(), key=lambda f: -len(f[0])):
        # Only forms as long as their value (numbers, names): the text's length, which a
        # validator may refuse, tells nothing; an address is "***", which anyone may write.
        if masked != value and len(masked) == len(value):
            new = new.replace(masked, value)
    return new


def _join(head: str, rest: str | None) -> str | None:
    if rest is None:
        return None
    return head + rest if not rest or rest.startswith("[") else f"{head}.{rest}"


@functools.cache
def _walked(cls: type) -> tuple[str, ...]:
    """Return the fields of ``cls`` to look into for masked numbers (none if it holds none)."""
    if not attrs.has(cls) or not holds_personal_data(cls):
        return ()
    return tuple(name for name, _, mask in _plan(cls) if mask is None)


def masked_at(value: object) -> str | None:
    """Return the path of the first masked ID or phone number in ``value``, ``None`` if none.

    ``""`` is ``value`` itself; ``members[1].national_id`` one inside a household.
    """
    cls: Any = type(value)
    if cls in _LEAVES:
        return None
    if cls in _MASKED_TYPES:
        return ""
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            found = _join(f"[{i}]", masked_at(item))
            if found is not None:
                return found
        return None
    for name in _walked(cls):
        found = _join(name, masked_at(getattr(value, name)))
        if found is not None:
            return found
    return None


def _refuse_masked(value: object) -> None:
    """Raise ValidationError at the first masked ID or phone number left in ``value``."""
    path = masked_at(value)
    if path is not None:
        raise ValidationError(
            path,
            "a masked number is kept only in place of the stored one; "
            "give the full number or leave the field as read",
        )


def restore(given: T, stored: T | None) -> T:
    """Return a record to write with the personal data it holds masked put back from ``stored``.

    A field still equal to the masked form of the stored field is the stored value; a field the
    writer changed is taken as written; in a changed note, the masked forms of the values the
    stored note held (``139****5555``) are put back.
    Residents correspond by id; a row without an id (an emergency contact, a history entry)
    left as read is the stored row it was read from, a changed one corresponds by position.

    Args:
        given: The record to write, perhaps read through :func:`redact`.
        stored: The stored record with the same key, ``None`` for a new one.

    Returns:
        The record to store.

    Raises:
        ValidationError: If a masked ID or phone number remains that stands for no stored number;
            the message names the field, never a value.
    """
    cls = type(given)
    if not attrs.has(cls) or not holds_personal_data(cls):
        return given
    known = {} if stored is None else _known(stored, {})
    result: T = _restore(given, stored, known)
    _refuse_masked(result)
    return result
