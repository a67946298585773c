"""Cell values of a community's workbook as gridgov's values: pure functions, no reader.

Each function takes a cell as a reader gives it (text, a number, a date, a boolean, or ``None``
for an empty cell) and returns the value or raises :class:`CellError`, whose problem never
repeats the cell's content: ledgers hold ID numbers, names and phone numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

import pendulum

from gridgov._text import to_halfwidth
from gridgov.codes import NationalId, PhoneNumber, Sex
from gridgov.errors import ValidationError
from gridgov.households import HealthFlag, HouseholdStatus, LivingArrangement, Tag

__all__ = [
    "CellError",
    "CellValue",
    "date_from_serial",
    "serial_from_date",
    "to_halfwidth",
]

CellValue = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None
"""A cell as a workbook reader gives it; ``None`` or ``""`` is an empty cell."""


class CellError(Exception):
    """A cell that cannot be read as its column's value; ``problem`` never holds the value."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# Excel's 1900 date system counts days from 1899-12-30 (it keeps Lotus' phantom 29 February
# 1900, so serials from 61 on are this many days after that day; earlier ones are not birth dates
# anyone keeps). 2958465 is 9999-12-31, the last day Excel shows.
_EPOCH = dt.date(1899, 12, 30)
_FIRST_SERIAL, _LAST_SERIAL = 61, 2958465


def date_from_serial(serial: float) -> pendulum.Date:
    """Return the day of an Excel date serial (1900 date system), its time of day dropped.

    Raises:
        CellError: If ``serial`` is not a day Excel shows after 1 March 1900.
    """
    if not _FIRST_SERIAL <= serial <= _LAST_SERIAL:
        raise CellError("a number that is not a date (Excel date serials run 61 to 2958465)")
    day = _EPOCH + dt.timedelta(days=int(serial))
    return pendulum.Date(day.year, day.month, day.day)


def serial_from_date(day: dt.date) -> int:
    """Return the Excel date serial (1900 date system) of ``day``, from 1 March 1900 on."""
    return (day - _EPOCH).days


def is_empty(value: CellValue) -> bool:
    """Return whether a cell is empty: ``None``, or text of spaces only (U+3000 included)."""
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: CellValue) -> str:
    """Return a cell as text: half-width, stripped; a whole number without its ``.0``.

    Raises:
        CellError: For a date, a time or a boolean where text is expected.
    """
    if isinstance(value, str):
        return to_halfwidth(value).strip()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CellError(f"a {_kind(value)} where text is expected")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(value: CellValue) -> str:
    if isinstance(value, bool):
        return "true/false value"
    if isinstance(value, dt.datetime | dt.date):
        return "date"
    if isinstance(value, dt.time | dt.timedelta):
        return "time"
    return "number"


_TEXT_FIX = "; format the column as text (文本) and type it again"


def national_id(value: CellValue) -> NationalId:
    """Return a cell as a resident ID number: text only, half-width, spaces and dashes removed.

    A number is refused, never repaired: Excel keeps 15 significant digits, so an 18-digit ID
    typed into a number cell has lost its last digits, and a final ``X`` cannot be a number.

    Raises:
        CellError: For a number or another non-text cell, or a malformed ID number.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(f"a {_kind(value)} where an ID number is expected")
    if not isinstance(value, str):
        digits = len(f"{abs(value):.0f}")
        if digits > 15:
            raise CellError(
                "stored as a number, which Excel rounds to 15 significant digits: its last "
                f"digits are lost{_TEXT_FIX}"
            )
        raise CellError(
            f"stored as a number: a final X or a leading zero cannot be kept in one{_TEXT_FIX}"
        )
    cleaned = re.sub(r"[\s\-]", "", to_halfwidth(value)).lstrip("'")
    try:
        return NationalId.parse(cleaned)
    except ValidationError as exc:
        raise CellError(exc.problem) from None


def phone(value: CellValue) -> PhoneNumber:
    """Return a cell as a phone number; an 11-digit number cell is a mobile, exactly.

    Raises:
        CellError: For a number that is not 11 digits (a landline's leading 0 is lost in a
            number cell), or text that is not a mainland phone number.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(f"a {_kind(value)} where a phone number is expected")
    if not isinstance(value, str):
        if float(value).is_integer() and len(f"{abs(value):.0f}") == 11:
            value = f"{value:.0f}"
        else:
            raise CellError(f"stored as a number: a landline's leading 0 is lost{_TEXT_FIX}")
    try:
        return PhoneNumber.parse(to_halfwidth(value).strip())
    except ValidationError as exc:
        raise CellError(exc.problem) from None


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")


