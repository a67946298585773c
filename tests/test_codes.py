"""Tests for gridgov.codes: resident IDs, phone numbers, division codes and code schemes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov._levels import GridLevel
from gridgov.codes import (
    DEFAULT_SCHEME,
    CodeScheme,
    DivisionCode,
    DivisionKind,
    NationalId,
    PhoneNumber,
    Segment,
    Sex,
    id_check_character,
    mask_name,
)
from gridgov.errors import ValidationError

KNOWN_ID = "11010519491231002X"  # the example of GB 11643-1999: female, born 1949-12-31
DIGITS = "0123456789"
# GB/T 2260 province-level prefixes, written out independently of the library.
PROVINCES = [
    *(11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46),
    *(50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82),
]


def raises_at(path: str, call: Callable[[], object], *secrets: str) -> ValidationError:
    """Check ``call`` raises a ValidationError at ``path`` whose text holds none of ``secrets``."""
    with pytest.raises(ValidationError) as info:
        call()
    err = info.value
    assert path == err.path
    for secret in secrets:
        assert secret not in str(err)
        assert secret not in repr(err)
        assert all(secret not in p for _, p in err.problems)
    return err


def with_check(body: str) -> str:
    """Append the check character to a 17-digit body."""
    return body + id_check_character(body)


def mod_11_2_holds(value: str) -> bool:
    """Return whether ``value`` satisfies ISO 7064 MOD 11-2 (weights 2^k mod 11, total 1)."""
    total = sum(int(d) * (pow(2, 17 - i, 11)) for i, d in enumerate(value[:17]))
    total += 10 if value[17] == "X" else int(value[17])
    return 1 == total % 11


@st.composite
def id_bodies(draw: st.DrawFn) -> str:
    """Draw 17 digits: a province prefix, 4 digits, a real birth date and a sequence code."""
    province = draw(st.sampled_from(PROVINCES))
    rest = draw(st.text(DIGITS, min_size=4, max_size=4))
    birth = draw(st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2026, 11, 28)))
    sequence = draw(st.text(DIGITS, min_size=3, max_size=3))
    return f"{province}{rest}{birth:%Y%m%d}{sequence}"


valid_ids = id_bodies().map(with_check)


# --- id_check_character -------------------------------------------------------------------


def test_check_character_of_the_standard_example() -> None:
    """The check character of the GB 11643 example is X."""
    assert "X" == id_check_character(KNOWN_ID[:17])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("00000000000000000", "1"),  # weighted sum 0
        ("00000001000000000", "0"),  # weighted sum 1
        ("10000000000000000", "5"),  # weighted sum 7
        ("01000000000000000", "3"),  # weighted sum 9
        ("00100000000000000", "2"),  # weighted sum 10
        ("00000000000000001", "X"),  # weighted sum 2
    ],
)
def test_check_character_table(body: str, expected: str) -> None:
    """Weighted sums map to check characters through the table 1 0 X 9 8 7 6 5 4 3 2."""
    assert expected == id_check_character(body)


@given(id_bodies())
def test_check_character_satisfies_mod_11_2(body: str) -> None:
    """Every computed check character completes a number satisfying ISO 7064 MOD 11-2."""
    assert mod_11_2_holds(with_check(body))


@pytest.mark.parametrize("body", ["", "1" * 16, "1" * 18, "1101051949123100X", "１" * 17])
def test_check_character_rejects_malformed_bodies(body: str) -> None:
    """A body that is not 17 ASCII digits raises ValidationError."""
    raises_at("", lambda: id_check_character(body))


def test_check_character_rejects_non_string() -> None:
    """A non-string body raises ValidationError like every other bad input."""
    raises_at("", lambda: id_check_character(None))  # type: ignore[arg-type]


# --- NationalId ---------------------------------------------------------------------------


def test_known_id_is_valid_and_decodes() -> None:
    """The standard's example decodes to a woman born 1949-12-31 in 110105."""
    nid = NationalId(KNOWN_ID)
    assert KNOWN_ID == nid.value
    assert "110105" == nid.address_code
    assert pendulum.Date(1949, 12, 31) == nid.birth_date
    assert Sex.FEMALE == nid.sex
    assert "110105**********2X" == nid.masked


