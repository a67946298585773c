"""Masking of personal data held as text: free text, and numbers kept as plain strings.

:mod:`gridgov.codes` masks the typed values (``NationalId.masked``, ``PhoneNumber.masked``,
``mask_name``). This module masks what sits in text: ID numbers, mobile and landline numbers and
e-mail addresses found in a description or a note, and the ID and phone numbers that a view
keeps as strings. The Open311 export, the JSON projections and the redaction of records read
through a scoped unit of work (:mod:`gridgov.redaction`) share it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from gridgov.codes import NationalId, PhoneNumber
from gridgov.errors import ValidationError

__all__ = [
    "HIDDEN",
    "MASKED_ID",
    "MASKED_PHONE",
    "mask_id_text",
    "mask_phone_text",
    "mask_text",
    "masked_fragments",
]

#: What replaces an address or other text hidden as a whole.
HIDDEN = "***"
#: A masked ID number, as ``NationalId.masked`` writes it (a regular expression).
MASKED_ID = r"[1-9][0-9]{5}\*{10}[0-9][0-9X]"
#: A masked mobile or landline number, as ``PhoneNumber.masked`` writes it.
MASKED_PHONE = r"1[3-9][0-9]\*{4}[0-9]{4}|0[0-9]{2,3}-\*{3,4}[0-9]{4}"
_MASKED_ID = re.compile(MASKED_ID)
_MASKED_PHONE = re.compile(MASKED_PHONE)

# ID numbers are matched with a plausible birth date, so that cell codes (15 and 18 digits
# under the default scheme) are not taken for them.
_MONTH_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID_IN_TEXT = re.compile(
    rf"(?<![0-9])([1-9][0-9]{{5}})(?:18|19|20)[0-9]{{2}}{_MONTH_DAY}[0-9]{{2}}"
    r"([0-9][0-9Xx])(?![0-9A-Za-z])"
)
_OLD_ID_IN_TEXT = re.compile(
    rf"(?<![0-9])([1-9][0-9]{{5}})[0-9]{{2}}{_MONTH_DAY}[0-9]([0-9]{{2}})(?![0-9])"
)
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9])(1[3-9][0-9])[- ]?[0-9]{4}[- ]?([0-9]{4})(?![0-9])")
_LANDLINE_IN_TEXT = re.compile(
    r"(?<![0-9])(0(?:10|2[0-9]|[3-9][0-9]{2}))-?([2-9][0-9]{6,7})(?![0-9])"
)
_EMAIL_IN_TEXT = re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _mask_landline(m: re.Match[str]) -> str:
    number = m.group(2)
    return f"{m.group(1)}-{'*' * (len(number) - 4)}{number[-4:]}"


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (_ID_IN_TEXT, lambda m: m.group(1) + "*" * 10 + m.group(2)),
    (_OLD_ID_IN_TEXT, lambda m: m.group(1) + "*" * 7 + m.group(2)),
    (_MOBILE_IN_TEXT, lambda m: f"{m.group(1)}****{m.group(2)}"),
    (_LANDLINE_IN_TEXT, _mask_landline),
    (_EMAIL_IN_TEXT, lambda m: f"{m.group(1)}***@{m.group(2)}"),
)


def mask_text(text: str, known: Mapping[str, str] | None = None) -> str:
    """Return free text with the personal data found in it masked.

    Args:
        text: A description, a note.
        known: Personal values to replace wherever they appear (a reporter's name, an
            address), each by its masked form; the longest are replaced first.

    Returns:
        The text with ``known`` values replaced, ID numbers shown as ``110105**********2X``,
        mobiles as ``138****5678``, landlines as ``029-****4321`` and e-mails as ``a***@b.cn``.
    """
    if not text:
        return text
    for value in sorted(known or {}, key=len, reverse=True):
        if value:
            text = text.replace(value, (known or {})[value])
    for pattern, masked in _RULES:
        text = pattern.sub(masked, text)
    return text


def masked_fragments(text: str, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the personal values :func:`mask_text` hides in ``text``, by their masked forms.

    A masked form standing for two different values is left out: it cannot be told back.

    Args:
        text: A description, a note.
        known: As for :func:`mask_text`.

    Returns:
        ``{masked: value}``, e.g. ``{"138****5678": "13812345678"}``.
    """
    found: dict[str, set[str]] = {}
    for value, masked in (known or {}).items():
        if value and value in text:
            found.setdefault(masked, set()).add(value)
    for pattern, mask in _RULES:
        for m in pattern.finditer(text):
            found.setdefault(mask(m), set()).add(m.group(0))
    return {masked: next(iter(values)) for masked, values in found.items() if len(values) == 1}


def mask_id_text(text: str) -> str:
    """Return an ID number kept as a string masked as ``NationalId.masked`` does.

    ``""`` and a masked number stay as they are; anything else is hidden (``***``).
    """
    if not text or _MASKED_ID.fullmatch(text):
        return text
    try:
        return NationalId(text).masked
    except ValidationError:
        return HIDDEN


def mask_phone_text(text: str) -> str:
    """Return a phone number kept as a string masked as ``PhoneNumber.masked`` does.

    ``""`` and a masked number stay as they are; anything else is hidden (``***``).
    """
    if not text or _MASKED_PHONE.fullmatch(text):
        return text
    try:
        return PhoneNumber(text).masked
    except ValidationError:
        return HIDDEN