def date(value: CellValue) -> pendulum.Date:
    """Return a cell as a date: a date cell, an Excel serial, or text such as ``1949年12月31日``.

    Text may be ``YYYY-MM-DD`` with ``-``, ``/``, ``.`` or 年月日, or eight digits ``YYYYMMDD``;
    a time of day after the date is dropped.

    Raises:
        CellError: For anything else, a year and month without a day included.
    """
    if isinstance(value, dt.datetime | dt.date):
        return pendulum.Date(value.year, value.month, value.day)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CellError(f"a {_kind(value)} where a date is expected")
    if not isinstance(value, str):
        return date_from_serial(value)
    cleaned = to_halfwidth(value).strip()
    m = _DATE.match(cleaned) or _COMPACT.fullmatch(cleaned)
    if m is None:
        if _MONTH.fullmatch(cleaned):
            raise CellError("a year and month without the day: write the whole date")
        raise CellError("not a date (write it as YYYY-MM-DD or YYYY年M月D日)")
    try:
        return pendulum.Date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CellError("not a day of the calendar") from None


_SEX = {
    "男": Sex.MALE,
    "男性": Sex.MALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "女": Sex.FEMALE,
    "女性": Sex.FEMALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
}


def sex(value: CellValue) -> Sex:
    """Return a cell as a sex: 男/女, or ``male``/``female``/``M``/``F``.

    Raises:
        CellError: For anything else.
    """
    found = _SEX.get(text(value).lower())
    if found is None:
        raise CellError("not a sex: write 男 or 女")
    return found


def _labels(
    pairs: Iterable[tuple[str, str, str]],
) -> dict[str, str]:
    """Return a lookup from each label (lower-cased) and code to the code."""
    out: dict[str, str] = {}
    for code, en, zh in pairs:
        out.update({code: code, en.lower(): code, zh: code})
    return out


STATUS = _labels((s.value, s.value.replace("_", " "), s.label_zh) for s in HouseholdStatus) | {
    "拆迁": "relocated",
    "外迁": "relocated",
}
ARRANGEMENT = _labels(
    (a.value, a.value.replace("_", " "), a.label_zh) for a in LivingArrangement
) | {
    "空巢": "with_spouse_only",
    "留守": "with_grandchildren_only",
    "与配偶同住": "with_spouse_only",
}


def choice(value: CellValue, table: Mapping[str, str], what: str) -> str:
    """Return the code a cell names in ``table`` (a label or a code).

    Raises:
        CellError: If the cell names none of them.
    """
    found = table.get(text(value).lower())
    if found is None:
        raise CellError(f"not a known {what}")
    return found


def tag_names(extra: Mapping[str, Tag] | None = None) -> dict[str, Tag]:
    """Return the names a ledger writes tags by: Chinese and English labels, codes, ``extra``.

    The common long forms (``独居老人``, ``低保户``) are the label with ``老人``, ``人员`` or ``户``
    after it.
    """
    names: dict[str, Tag] = {}
    for tag in Tag.builtins():
        names.update({tag.code: tag, tag.label_en.lower(): tag, tag.label_zh: tag})
        for suffix in ("老人", "人员", "户"):
            names.setdefault(tag.label_zh + suffix, tag)
    names.update({name.lower(): tag for name, tag in (extra or {}).items()})
    return names


def flag_names() -> dict[str, HealthFlag]:
    """Return the names a ledger writes health flags by: labels and codes."""
    names: dict[str, HealthFlag] = {}
    for flag in HealthFlag.builtins():
        names.update({flag.code: flag, flag.label_en.lower(): flag, flag.label_zh: flag})
    return names


_T = TypeVar("_T")
_SEPARATORS = re.compile(r"[,，、;；/|\s]+")


def terms(value: CellValue, names: Mapping[str, _T], what: str) -> frozenset[_T]:
    """Return the terms a cell lists, separated by ``、``, ``,``, ``;``, ``/`` or spaces.

    Raises:
        CellError: Naming the position of a name that is not known, not the name itself.
    """
    found: set[_T] = set()
    for i, part in enumerate(p for p in _SEPARATORS.split(text(value)) if p):
        term = names.get(part.lower())
        if term is None:
            raise CellError(f"item {i + 1} is not a known {what}")
        found.add(term)
    return frozenset(found)