def test_sex_follows_parity_of_the_17th_digit() -> None:
    """An odd 17th digit is male, an even one female."""
    assert Sex.MALE == NationalId(with_check("61010219800101001")).sex
    assert Sex.FEMALE == NationalId(with_check("61010219800101002")).sex
    assert "男" == Sex.MALE.label_zh
    assert "女" == Sex.FEMALE.label_zh


def test_xincheng_id_decodes_its_address() -> None:
    """An ID first registered in Xincheng district carries address code 610102."""
    assert "610102" == NationalId(with_check("61010219520317003")).address_code


@given(id_bodies())
def test_any_valid_body_with_its_check_character_parses(body: str) -> None:
    """17 digits with a province prefix and real birth date plus the check character are valid."""
    value = with_check(body)
    nid = NationalId.parse(value)
    assert value == nid.value
    assert body[:6] == nid.address_code
    assert body[6:14] == nid.birth_date.format("YYYYMMDD")
    assert (Sex.MALE if int(body[16]) % 2 else Sex.FEMALE) == nid.sex


@given(valid_ids, st.integers(0, 16), st.integers(1, 9))
def test_changing_any_one_digit_fails_validation(value: str, position: int, shift: int) -> None:
    """Replacing any one of the 17 digits by another digit makes the number invalid."""
    new_digit = str((int(value[position]) + shift) % 10)
    bad = value[:position] + new_digit + value[position + 1 :]
    raises_at("", lambda: NationalId(bad), bad, bad[:17], value)


@given(valid_ids, st.sampled_from("0123456789X"))
def test_changing_the_check_character_fails_validation(value: str, check: str) -> None:
    """Any other check character makes the number invalid."""
    if check == value[17]:
        check = "0" if value[17] == "X" else "X"
    bad = value[:17] + check
    raises_at("", lambda: NationalId(bad), bad)


@given(valid_ids)
def test_masked_form_hides_birth_date_and_sequence(value: str) -> None:
    """The masked form shows the address code and last two characters, never the birth date."""
    nid = NationalId(value)
    assert value[:6] + "*" * 10 + value[16:] == nid.masked
    assert value[6:14] not in nid.masked
    assert value not in repr(nid)
    assert value not in str(nid)
    assert f"NationalId({nid.masked!r})" == repr(nid)
    assert nid.masked == str(nid)


def test_parse_trims_and_accepts_lower_case_x() -> None:
    """Parsing strips surrounding spaces and upper-cases a trailing x."""
    assert NationalId(KNOWN_ID) == NationalId.parse(f"  {KNOWN_ID.lower()}\n")


def test_parse_upgrades_a_15_digit_number() -> None:
    """A 15-digit 1989-standard number gains the century 19 and a check character."""
    nid = NationalId.parse("110105491231002")
    assert KNOWN_ID == nid.value
    assert pendulum.Date(1949, 12, 31) == nid.birth_date


def test_constructor_rejects_lower_case_x() -> None:
    """The constructor takes the normalised form only: a lower-case x is rejected."""
    raises_at("", lambda: NationalId(KNOWN_ID.lower()), KNOWN_ID.lower())


@pytest.mark.parametrize(
    ("value", "problem_word"),
    [
        (KNOWN_ID[:17], "18 characters"),
        (KNOWN_ID + "1", "18 characters"),
        ("", "18 characters"),
        ("1101051949123100AX", "17 digits"),
        ("11010519491231002Y", "17 digits"),
        ("１１０１０５19491231002X", "17 digits"),
        (with_check("00010519491231002"), "province"),
        (with_check("99010519491231002"), "province"),
        (with_check("11010519490230002"), "not a real date"),
        (with_check("11010519491301002"), "not a real date"),
        (with_check("11010500000101002"), "not a real date"),
        (with_check("11010518791231002"), "before 1880"),
        ("110105194912310021", "check character"),
    ],
)
def test_national_id_rejects(value: str, problem_word: str) -> None:
    """Malformed numbers raise ValidationError describing the problem without the number."""
    err = raises_at("", lambda: NationalId(value), *([value] if value else []))
    assert problem_word in err.problem


