"""Codes: resident ID numbers (GB 11643), phone numbers, division codes and grid code schemes.

Personal identifiers (:class:`NationalId`, :class:`PhoneNumber`) show only a masked form in
``repr`` and ``str``; the full value is read explicitly through ``.value``.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
import re
import zoneinfo
from collections.abc import Iterable

import attrs
import pendulum

from gridgov._levels import GridLevel
from gridgov._text import to_halfwidth
from gridgov._validation import to_tuple
from gridgov.clock import LATEST
from gridgov.errors import ValidationError

__all__ = [
    "DEFAULT_SCHEME",
    "CodeScheme",
    "DivisionCode",
    "DivisionKind",
    "MaskedNationalId",
    "MaskedPhoneNumber",
    "NationalId",
    "PhoneNumber",
    "Segment",
    "Sex",
    "id_check_character",
    "mask_name",
    "parse_national_id",
    "parse_phone",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# GB/T 2260 province-level prefixes (including Taiwan, Hong Kong and Macao).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


class Sex(enum.Enum):
    """Sex as recorded on the resident ID (odd sequence digit: male)."""

    MALE = "male"
    FEMALE = "female"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return "男" if self is Sex.MALE else "女"


def id_check_character(first17: str) -> str:
    """Compute the ISO 7064 MOD 11-2 check character of an 18-character resident ID.

    Args:
        first17: The first 17 digits.

    Returns:
        One of ``0123456789X``.

    Raises:
        ValidationError: If ``first17`` is not 17 digits.
    """
    if (
        not isinstance(first17, str)
        or len(first17) != 17
        or not first17.isascii()
        or not first17.isdigit()
    ):
        raise ValidationError("", "the body of an ID number is 17 digits")
    # map over the checked 17 digits: half the time of a generator, on every ID number read.
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK[total % 11]


def _parse_birth(digits: str) -> pendulum.Date:
    try:
        return pendulum.Date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise ValidationError("", "the birth date in the ID number is not a real date") from None


# The standard library's clock and cached zone: pendulum.today("Asia/Shanghai") reads the zone's
# file on every call (about 150 µs, most of the time of checking an ID number, which a ledger
# import does 100,000 times).
_BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")


def _validate_id(_inst: NationalId, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {type(value).__name__}")
    if len(value) != 18:
        raise ValidationError("", f"an ID number has 18 characters, not {len(value)}")
    body, check = value[:17], value[17]
    if not body.isascii() or not body.isdigit() or check not in "0123456789X":
        raise ValidationError("", "an ID number is 17 digits and a check digit or X")
    if int(body[:2]) not in _PROVINCES:
        raise ValidationError("", "the address code does not start with a province code")
    birth = _parse_birth(body[6:14])
    if birth.year < 1880:
        raise ValidationError("", "the birth date in the ID number is before 1880")
    if birth > LATEST:
        raise ValidationError("", f"the birth date in the ID number is after {LATEST}")
    # Nobody is registered before birth: today in Beijing, where the numbers are issued.
    if birth > dt.datetime.now(_BEIJING).date():
        raise ValidationError("", "the birth date in the ID number is in the future")
    if id_check_character(body) != check:
        raise ValidationError("", "the check character does not match (GB 11643 MOD 11-2)")


@attrs.frozen(repr=False, order=True)
class NationalId:
    """A resident identity card number (居民身份证号码) per GB 11643-1999.

    Construction validates length, digits, the province prefix, the birth date and the check
    character. ``repr`` and ``str`` show the masked form only.

    Args:
        value: The 18-character number, upper-case ``X`` for a check value of 10.

    Raises:
        ValidationError: If the number is malformed; the message never repeats it.
    """

    value: str = attrs.field(validator=_validate_id)

    @classmethod
    def parse(cls, text: str) -> NationalId:
        """Parse user input: trims spaces, accepts a lower-case ``x`` and 15-digit old numbers.

        A 15-digit number (GB 11643-1989) is upgraded: ``19`` is inserted before the two-digit
        birth year and a check character appended.

        Args:
            text: The ID number as typed.

        Returns:
            The validated ID.

        Raises:
            ValidationError: If it is not a valid ID number.
        """
        if not isinstance(text, str):
            raise ValidationError("", f"expected a string, got {type(text).__name__}")
        cleaned = text.strip().upper()
        if len(cleaned) == 15 and cleaned.isascii() and cleaned.isdigit():
            body = cleaned[:6] + "19" + cleaned[6:]
            cleaned = body + id_check_character(body)
        return cls(cleaned)

    @classmethod
    def normalise(cls, text: str) -> NationalId:
        """Parse an ID number as other systems write it: :meth:`parse`, after folding.

        Full-width digits and ``Ｘ`` (what Chinese input methods type) are made half-width and
        spaces and dashes dropped (``610102 1985-0315 123x``), so that every spelling of one
        number gives the same :class:`NationalId`, and the same keyed digest
        (:meth:`gridgov.identity.IdKey.digest`).

        Raises:
            ValidationError: If it is not a valid ID number; the message never repeats it.
        """
        if not isinstance(text, str):
            raise ValidationError("", f"expected a string, got {type(text).__name__}")
        return cls.parse(_SPACES_AND_DASHES.sub("", to_halfwidth(text)))

    @property
    def address_code(self) -> str:
        """Return the six-digit address code of the place of first registration."""
        return self.value[:6]

    @property
    def birth_date(self) -> pendulum.Date:
        """Return the birth date encoded in the number."""
        return _parse_birth(self.value[6:14])

    @property
    def sex(self) -> Sex:
        """Return the sex encoded by the parity of the sequence code."""
        return Sex.MALE if int(self.value[16]) % 2 else Sex.FEMALE

    @property
    def masked(self) -> str:
        """Return the number with the birth date and sequence hidden: ``610102**********1X``."""
        return self.value[:6] + "*" * 10 + self.value[16:]

    def __repr__(self) -> str:
        return f"NationalId({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


_SPACES_AND_DASHES = re.compile(r"[\s\-]")
_MASKED_ID = re.compile(r"[1-9][0-9]{5}\*{10}[0-9][0-9X]")


def _validate_masked_id(_inst: NationalId, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {type(value).__name__}")
    if not _MASKED_ID.fullmatch(value) or int(value[:2]) not in _PROVINCES:
        raise ValidationError("", "a masked ID number is 6 digits, 10 asterisks and 2 characters")


@attrs.frozen(repr=False, order=True)
class MaskedNationalId(NationalId):
    """An ID number as a role without the full view reads it: ``610102**********1X``.

    A scoped unit of work hands it out in place of the stored :class:`NationalId` (see
    :mod:`gridgov.redaction`); its ``value`` is the masked form, and it never equals a full number.
    The birth date and sex it hid are the resident's own fields.

    Args:
        value: The masked number, as :attr:`NationalId.masked` writes it.

    Raises:
        ValidationError: If it is not a masked number; the message never repeats it.
    """

    value: str = attrs.field(validator=_validate_masked_id)

    @property
    def birth_date(self) -> pendulum.Date:
        """Raise ValidationError: the birth date is what the masked form hides."""
        raise ValidationError("national_id", "a masked ID number hides the birth date")

    @property
    def sex(self) -> Sex:
        """Raise ValidationError: the sequence code is what the masked form hides."""
        raise ValidationError("national_id", "a masked ID number hides the sex")


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# Beijing (010) and 020-029 have three-digit area codes; every other area code has four.
_LANDLINE = re.compile(r"(0(?:10|2[0-9])|0[3-9][0-9]{2})-?([2-9][0-9]{6,7})")


def _validate_phone(_inst: PhoneNumber, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {type(value).__name__}")
    if _MOBILE.fullmatch(value):
        return
    m = _LANDLINE.fullmatch(value)
    if m and "-" in value:
        return
    raise ValidationError(
        "", "not a mainland phone number (11-digit mobile or area code-number landline)"
    )


@attrs.frozen(repr=False)
class PhoneNumber:
    """A mainland China phone number: an 11-digit mobile or a landline ``029-87654321``.

    Args:
        value: The normalised number; use :meth:`parse` for user input.

    Raises:
        ValidationError: If the number is malformed.
    """

    value: str = attrs.field(validator=_validate_phone)

    @classmethod
    def parse(cls, text: str) -> PhoneNumber:
        """Parse user input: strips spaces, dashes in mobiles and a ``+86``/``0086`` prefix.

        Args:
            text: The phone number as typed.

        Returns:
            The normalised number.

        Raises:
            ValidationError: If it is not a valid number.
        """
        if not isinstance(text, str):
            raise ValidationError("", f"expected a string, got {type(text).__name__}")
        cleaned = re.sub(r"[\s()]", "", text)
        for prefix in ("+86", "0086"):
            if cleaned.startswith(prefix):
                cleaned = cleaned[len(prefix) :].lstrip("-")
        digits = cleaned.replace("-", "")
        if _MOBILE.fullmatch(digits):
            return cls(digits)
        m = _LANDLINE.fullmatch(cleaned)
        if m:
            return cls(f"{m.group(1)}-{m.group(2)}")
        return cls(cleaned)

    @property
    def is_mobile(self) -> bool:
        """Return whether this is a mobile number."""
        return "-" not in self.value

    @property
    def masked(self) -> str:
        """Return the number with the middle hidden: ``138****5678``, ``029-****4321``."""
        if self.is_mobile:
            return self.value[:3] + "****" + self.value[7:]
        area, number = self.value.split("-")
        return f"{area}-{'*' * (len(number) - 4)}{number[-4:]}"

    def __repr__(self) -> str:
        return f"PhoneNumber({self.masked!r})"

    def __str__(self) -> str:
        return self.masked


_MASKED_PHONE = re.compile(r"1[3-9][0-9]\*{4}[0-9]{4}|0[0-9]{2,3}-\*{3,4}[0-9]{4}")


def _validate_masked_phone(_inst: PhoneNumber, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {type(value).__name__}")
    if not _MASKED_PHONE.fullmatch(value):
        raise ValidationError("", "not a masked phone number (138****5678, 029-****4321)")


@attrs.frozen(repr=False)
class MaskedPhoneNumber(PhoneNumber):
    """A phone number as a role without the full view reads it: ``138****5678``.

    A scoped unit of work hands it out in place of the stored :class:`PhoneNumber` (see
    :mod:`gridgov.redaction`); its ``value`` is the masked form, and it never equals a full number.

    Args:
        value: The masked number, as :attr:`PhoneNumber.masked` writes it.

    Raises:
        ValidationError: If it is not a masked number.
    """

    value: str = attrs.field(validator=_validate_masked_phone)


def parse_national_id(text: str) -> NationalId:
    """Parse an ID number as :meth:`NationalId.parse` does, or its masked form.

    Text holding ``*`` is a :class:`MaskedNationalId`: what JSON holds of a record read masked
    (a request replayed to the principal that made it).

    Raises:
        ValidationError: If it is neither a valid ID number nor a masked one.
    """
    if isinstance(text, str) and "*" in text:
        return MaskedNationalId(text.strip())
    return NationalId.parse(text)


def parse_phone(text: str) -> PhoneNumber:
    """Parse a phone number as :meth:`PhoneNumber.parse` does, or its masked form.

    Text holding ``*`` is a :class:`MaskedPhoneNumber`, as :func:`parse_national_id` reads IDs.

    Raises:
        ValidationError: If it is neither a valid phone number nor a masked one.
    """
    if isinstance(text, str) and "*" in text:
        return MaskedPhoneNumber(text.strip())
    return PhoneNumber.parse(text)


def as_phone(value: PhoneNumber | str) -> PhoneNumber:
    """Return ``value`` as a PhoneNumber, parsing a string: the converter of ``phone`` fields.

    Raises:
        ValidationError: At path ``phone`` if the string is not a phone number.
    """
    if not isinstance(value, str):
        return value
    try:
        return PhoneNumber.parse(value)
    except ValidationError as exc:
        raise exc.within("phone") from None


def as_optional_phone(value: PhoneNumber | str | None) -> PhoneNumber | None:
    """Return :func:`as_phone` of ``value``, or ``None``."""
    return None if value is None else as_phone(value)


def mask_name(name: str) -> str:
    """Mask a personal name for display in logs: keep the first character.

    Args:
        name: A name such as ``"田林"`` or ``"Tian Lin"``.

    Returns:
        ``"田*"``, ``"T*******"``: the first character and one ``*`` for each other one.
    """
    return name[:1] + "*" * (len(name) - 1) if name else name


class DivisionKind(enum.Enum):
    """What a statistical division code designates, read from its digits."""

    COUNTY = "county"
    STREET = "street"
    TOWN = "town"
    TOWNSHIP = "township"
    OTHER_TOWNSHIP_LEVEL = "other-township-level"
    RESIDENTS_COMMITTEE = "residents-committee"
    VILLAGE_COMMITTEE = "village-committee"
    OTHER_COMMUNITY_LEVEL = "other-community-level"


def _validate_division(_inst: DivisionCode, _attr: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("", f"expected a string, got {type(value).__name__}")
    if len(value) not in (6, 9, 12) or not value.isascii() or not value.isdigit():
        raise ValidationError("", "a division code is 6, 9 or 12 digits")
    if int(value[:2]) not in _PROVINCES:
        raise ValidationError("", "a division code starts with a province code")
    if len(value) >= 9 and value[6:9] == "000":
        raise ValidationError("", "the street/township part (digits 7-9) is 000")
    if len(value) == 12 and value[9:12] == "000":
        raise ValidationError("", "the community/village part (digits 10-12) is 000")


@attrs.frozen(order=True)
class DivisionCode:
    """A statistical division code: 6, 9 or 12 digits.

    Six digits name a county-level division (GB/T 2260), nine a street or township, twelve a
    community or village.

    Args:
        value: The code's digits.

    Raises:
        ValidationError: If it is not 6, 9 or 12 digits under a known province.
    """

    value: str = attrs.field(validator=_validate_division)

    @property
    def level(self) -> GridLevel:
        """Return the level of the area hierarchy the code designates."""
        return {6: GridLevel.DISTRICT, 9: GridLevel.STREET, 12: GridLevel.COMMUNITY}[
            len(self.value)
        ]

    @property
    def kind(self) -> DivisionKind:
        """Return what the code designates: street, town, residents' committee, ..."""
        if len(self.value) == 6:
            return DivisionKind.COUNTY
        if len(self.value) == 9:
            n = int(self.value[6:9])
            if n < 100:
                return DivisionKind.STREET
            if n < 200:
                return DivisionKind.TOWN
            if n < 400:
                return DivisionKind.TOWNSHIP
            return DivisionKind.OTHER_TOWNSHIP_LEVEL
        n = int(self.value[9:12])
        if n < 200:
            return DivisionKind.RESIDENTS_COMMITTEE
        if n < 400:
            return DivisionKind.VILLAGE_COMMITTEE
        return DivisionKind.OTHER_COMMUNITY_LEVEL

    @property
    def parent(self) -> DivisionCode | None:
        """Return the enclosing division, or ``None`` for a county-level code."""
        return None if len(self.value) == 6 else DivisionCode(self.value[: len(self.value) - 3])

    @property
    def province(self) -> str:
        """Return the two-digit province code."""
        return self.value[:2]


