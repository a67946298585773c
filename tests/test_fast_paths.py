"""The fast paths of validators and ledger cell readers accept and refuse what the slow paths do.

Each reference below is the slow path as it was written before the fast path was added: the
property runs both on the same input and compares what they return or the error they raise.
"""

from __future__ import annotations

import datetime as dt
import gc
import operator
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import _text
from gridgov import _validation as v
from gridgov.codes import NationalId, PhoneNumber, Sex, id_check_character
from gridgov.errors import ValidationError
from gridgov.households import Tag
from gridgov.ledger import _values as values
from gridgov.ledger import read_ledger
from gridgov.ledger._read import _remembered
from gridgov.ledger._values import CellError, CellValue

# What a field's validator may be handed: right and wrong types, bool among ints, subclasses.
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.sampled_from([Sex.MALE, Tag.LIVING_ALONE, Tag("platform_tag"), pendulum.Date(2000, 1, 1)]),
    st.sampled_from([pendulum.DateTime(2000, 1, 1), dt.date(2000, 1, 1), b"1", (1,)]),
)
TYPES: list[type | tuple[type, ...]] = [int, str, bool, (int, float), Tag, Sex, dt.date, object]
FULLWIDTH = "".join(chr(0xFF01 + i) for i in range(94)) + "\u3000"
CELL_TEXT = st.text(alphabet=st.sampled_from(f"{FULLWIDTH}09aX x-'　\t男女独居、高龄,;/\x00"))


def outcome(call: Callable[[], object]) -> tuple[Any, ...]:
    """Return what ``call`` returns, or the path and problem of the gridgov error it raises."""
    try:
        return ("value", call())
    except ValidationError as exc:
        return ("invalid", exc.path, exc.problem)
    except CellError as exc:
        return ("cell", exc.problem)


@attrs.define
class Holder:
    """A record whose one field a validator is told about."""

    field: object


FIELD = attrs.fields(Holder).field


def reference_instance_of(t: type | tuple[type, ...]) -> v.Validator:
    """Return instance_of as it was before its exact-type fast path."""

    def check(_inst: Any, a: attrs.Attribute[Any], value: Any) -> None:
        accepted = t if isinstance(t, tuple) else (t,)
        if not isinstance(value, t) or (isinstance(value, bool) and bool not in accepted):
            raise ValidationError(a.name, f"expected {v._type_name(t)}, got {type(value).__name__}")

    return check