def test_a_birth_date_after_today_is_refused() -> None:
    """Nobody holds a number before birth: tomorrow's birth date (Beijing) is refused."""
    tomorrow = pendulum.today("Asia/Shanghai").add(days=1)
    value = with_check(f"110105{tomorrow:%Y%m%d}002")
    err = raises_at("", lambda: NationalId(value), value)
    assert "in the future" in err.problem


@pytest.mark.parametrize("value", [None, 110105194912310020, b"11010519491231002X"])
def test_national_id_rejects_non_strings(value: object) -> None:
    """A non-string raises ValidationError, not TypeError."""
    raises_at("", lambda: NationalId(value))  # type: ignore[arg-type]
    raises_at("", lambda: NationalId.parse(value))  # type: ignore[arg-type]


def test_parse_rejects_a_bad_15_digit_number_without_echo() -> None:
    """A 15-digit number with an impossible date is rejected without repeating it."""
    raises_at("", lambda: NationalId.parse("110105491331002"), "110105491331002")


def test_national_ids_compare_by_value() -> None:
    """Equal numbers are equal and hash alike; they order by value."""
    a, b = NationalId(KNOWN_ID), NationalId(with_check("61010219800101001"))
    assert NationalId(KNOWN_ID) == a
    assert hash(NationalId(KNOWN_ID)) == hash(a)
    assert [a, b] == sorted([b, a])


# --- PhoneNumber --------------------------------------------------------------------------

mobiles = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(DIGITS, min_size=9, max_size=9),
)
three_digit_areas = st.sampled_from(["010", *(f"02{i}" for i in range(10))])
four_digit_areas = st.builds(
    lambda a, b, c: f"0{a}{b}{c}",
    st.sampled_from("3456789"),
    st.sampled_from(DIGITS),
    st.sampled_from(DIGITS),
)
local_numbers = st.builds(
    lambda first, rest: f"{first}{rest}",
    st.sampled_from("23456789"),
    st.text(DIGITS, min_size=6, max_size=7),
)
landlines = st.builds(
    lambda area, number: f"{area}-{number}",
    st.one_of(three_digit_areas, four_digit_areas),
    local_numbers,
)


MOBILE_FORMATS: list[Callable[[str], str]] = [
    lambda n: n,
    lambda n: f" {n} ",
    lambda n: f"{n[:3]} {n[3:7]} {n[7:]}",
    lambda n: f"{n[:3]}-{n[3:7]}-{n[7:]}",
    lambda n: f"+86{n}",
    lambda n: f"+86 {n}",
    lambda n: f"+86-{n}",
    lambda n: f"0086{n}",
    lambda n: f"(+86) {n[:3]} {n[3:7]} {n[7:]}",
]
LANDLINE_FORMATS: list[Callable[[str], str]] = [
    lambda n: n,
    lambda n: f" {n} ",
    lambda n: f"+86 {n}",
    lambda n: f"0086{n}",
]


@given(mobiles, st.sampled_from(MOBILE_FORMATS))
def test_formatted_mobiles_round_trip(number: str, fmt: Callable[[str], str]) -> None:
    """A mobile typed with spaces, dashes or a +86/0086 prefix parses to its 11 digits."""
    phone = PhoneNumber.parse(fmt(number))
    assert number == phone.value
    assert phone.is_mobile


@given(landlines, st.sampled_from(LANDLINE_FORMATS))
def test_formatted_landlines_round_trip(number: str, fmt: Callable[[str], str]) -> None:
    """A landline written area-number parses back to itself."""
    phone = PhoneNumber.parse(fmt(number))
    assert number == phone.value
    assert not phone.is_mobile


@given(four_digit_areas, local_numbers)
def test_landline_in_parentheses_round_trips(area: str, local: str) -> None:
    """A landline written ``(0917)2345678`` parses to ``0917-2345678``."""
    assert f"{area}-{local}" == PhoneNumber.parse(f"({area}){local}").value