def _validate_pattern(_inst: Segment, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError(attribute.name, f"expected a string, got {type(value).__name__}")
    # One character class, so that a segment's length is its number of characters.
    if not _CHAR_CLASS.fullmatch(value):
        raise ValidationError(attribute.name, "an alphabet is one character class such as [0-9]")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValidationError(attribute.name, f"not a regular expression: {exc.msg}") from None


_CHAR_CLASS = re.compile(r"\[\^?\]?(?:[^\]\\]|\\.)+\]")


@attrs.frozen
class Segment:
    """One level's part of a grid code.

    Args:
        level: The level this segment identifies.
        width: Its number of characters.
        alphabet: A regular-expression character class for each character, ``[0-9]`` by default.
    """

    level: GridLevel = attrs.field()
    width: int = attrs.field()
    alphabet: str = attrs.field(default="[0-9]", validator=_validate_pattern)

    @level.validator
    def _check_level(self, _attr: attrs.Attribute[GridLevel], value: GridLevel) -> None:
        if not isinstance(value, GridLevel):
            raise ValidationError("level", "expected a GridLevel")

    @width.validator
    def _check_width(self, _attr: attrs.Attribute[int], value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 32:
            raise ValidationError("width", "a segment is 1 to 32 characters wide")


def _segments(value: Iterable[Segment]) -> tuple[Segment, ...]:
    return to_tuple(value)


@attrs.frozen
class CodeScheme:
    """How grid codes are built: one fixed-width segment per level, each extending its parent's.

    Cities differ: the default, :data:`DEFAULT_SCHEME`, follows the statistical division codes
    (6 + 3 + 3 digits down to the community) and Beijing's DB11/T 2157-2023 unit grids
    (community code + 3 digits), with 3 more digits for a building. Because every code extends
    its parent's, a cell's subtree is exactly the codes that start with its code, which lets every
    store answer subtree queries with an index range scan.

    Args:
        name: A name for the scheme.
        segments: One segment per level, consecutive levels in order from the top.
        separator: Placed between segments (``""`` by default, ``"-"`` in some cities).
    """

    name: str
    segments: tuple[Segment, ...] = attrs.field(converter=_segments)
    separator: str = ""
    _patterns: dict[GridLevel, re.Pattern[str]] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    @segments.validator
    def _check_segments(self, _attr: attrs.Attribute[tuple[Segment, ...]], value: object) -> None:
        if not isinstance(value, tuple) or not value:
            raise ValidationError("segments", "a code scheme needs at least one segment")
        for i, seg in enumerate(value):
            if not isinstance(seg, Segment):
                raise ValidationError(f"segments[{i}]", "expected a Segment")
            if i and seg.level.depth != value[i - 1].level.depth + 1:
                raise ValidationError(
                    f"segments[{i}].level", "segments must cover consecutive levels, top first"
                )

    def __attrs_post_init__(self) -> None:
        patterns: dict[GridLevel, re.Pattern[str]] = {}
        parts: list[str] = []
        for seg in self.segments:
            parts.append(f"(?:{seg.alphabet}){{{seg.width}}}")
            patterns[seg.level] = re.compile(re.escape(self.separator).join(parts))
        object.__setattr__(self, "_patterns", patterns)

    @property
    def levels(self) -> tuple[GridLevel, ...]:
        """Return the levels the scheme codes, top first."""
        return tuple(s.level for s in self.segments)

    def length(self, level: GridLevel) -> int:
        """Return the length of a code at ``level``.

        Raises:
            ValidationError: If the scheme has no segment for ``level``.
        """
        widths = [s.width for s in self.segments[: self._index(level) + 1]]
        return sum(widths) + len(self.separator) * (len(widths) - 1)

    def _index(self, level: GridLevel) -> int:
        for i, seg in enumerate(self.segments):
            if seg.level is level:
                return i
        raise ValidationError("level", f"the code scheme {self.name!r} has no {level.value} level")

    def check(self, code: str, level: GridLevel) -> None:
        """Check that ``code`` is a well-formed code for ``level``.

        Raises:
            ValidationError: Naming the problem, with an empty path.
        """
        pattern = self._patterns.get(level)
        if pattern is None:
            self._index(level)  # raises the error naming the level
            return
        if not isinstance(code, str) or not pattern.fullmatch(code):
            raise ValidationError(
                "",
                f"not a {level.value} code under scheme {self.name!r} "
                f"({self.length(level)} characters)",
            )

    def level_of(self, code: str) -> GridLevel:
        """Return the level whose codes look like ``code``.

        Raises:
            ValidationError: If no level's pattern matches.
        """
        for level, pattern in self._patterns.items():
            if pattern.fullmatch(code):
                return level
        raise ValidationError("", f"not a grid code under scheme {self.name!r}")

    def parent_code(self, code: str) -> str | None:
        """Return the code of the parent cell implied by ``code``, ``None`` at the top level."""
        i = self._index(self.level_of(code))
        return None if i == 0 else code[: self.length(self.segments[i - 1].level)]

    def extends(self, parent: str, child: str) -> bool:
        """Return whether ``child`` is a well-formed code directly below ``parent``."""
        try:
            return self.parent_code(child) == parent
        except ValidationError:
            return False


DEFAULT_SCHEME = CodeScheme(
    "statistical",
    (
        Segment(GridLevel.DISTRICT, 6),
        Segment(GridLevel.STREET, 3),
        Segment(GridLevel.COMMUNITY, 3),
        Segment(GridLevel.GRID, 3),
        Segment(GridLevel.BUILDING, 3),
    ),
)
"""Division codes (6/9/12 digits), DB11/T 2157-2023 unit grids (15), buildings (18)."""