def reference_optional(inner: v.Validator) -> v.Validator:
    """Return optional as it was: None, or the inner validator's call."""

    def check(inst: Any, a: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            inner(inst, a, value)

    return check


@given(st.sampled_from(TYPES), ANY_VALUE)
def test_instance_of_fast_path_agrees(t: type | tuple[type, ...], value: object) -> None:
    """instance_of and optional(instance_of) accept and refuse what the slow checks do."""
    expected = outcome(lambda: reference_instance_of(t)(None, FIELD, value))
    assert expected == outcome(lambda: v.instance_of(t)(None, FIELD, value))
    expected = outcome(lambda: reference_optional(reference_instance_of(t))(None, FIELD, value))
    assert expected == outcome(lambda: v.optional(v.instance_of(t))(None, FIELD, value))


def reference_collection_of(t: type | tuple[type, ...]) -> v.Validator:
    """Return collection_of as it was: every element checked in repr order."""

    def check(_inst: Any, a: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, tuple | frozenset):
            raise ValidationError(a.name, f"expected a collection, got {type(value).__name__}")
        items = sorted(value, key=repr) if isinstance(value, frozenset) else value
        for i, item in enumerate(items):
            if not isinstance(item, t):
                raise ValidationError(
                    f"{a.name}[{i}]", f"expected {v._type_name(t)}, got {type(item).__name__}"
                )

    return check


ELEMENTS = st.one_of(
    st.sampled_from([Tag.LIVING_ALONE, Tag.VOLUNTEER, Tag("x_y")]), st.integers(), st.text()
)


@given(
    st.sampled_from([Tag, int, (Tag, str)]),
    st.one_of(
        st.frozensets(ELEMENTS, max_size=4),
        st.lists(ELEMENTS, max_size=4).map(tuple),
        st.lists(ELEMENTS, max_size=2),
        st.none(),
    ),
)
def test_collection_of_fast_path_agrees(t: type | tuple[type, ...], value: object) -> None:
    """collection_of names the same wrong element as checking every element in order did."""
    expected = outcome(lambda: reference_collection_of(t)(None, FIELD, value))
    assert expected == outcome(lambda: v.collection_of(t)(None, FIELD, value))


def reference_text(max_length: int, allow_empty: bool) -> v.Validator:
    """Return the text validator as it was, stripping twice."""

    def check(_inst: Any, a: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str):
            raise ValidationError(a.name, f"expected a string, got {type(value).__name__}")
        if not allow_empty and not value.strip():
            raise ValidationError(a.name, "must not be empty")
        if value != value.strip():
            raise ValidationError(a.name, "must not start or end with whitespace")
        if len(value) > max_length:
            raise ValidationError(a.name, f"longer than {max_length} characters")
        if v.UNSTORABLE.search(value):
            raise ValidationError(a.name, v.UNSTORABLE_PROBLEM)

    return check


@given(st.one_of(CELL_TEXT, ANY_VALUE), st.integers(0, 6), st.booleans())
def test_text_validator_agrees(value: object, max_length: int, allow_empty: bool) -> None:
    """The text validator refuses what it did, with the same problem, first one first."""
    expected = outcome(lambda: reference_text(max_length, allow_empty)(None, FIELD, value))
    assert expected == outcome(
        lambda: v.text(max_length, allow_empty=allow_empty)(None, FIELD, value)
    )


@given(st.one_of(ANY_VALUE, st.lists(st.integers()), st.sets(st.integers())))
def test_converters_fast_path_agree(value: Any) -> None:
    """to_tuple and to_frozenset return what converting every iterable did."""

    def tuple_of(x: Any) -> Any:
        return x if isinstance(x, str | bytes) or not hasattr(x, "__iter__") else tuple(x)

    def frozenset_of(x: Any) -> Any:
        if isinstance(x, str | bytes) or not hasattr(x, "__iter__"):
            return x
        try:
            return frozenset(x)
        except TypeError:
            return x

    assert tuple_of(value) == v.to_tuple(value)
    assert frozenset_of(value) == v.to_frozenset(value)


@given(CELL_TEXT)
def test_to_halfwidth_agrees_with_the_translation(text: str) -> None:
    """to_halfwidth's scan changes nothing the full translation would have changed."""
    assert text.translate(_text._HALFWIDTH) == _text.to_halfwidth(text)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_agrees(body: str) -> None:
    """The check character from ASCII codes is ISO 7064 MOD 11-2 digit by digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    expected = "10X98765432"[sum(map(operator.mul, map(int, body), weights)) % 11]
    assert expected == id_check_character(body)


def with_check(body: str) -> str:
    """Return ``body`` with its check character."""
    return body + id_check_character(body)


ID_BODIES = st.builds(
    lambda day, seq: f"610102{day:%Y%m%d}{seq:03d}",
    st.dates(dt.date(1870, 1, 1), dt.date(2100, 12, 31)),
    st.integers(0, 999),
)
ID_TEXT = st.one_of(
    ID_BODIES.map(with_check),
    ID_BODIES.map(lambda b: b + "X"),
    st.text(alphabet="0123456789Xx- '\u3000０１２", min_size=15, max_size=20),
    st.tuples(ID_BODIES.map(with_check), st.sampled_from(["", " ", "-", "'", "x"])).map(
        lambda p: p[1] + p[0] if p[1] == "'" else p[0][:6] + p[1] + p[0][6:]
    ),
    ID_BODIES.map(lambda b: with_check(b).translate({ord(d): 0xFF10 + int(d) for d in "0123"})),
)


def reference_national_id(value: CellValue) -> NationalId:
    """Read an ID cell the slow way: every cleaning step, whatever the text."""
    assert isinstance(value, str)
    cleaned = re.sub(r"[\s\-]", "", values.to_halfwidth(value)).lstrip("'")
    try:
        return NationalId.parse(cleaned)
    except ValidationError as exc:
        raise CellError(exc.problem) from None


@given(ID_TEXT)
def test_national_id_cell_fast_path_agrees(text: str) -> None:
    """A clean 18-character ID skips the cleaning and still reads as the cleaning read it."""
    assert outcome(lambda: reference_national_id(text)) == outcome(lambda: values.national_id(text))


def reference_phone(text: str) -> PhoneNumber:
    """Parse a phone number as PhoneNumber.parse did before its fast path for mobiles."""
    cleaned = re.sub(r"[\s()]", "", text)
    for prefix in ("+86", "0086"):
        if cleaned.startswith(prefix):
            cleaned = cleaned[len(prefix) :].lstrip("-")
    digits = cleaned.replace("-", "")
    if re.fullmatch(r"1[3-9][0-9]{9}", digits):
        return PhoneNumber(digits)
    m = re.fullmatch(r"(0(?:10|2[0-9])|0[3-9][0-9]{2})-?([2-9][0-9]{6,7})", cleaned)
    if m:
        return PhoneNumber(f"{m.group(1)}-{m.group(2)}")
    return PhoneNumber(cleaned)


@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=10, max_size=12),
        st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        st.text(alphabet="0123456789+-() ", max_size=16),
    )
)
def test_phone_fast_path_agrees(text: str) -> None:
    """A mobile as stored skips the cleaning and parses as the cleaning parsed it."""
    assert outcome(lambda: reference_phone(text)) == outcome(lambda: PhoneNumber.parse(text))


def test_a_birth_date_of_today_is_accepted_and_tomorrow_refused() -> None:
    """The remembered day of the clock lets today's birth date in and keeps tomorrow's out."""
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    for day in (today - dt.timedelta(days=1), today):
        assert day == NationalId(with_check(f"610102{day:%Y%m%d}002")).birth_date
    tomorrow = with_check(f"610102{today + dt.timedelta(days=1):%Y%m%d}002")
    assert ("invalid", "", "the birth date in the ID number is in the future") == outcome(
        lambda: NationalId(tomorrow)
    )


TAGS = values.tag_names()
CONVERTERS: list[Callable[[CellValue], object]] = [
    values.text,
    values.sex,
    lambda c: values.terms(c, TAGS, "key-population tag"),
    lambda c: values.choice(c, values.STATUS, "household status"),
    values.date,
]


@given(
    st.sampled_from(range(len(CONVERTERS))),
    st.lists(
        st.one_of(
            CELL_TEXT,
            st.sampled_from(["男", "女", "独居、高龄", "空巢", "在住", "1", "2000-01-01", "x"]),
            st.sampled_from([1, 1.0, True, 0, 36526.0, dt.date(2000, 1, 1)]),
        ),
        max_size=8,
    ),
)
def test_remembered_cells_read_as_before(which: int, cells: list[CellValue]) -> None:
    """A column read through its memory gives each cell's value or problem, read twice over."""
    convert = CONVERTERS[which]
    remembered = _remembered(convert)
    for cell in [*cells, *cells]:
        assert outcome(partial(convert, cell)) == outcome(partial(remembered, cell))


def test_reading_restores_the_collector(tmp_path: Path) -> None:
    """A read pauses the garbage collector and leaves it as it found it, a failed read too."""
    from openpyxl import Workbook

    good, bad = tmp_path / "ledger.xlsx", tmp_path / "not.xlsx"
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["户号", "姓名", "网格", "楼栋"])
    sheet.append(["H1", "张三", "610102003006001", "1号楼"])
    book.save(good)
    bad.write_text("not a workbook")
    was = gc.isenabled()
    try:
        for enabled in (True, False):
            (gc.enable if enabled else gc.disable)()
            assert 1 == len(read_ledger(good).households)
            assert enabled == gc.isenabled()
            with pytest.raises(ValidationError):
                read_ledger(bad)
            assert enabled == gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