def test_landline_without_dash_keeps_three_digit_area_code() -> None:
    """A Xi'an landline typed with a space keeps its three-digit area code 029."""
    assert "029-87654321" == PhoneNumber.parse("029 87654321").value


@given(st.one_of(mobiles, landlines))
def test_phone_repr_and_str_are_masked(number: str) -> None:
    """The repr and str of a phone number never contain the full number."""
    phone = PhoneNumber(number)
    assert number not in repr(phone)
    assert number not in str(phone)
    assert phone.masked == str(phone)
    assert number[-4:] == phone.masked[-4:]


def test_masked_examples() -> None:
    """Masking keeps the mobile's first 3 and last 4 digits and the landline's area code."""
    assert "138****5678" == PhoneNumber("13812345678").masked
    assert "029-****4321" == PhoneNumber("029-87654321").masked
    assert "0917-***5678" == PhoneNumber("0917-2345678").masked
    assert "PhoneNumber('138****5678')" == repr(PhoneNumber("13812345678"))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12345",
        "1381234567",
        "138123456789",
        "23812345678",
        "12812345678",
        "02987654321",
        "029-1234567",
        "029-123456",
        "29-87654321",
        "138 1234 5678",
        "+8613812345678",
    ],
)
def test_phone_constructor_rejects(value: str) -> None:
    """The constructor takes normalised numbers only and rejects anything else."""
    raises_at("", lambda: PhoneNumber(value), *([value] if value else []))


@pytest.mark.parametrize("text", ["12345", "138-1234-567", "+86 029-123", "tel 13812345678"])
def test_phone_parse_rejects_without_echo(text: str) -> None:
    """Parsing a bad number raises ValidationError without repeating it."""
    raises_at("", lambda: PhoneNumber.parse(text), text)


@pytest.mark.parametrize("value", [None, 13812345678])
def test_phone_rejects_non_strings(value: object) -> None:
    """A non-string raises ValidationError, not TypeError."""
    raises_at("", lambda: PhoneNumber(value))  # type: ignore[arg-type]
    raises_at("", lambda: PhoneNumber.parse(value))  # type: ignore[arg-type]


def test_phone_rejects_full_width_digits() -> None:
    """A number with full-width digits is not a normalised number and is rejected."""
    raises_at("", lambda: PhoneNumber("138１２３４５６７８"))


# --- mask_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"), [("田林", "田*"), ("Tian Lin", "T*******"), ("田", "田"), ("", "")]
)
def test_mask_name_examples(name: str, expected: str) -> None:
    """mask_name keeps the first character and stars the rest."""
    assert expected == mask_name(name)


@given(st.text(min_size=2, max_size=30))
def test_mask_name_never_shows_a_longer_name(name: str) -> None:
    """The mask keeps the length and first character and hides every later one."""
    masked = mask_name(name)
    assert len(name) == len(masked)
    assert name[0] == masked[0]
    assert "*" * (len(name) - 1) == masked[1:]


# --- DivisionCode -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level", "kind"),
    [
        ("610102", GridLevel.DISTRICT, DivisionKind.COUNTY),
        ("610102001", GridLevel.STREET, DivisionKind.STREET),
        ("610102099", GridLevel.STREET, DivisionKind.STREET),
        ("610102100", GridLevel.STREET, DivisionKind.TOWN),
        ("610102199", GridLevel.STREET, DivisionKind.TOWN),
        ("610102200", GridLevel.STREET, DivisionKind.TOWNSHIP),
        ("610102399", GridLevel.STREET, DivisionKind.TOWNSHIP),
        ("610102400", GridLevel.STREET, DivisionKind.OTHER_TOWNSHIP_LEVEL),
        ("610102001001", GridLevel.COMMUNITY, DivisionKind.RESIDENTS_COMMITTEE),
        ("610102001199", GridLevel.COMMUNITY, DivisionKind.RESIDENTS_COMMITTEE),
        ("610102001200", GridLevel.COMMUNITY, DivisionKind.VILLAGE_COMMITTEE),
        ("610102001399", GridLevel.COMMUNITY, DivisionKind.VILLAGE_COMMITTEE),
        ("610102001400", GridLevel.COMMUNITY, DivisionKind.OTHER_COMMUNITY_LEVEL),
    ],
)
def test_division_level_and_kind(value: str, level: GridLevel, kind: DivisionKind) -> None:
    """The length gives the level and digits 7-9 or 10-12 the kind of division."""
    code = DivisionCode(value)
    assert level == code.level
    assert kind == code.kind
    assert "61" == code.province


def test_division_parent_chain() -> None:
    """A community's parent is its street, whose parent is the county; a county has none."""
    community = DivisionCode("610102001001")
    assert DivisionCode("610102001") == community.parent
    assert community.parent is not None
    assert DivisionCode("610102") == community.parent.parent
    assert DivisionCode("610102").parent is None


def test_division_codes_order_by_value() -> None:
    """Division codes sort by their digits."""
    codes = [DivisionCode("610103"), DivisionCode("610102001"), DivisionCode("610102")]
    assert ["610102", "610102001", "610103"] == [c.value for c in sorted(codes)]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "61010",
        "6101020",
        "6101020010",
        "6101020010010",
        "61010a",
        "６１０１０２",
        "000000",
        "990102",
        "610102000",
        "610102001000",
    ],
)
def test_division_rejects(value: str) -> None:
    """A division code must be 6, 9 or 12 ASCII digits under a province, no 000 parts."""
    raises_at("", lambda: DivisionCode(value))


def test_division_rejects_non_string() -> None:
    """A non-string division code raises ValidationError, not TypeError."""
    raises_at("", lambda: DivisionCode(610102))  # type: ignore[arg-type]


@given(
    st.sampled_from(PROVINCES),
    st.text(DIGITS, min_size=4, max_size=4),
    st.integers(1, 999),
    st.integers(1, 999),
)
def test_division_parent_is_the_prefix(province: int, county: str, street: int, comm: int) -> None:
    """Every 12-digit code's parent is its 9-digit prefix, whose parent is its 6-digit prefix."""
    value = f"{province}{county}{street:03d}{comm:03d}"
    code = DivisionCode(value)
    assert GridLevel.COMMUNITY == code.level
    assert code.parent is not None
    assert value[:9] == code.parent.value
    assert GridLevel.STREET == code.parent.level
    assert code.parent.parent is not None
    assert value[:6] == code.parent.parent.value


# --- Segment and CodeScheme ---------------------------------------------------------------


def test_segment_defaults_to_digits() -> None:
    """A segment's alphabet is [0-9] unless given."""
    assert "[0-9]" == Segment(GridLevel.GRID, 3).alphabet


@pytest.mark.parametrize("width", [0, 33, -1, True, 2.0])
def test_segment_rejects_bad_width(width: object) -> None:
    """A width outside 1..32, a bool or a float is rejected at ``width``."""
    raises_at("width", lambda: Segment(GridLevel.GRID, width))  # type: ignore[arg-type]


def test_segment_accepts_width_bounds() -> None:
    """Widths 1 and 32 are accepted."""
    assert (1, 32) == (Segment(GridLevel.GRID, 1).width, Segment(GridLevel.GRID, 32).width)


def test_segment_rejects_non_level() -> None:
    """A level that is not a GridLevel is rejected at ``level``."""
    raises_at("level", lambda: Segment("grid", 3))  # type: ignore[arg-type]


def test_segment_rejects_bad_alphabet_naming_the_field() -> None:
    """An alphabet that is not a regular expression is rejected at ``alphabet``."""
    raises_at("alphabet", lambda: Segment(GridLevel.GRID, 3, alphabet="[0-9"))


def test_segment_rejects_bad_alphabet() -> None:
    """An alphabet that is not a regular expression raises ValidationError."""
    with pytest.raises(ValidationError):
        Segment(GridLevel.GRID, 3, alphabet="[0-9")


def test_default_scheme_levels_and_lengths() -> None:
    """The default scheme codes district to building in 6, 9, 12, 15 and 18 digits."""
    assert tuple(GridLevel) == DEFAULT_SCHEME.levels
    assert [6, 9, 12, 15, 18] == [DEFAULT_SCHEME.length(lv) for lv in GridLevel]


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("610102", GridLevel.DISTRICT, None),
        ("610102001", GridLevel.STREET, "610102"),
        ("610102001001", GridLevel.COMMUNITY, "610102001"),
        ("610102001001001", GridLevel.GRID, "610102001001"),
        ("610102001001001001", GridLevel.BUILDING, "610102001001001"),
    ],
)
def test_default_scheme_reads_codes(code: str, level: GridLevel, parent: str | None) -> None:
    """The default scheme recognises each level's code and its parent's code."""
    DEFAULT_SCHEME.check(code, level)
    assert level == DEFAULT_SCHEME.level_of(code)
    assert parent == DEFAULT_SCHEME.parent_code(code)


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("61010200", GridLevel.DISTRICT),
        ("610102001", GridLevel.DISTRICT),
        ("610102", GridLevel.STREET),
        ("61010200100a", GridLevel.COMMUNITY),
        ("６１０１０２", GridLevel.DISTRICT),
        ("", GridLevel.GRID),
    ],
)
def test_default_scheme_check_rejects(code: str, level: GridLevel) -> None:
    """check() rejects a code of the wrong length or alphabet for the level."""
    err = raises_at("", lambda: DEFAULT_SCHEME.check(code, level))
    assert "statistical" in err.problem


def test_scheme_check_rejects_non_string() -> None:
    """check() rejects a non-string code with a ValidationError."""
    raises_at("", lambda: DEFAULT_SCHEME.check(610102, GridLevel.DISTRICT))  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["6101020", "", "abcdef", "610102-001"])
def test_level_of_rejects_unknown_shapes(code: str) -> None:
    """level_of() rejects a code no level's pattern matches."""
    raises_at("", lambda: DEFAULT_SCHEME.level_of(code))


def test_extends() -> None:
    """extends() holds only for a well-formed code directly below the parent."""
    assert DEFAULT_SCHEME.extends("610102", "610102001")
    assert DEFAULT_SCHEME.extends("610102001001", "610102001001007")
    assert not DEFAULT_SCHEME.extends("610102", "610102001001")
    assert not DEFAULT_SCHEME.extends("610103", "610102001")
    assert not DEFAULT_SCHEME.extends("610102", "6101020")
    assert not DEFAULT_SCHEME.extends("610102", "610102")


@given(st.sampled_from(list(GridLevel)), st.data())
def test_default_scheme_parent_is_the_prefix(level: GridLevel, data: st.DataObject) -> None:
    """Any digit string of a level's length has that level and its prefix as parent code."""
    length = DEFAULT_SCHEME.length(level)
    code = data.draw(st.text(DIGITS, min_size=length, max_size=length))
    assert level == DEFAULT_SCHEME.level_of(code)
    expected = None if level is GridLevel.DISTRICT else code[: length - 3]
    assert expected == DEFAULT_SCHEME.parent_code(code)
    if expected is not None:
        assert DEFAULT_SCHEME.extends(expected, code)


def test_scheme_without_a_level_rejects_it() -> None:
    """Asking a scheme about a level it lacks raises a ValidationError at ``level``."""
    scheme = CodeScheme("grids-only", [Segment(GridLevel.COMMUNITY, 3), Segment(GridLevel.GRID, 2)])
    raises_at("level", lambda: scheme.length(GridLevel.DISTRICT))
    raises_at("level", lambda: scheme.check("610102", GridLevel.DISTRICT))
    assert (GridLevel.COMMUNITY, GridLevel.GRID) == scheme.levels


def test_scheme_accepts_a_list_of_segments() -> None:
    """Segments given as a list are stored as a tuple."""
    scheme = CodeScheme("x", [Segment(GridLevel.DISTRICT, 2)])
    assert (Segment(GridLevel.DISTRICT, 2),) == scheme.segments


def test_scheme_rejects_no_segments() -> None:
    """A scheme needs at least one segment."""
    raises_at("segments", lambda: CodeScheme("empty", []))


def test_scheme_rejects_non_segment() -> None:
    """Every segment must be a Segment, named by index."""
    raises_at(
        "segments[1]",
        lambda: CodeScheme("x", [Segment(GridLevel.DISTRICT, 2), (GridLevel.STREET, 2)]),  # type: ignore[list-item]
    )


@pytest.mark.parametrize(
    "levels",
    [
        (GridLevel.DISTRICT, GridLevel.COMMUNITY),
        (GridLevel.STREET, GridLevel.DISTRICT),
        (GridLevel.GRID, GridLevel.GRID),
    ],
)
def test_scheme_rejects_non_consecutive_levels(levels: tuple[GridLevel, GridLevel]) -> None:
    """Segments must cover consecutive levels from the top."""
    raises_at(
        "segments[1].level",
        lambda: CodeScheme("x", [Segment(levels[0], 2), Segment(levels[1], 2)]),
    )


@pytest.mark.parametrize("segments", [None, 5])
def test_scheme_rejects_non_iterable_segments(segments: object) -> None:
    """A non-iterable segments value is rejected with a ValidationError at ``segments``."""
    raises_at("segments", lambda: CodeScheme("x", segments))  # type: ignore[arg-type]


LETTER_SCHEME = CodeScheme(
    "lettered",
    [
        Segment(GridLevel.COMMUNITY, 2, "[A-Z]"),
        Segment(GridLevel.GRID, 3),
        Segment(GridLevel.BUILDING, 2, "[0-9A-F]"),
    ],
    separator=".",
)


@st.composite
def lettered_codes(draw: st.DrawFn) -> tuple[str, str, str]:
    """Draw the three segments of a code under LETTER_SCHEME."""
    return (
        draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)),
        draw(st.text(DIGITS, min_size=3, max_size=3)),
        draw(st.text("0123456789ABCDEF", min_size=2, max_size=2)),
    )


@given(lettered_codes())
def test_custom_scheme_with_separator(parts: tuple[str, str, str]) -> None:
    """With a separator and custom alphabets, codes check, have a level and extend their parent."""
    community, grid, building = ".".join(parts[:1]), ".".join(parts[:2]), ".".join(parts)
    LETTER_SCHEME.check(building, GridLevel.BUILDING)
    assert [2, 6, 9] == [LETTER_SCHEME.length(lv) for lv in LETTER_SCHEME.levels]
    assert len(building) == LETTER_SCHEME.length(GridLevel.BUILDING)
    assert GridLevel.COMMUNITY == LETTER_SCHEME.level_of(community)
    assert GridLevel.GRID == LETTER_SCHEME.level_of(grid)
    assert GridLevel.BUILDING == LETTER_SCHEME.level_of(building)
    assert grid == LETTER_SCHEME.parent_code(building)
    assert community == LETTER_SCHEME.parent_code(grid)
    assert LETTER_SCHEME.parent_code(community) is None
    assert LETTER_SCHEME.extends(grid, building)
    assert not LETTER_SCHEME.extends(community, building)


@given(lettered_codes(), st.sampled_from("x-/_ "))
def test_custom_scheme_separator_is_literal(parts: tuple[str, str, str], other: str) -> None:
    """The separator is matched literally: a '.' separator is not a regex wildcard."""
    raises_at("", lambda: LETTER_SCHEME.check(other.join(parts), GridLevel.BUILDING))


@given(lettered_codes())
def test_custom_scheme_enforces_the_alphabet(parts: tuple[str, str, str]) -> None:
    """Lower-case letters break the [A-Z] alphabet of the community segment."""
    code = ".".join([parts[0].lower(), *parts[1:]])
    raises_at("", lambda: LETTER_SCHEME.check(code, GridLevel.BUILDING))
    assert not LETTER_SCHEME.extends(".".join([parts[0].lower(), parts[1]]), code)


def test_scheme_equality_ignores_compiled_patterns() -> None:
    """Two schemes built alike are equal and hash alike."""
    again = CodeScheme("lettered", LETTER_SCHEME.segments, separator=".")
    assert LETTER_SCHEME == again
    assert hash(LETTER_SCHEME) == hash(again)
