"""Tests for gridgov.errors, gridgov.clock, the field validators and the open vocabularies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov import _validation as v
from gridgov._vocab import Term
from gridgov.clock import Clock, ManualClock, SystemClock, ensure_aware
from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    GridgovError,
    NotFoundError,
    StorageError,
    TransitionError,
    UnsupportedStoreError,
    ValidationError,
    join_path,
)


def raises_at(path: str, call: Callable[[], object]) -> ValidationError:
    """Run ``call``, check it raises a ValidationError at ``path`` and return the error."""
    with pytest.raises(ValidationError) as info:
        call()
    assert path == info.value.path
    return info.value


# --- errors -------------------------------------------------------------------------------


def test_validation_error_carries_path_and_problem() -> None:
    """A ValidationError exposes its path, problem and a single-entry problems tuple."""
    err = ValidationError("members[0].name", "must not be empty")
    assert "members[0].name" == err.path
    assert "must not be empty" == err.problem
    assert err.source is None
    assert (("members[0].name", "must not be empty"),) == err.problems
    assert "members[0].name: must not be empty" == str(err)


def test_validation_error_without_path_shows_problem_only() -> None:
    """An empty path leaves only the problem in the message."""
    assert "bad check" == str(ValidationError("", "bad check"))


def test_validation_error_counts_extra_problems() -> None:
    """Several problems are summarised by a count after the first."""
    err = ValidationError("a", "x", problems=[("a", "x"), ("b", "y"), ("c", "z")])
    assert "a: x (and 2 more problem(s))" == str(err)
    assert 3 == len(err.problems)


def test_validation_error_is_a_value_error_and_gridgov_error() -> None:
    """ValidationError can be caught as ValueError or as GridgovError."""
    err = ValidationError("p", "q")
    assert isinstance(err, ValueError)
    assert isinstance(err, GridgovError)


def test_within_nests_every_path() -> None:
    """within() prefixes the path of the error and of every listed problem."""
    err = ValidationError("name", "empty", problems=[("name", "empty"), ("[2]", "bad")])
    nested = err.within("members[0]")
    assert "members[0].name" == nested.path
    assert "empty" == nested.problem
    assert (("members[0].name", "empty"), ("members[0][2]", "bad")) == nested.problems


def test_within_an_empty_path_gives_the_prefix() -> None:
    """An error with an empty path nested within ``code`` is at ``code``."""
    assert "code" == ValidationError("", "bad").within("code").path


def test_within_keeps_the_source() -> None:
    """within() keeps the source the error came from."""
    err = ValidationError("x", "bad", source="ledger.csv").within("rows[3]")
    assert "ledger.csv" == err.source
    assert "ledger.csv: rows[3].x: bad" == str(err)


def test_from_source_names_the_input() -> None:
    """from_source() puts the file name in front of the message and keeps the path."""
    err = ValidationError("cells[1].code", "duplicate").from_source("grids.json")
    assert "grids.json" == err.source
    assert "cells[1].code" == err.path
    assert "grids.json: cells[1].code: duplicate" == str(err)


@pytest.mark.parametrize(
    ("prefix", "path", "expected"),
    [
        ("", "a", "a"),
        ("a", "", "a"),
        ("a", "b", "a.b"),
        ("a[1]", "b", "a[1].b"),
        ("a", "[1]", "a[1]"),
        ("", "", ""),
    ],
)
def test_join_path(prefix: str, path: str, expected: str) -> None:
    """join_path() joins with a dot, except before an index."""
    assert expected == join_path(prefix, path)


def test_not_found_error_names_kind_and_key() -> None:
    """NotFoundError keeps kind and key and is a LookupError."""
    err = NotFoundError("household", "hh-1")
    assert "household" == err.kind
    assert "hh-1" == err.key
    assert "household 'hh-1' not found" == str(err)
    assert isinstance(err, LookupError)
    assert isinstance(err, GridgovError)


@pytest.mark.parametrize(
    "cls",
    [
        ConflictError,
        AccessDeniedError,
        CalendarCoverageError,
        TransitionError,
        StorageError,
        UnsupportedStoreError,
    ],
)
def test_every_error_derives_from_gridgov_error(cls: type[Exception]) -> None:
    """Each public error class is a GridgovError."""
    assert issubclass(cls, GridgovError)


def test_unsupported_store_error_is_a_value_error() -> None:
    """UnsupportedStoreError can be caught as ValueError."""
    assert issubclass(UnsupportedStoreError, ValueError)


@given(st.text(max_size=20), st.text(min_size=1, max_size=20))
def test_within_then_path_starts_with_prefix(path: str, prefix: str) -> None:
    """After within(prefix) the path always starts with the prefix."""
    assert ValidationError(path, "p").within(prefix).path.startswith(prefix)


# --- clock --------------------------------------------------------------------------------


def test_system_clock_is_a_clock() -> None:
    """SystemClock satisfies the runtime-checkable Clock protocol."""
    assert isinstance(SystemClock(), Clock)


def test_a_fake_clock_is_a_clock() -> None:
    """Any object with now() and today() satisfies the Clock protocol."""
    assert isinstance(ManualClock(pendulum.datetime(2024, 5, 1, tz="Asia/Shanghai")), Clock)


def test_an_object_without_today_is_not_a_clock() -> None:
    """An object lacking today() does not satisfy the Clock protocol."""

    class NowOnly:
        def now(self) -> pendulum.DateTime:
            return pendulum.now("UTC")

    assert not isinstance(NowOnly(), Clock)


def test_system_clock_defaults_to_shanghai() -> None:
    """The default SystemClock tells tz-aware instants at UTC+8."""
    now = SystemClock().now()
    assert "Asia/Shanghai" == now.timezone_name
    assert dt.timedelta(hours=8) == now.utcoffset()


def test_system_clock_now_is_current() -> None:
    """now() is within a minute of the real current instant."""
    assert abs((SystemClock("UTC").now() - pendulum.now("UTC")).total_seconds()) < 60


def test_system_clock_uses_the_given_zone() -> None:
    """A SystemClock built for UTC reports UTC instants."""
    assert "UTC" == SystemClock("UTC").now().timezone_name


def test_system_clock_today_is_the_local_date() -> None:
    """today() is the date of now() in the clock's zone (bracketed to survive midnight)."""
    clock = SystemClock("Asia/Shanghai")
    before = clock.now().date()
    today = clock.today()
    after = clock.now().date()
    assert today in (before, after)
    assert isinstance(today, pendulum.Date)
    assert not isinstance(today, pendulum.DateTime)


def test_system_clock_repr_names_the_zone() -> None:
    """The repr shows the time zone name."""
    assert "SystemClock(tz='Asia/Shanghai')" == repr(SystemClock())


def test_system_clock_rejects_unknown_zone_with_validation_error() -> None:
    """An unknown IANA zone name is rejected with a ValidationError naming ``tz``."""
    raises_at("tz", lambda: SystemClock("Nowhere/Atlantis"))


def test_ensure_aware_returns_an_aware_datetime() -> None:
    """ensure_aware returns the very DateTime it was given."""
    at = pendulum.datetime(2024, 5, 1, 9, 30, tz="Asia/Shanghai")
    assert at is ensure_aware(at, "at")


def test_ensure_aware_accepts_a_fixed_offset() -> None:
    """A DateTime with a fixed UTC offset is aware."""
    at = pendulum.datetime(2024, 5, 1, tz=pendulum.FixedTimezone(8 * 3600))
    assert at == ensure_aware(at, "at")


def test_ensure_aware_rejects_naive() -> None:
    """A naive DateTime is rejected, naming the field."""
    err = raises_at("reported_at", lambda: ensure_aware(pendulum.naive(2024, 5, 1), "reported_at"))
    assert "naive" in err.problem


@pytest.mark.parametrize(
    "value",
    [
        None,
        "2024-05-01T09:00:00+08:00",
        pendulum.Date(2024, 5, 1),
        dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        1714525200,
    ],
)
def test_ensure_aware_rejects_non_pendulum_values(value: object) -> None:
    """Anything but a pendulum DateTime is rejected with the field name."""
    raises_at("at", lambda: ensure_aware(value, "at"))


# --- field validators ---------------------------------------------------------------------


@attrs.frozen
class Probe:
    """A record whose only field's attribute is handed to validators under test."""

    field: Any


ATTR = attrs.fields(Probe).field


def check(validator: v.Validator, value: object) -> None:
    """Run ``validator`` on ``value`` as if for the ``field`` attribute."""
    validator(None, ATTR, value)


def test_instance_of_accepts_an_instance() -> None:
    """instance_of accepts an instance of the type."""
    check(v.instance_of(int), 3)
    check(v.instance_of((int, str)), "x")


@pytest.mark.parametrize(
    ("t", "value", "problem"),
    [
        (int, "3", "expected int, got str"),
        (int, True, "expected int, got bool"),
        ((int, float), None, "expected int or float, got NoneType"),
    ],
)
def test_instance_of_rejects_with_field_name(
    t: type | tuple[type, ...], value: object, problem: str
) -> None:
    """instance_of rejects other types (and bool for int) naming the field."""
    err = raises_at("field", lambda: check(v.instance_of(t), value))
    assert problem == err.problem


def test_not_found_shows_the_start_of_a_long_key() -> None:
    """A key of any length is kept whole, and its message shows its first 64 characters."""
    key = "k" * 100_000
    err = NotFoundError("household", key)
    expected = (key, f"household '{'k' * 64}'... (100,000 characters) not found")
    assert expected == (err.key, str(err))


def test_text_keeps_tabs_line_breaks_and_paired_characters() -> None:
    """Tabs, line breaks and characters beyond the BMP are ordinary text."""
    check(v.text(20), "第一行\n第二行\t𠀀")


def test_instance_of_accepts_bool_when_asked() -> None:
    """A bool passes where bool is one of the accepted types."""
    check(v.instance_of((bool, int)), True)


def test_optional_accepts_none_and_checks_the_rest() -> None:
    """optional() lets None through and defers to the inner validator otherwise."""
    check(v.optional(v.instance_of(int)), None)
    raises_at("field", lambda: check(v.optional(v.instance_of(int)), "x"))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (5, "expected a string, got int"),
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (" a", "must not start or end with whitespace"),
        ("a\n", "must not start or end with whitespace"),
        ("abcdef", "longer than 5 characters"),
        ("a\x00b", "contains a control character or an unpaired surrogate"),
        ("a\x1bb", "contains a control character or an unpaired surrogate"),
        ("a\x7fb", "contains a control character or an unpaired surrogate"),
        ("a\ud800b", "contains a control character or an unpaired surrogate"),
    ],
)
def test_text_rejects(value: object, problem: str) -> None:
    """text() rejects non-strings, blanks, padded, over-long and unstorable strings."""
    err = raises_at("field", lambda: check(v.text(5), value))
    assert problem == err.problem


def test_text_accepts_bounded_strings() -> None:
    """text() accepts a string of exactly the maximum length and, when allowed, an empty one."""
    check(v.text(5), "abcde")
    check(v.text(5, allow_empty=True), "")


def test_text_error_does_not_echo_the_value() -> None:
    """A rejected text value (personal data) does not appear in the message."""
    err = raises_at("field", lambda: check(v.text(3), "Tian Lin"))
    assert "Tian Lin" not in str(err)


@pytest.mark.parametrize("value", ["a", "hh-0001", "r_1.2:x", "A" * 64, "0"])
def test_identifier_accepts(value: str) -> None:
    """Record keys of 1-64 letters, digits and -_.: starting alphanumerically pass."""
    check(v.identifier, value)


@pytest.mark.parametrize("value", ["", "-a", "a b", "A" * 65, "户1", "a/b", 7, None])
def test_identifier_rejects(value: object) -> None:
    """Empty, long, badly started, odd-character or non-string record keys fail."""
    raises_at("field", lambda: check(v.identifier, value))


def test_collection_of_accepts_tuples_and_frozensets() -> None:
    """collection_of accepts a tuple or frozenset of the element type."""
    check(v.collection_of(int), (1, 2))
    check(v.collection_of(int), frozenset({1, 2}))
    check(v.collection_of(int), ())


def test_collection_of_rejects_a_list() -> None:
    """collection_of rejects a non-collection, naming the field."""
    err = raises_at("field", lambda: check(v.collection_of(int), [1]))
    assert "expected a collection, got list" == err.problem


def test_collection_of_names_the_bad_element() -> None:
    """collection_of names the index of the first bad element."""
    raises_at("field[2]", lambda: check(v.collection_of(int), (1, 2, "3")))


@pytest.mark.parametrize(
    ("value", "path"), [(0, None), (7, None), (-1, "field"), (True, "field"), (1.0, "field")]
)
def test_non_negative_int(value: object, path: str | None) -> None:
    """non_negative_int accepts ints >= 0 and rejects negatives, bools and floats."""
    if path is None:
        check(v.non_negative_int, value)
    else:
        raises_at(path, lambda: check(v.non_negative_int, value))


def test_date_accepts_a_pendulum_date() -> None:
    """The date validator accepts a pendulum Date."""
    check(v.date, pendulum.Date(2024, 2, 29))


@pytest.mark.parametrize(
    "value", [dt.date(2024, 1, 1), pendulum.datetime(2024, 1, 1), "2024-01-01", None]
)
def test_date_rejects_other_values(value: object) -> None:
    """The date validator rejects stdlib dates, DateTimes, strings and None."""
    raises_at("field", lambda: check(v.date, value))


def test_aware_datetime() -> None:
    """aware_datetime accepts aware DateTimes and rejects naive ones and other types."""
    check(v.aware_datetime, pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"))
    raises_at("field", lambda: check(v.aware_datetime, pendulum.naive(2024, 1, 1)))
    raises_at("field", lambda: check(v.aware_datetime, dt.datetime(2024, 1, 1, tzinfo=dt.UTC)))


def test_to_tuple_converts_iterables_but_not_strings() -> None:
    """to_tuple turns lists and generators into tuples and leaves strings and scalars alone."""
    assert (1, 2) == v.to_tuple([1, 2])
    assert (0, 1) == v.to_tuple(x for x in range(2))
    kept: object = v.to_tuple("ab")
    assert "ab" == kept
    scalar: object = v.to_tuple(5)  # type: ignore[arg-type]
    assert 5 == scalar


def test_to_frozenset_converts_and_leaves_unhashables() -> None:
    """to_frozenset converts iterables, leaves strings and lists of unhashables alone."""
    assert frozenset({1, 2}) == v.to_frozenset([1, 2, 2])
    kept: object = v.to_frozenset("ab")
    assert "ab" == kept
    unhashable = [[1]]
    left: object = v.to_frozenset(unhashable)
    assert unhashable is left


# --- open vocabularies --------------------------------------------------------------------


class Colour(Term):
    """A vocabulary declared only for these tests."""


RED = Colour.builtin("red", "red", "红")
GREEN = Colour.builtin("green", "green", "绿")


class Shape(Term):
    """A second vocabulary, to check tables are kept apart."""


ROUND = Shape.builtin("round", "round", "圆")


def test_builtin_values_carry_labels() -> None:
    """A built-in value knows its English and Chinese labels."""
    assert "red" == RED.label_en
    assert "红" == RED.label_zh
    assert RED.is_builtin


def test_custom_values_are_labelled_by_code() -> None:
    """A platform-defined value is accepted and labelled by its code."""
    teal = Colour("teal_2")
    assert not teal.is_builtin
    assert "teal_2" == teal.label_en
    assert "teal_2" == teal.label_zh


def test_builtins_in_declaration_order_per_vocabulary() -> None:
    """builtins() lists a vocabulary's own values in declaration order only."""
    assert (RED, GREEN) == Colour.builtins()
    assert (ROUND,) == Shape.builtins()


def test_terms_equal_by_code_within_one_vocabulary() -> None:
    """Two values with the same code and class are equal and hash alike."""
    assert RED == Colour("red")
    assert hash(RED) == hash(Colour("red"))
    assert {RED} == {Colour("red")}


def test_terms_of_different_vocabularies_differ() -> None:
    """Values of different vocabularies are unequal even with the same code."""
    same_code: object = Colour("round")
    assert ROUND != same_code


def test_term_str_and_repr() -> None:
    """str() is the code; repr() names the vocabulary."""
    assert "red" == str(RED)
    assert "Colour('red')" == repr(RED)


def test_terms_order_by_code() -> None:
    """Values of one vocabulary sort by code."""
    assert [GREEN, RED] == sorted([RED, GREEN])


@pytest.mark.parametrize("code", ["", "Red", "1red", "red-x", "red x", "a" * 49, "红"])
def test_term_rejects_malformed_codes(code: str) -> None:
    """A code that is not 1-48 lower-case snake_case characters raises ValidationError."""
    with pytest.raises(ValidationError):
        Colour(code)


def test_term_rejects_non_string_code() -> None:
    """A non-string code raises ValidationError, not TypeError."""
    with pytest.raises(ValidationError):
        Colour(3)  # type: ignore[arg-type]


def test_term_accepts_48_character_code() -> None:
    """A code of exactly 48 characters is accepted."""
    assert 48 == len(Colour("a" * 48).code)


@given(st.from_regex(r"[a-z][a-z0-9_]{0,47}", fullmatch=True))
def test_any_snake_case_code_round_trips(code: str) -> None:
    """Any well-formed code builds a value whose str is the code."""
    assert code == str(Colour(code))


def test_the_public_namespace_resolves_every_name_on_first_use() -> None:
    """Each name of ``gridgov.__all__`` is there, imported lazily; others are AttributeErrors."""
    import importlib.metadata

    import gridgov

    found = {name: getattr(gridgov, name) for name in gridgov.__all__}
    assert (importlib.metadata.version("gridgov"), sorted(gridgov.__all__)) == (
        found["__version__"],
        dir(gridgov),
    )
    assert "gridgov.grid" == found["GridCell"].__module__
    assert {*gridgov._LAZY, "__version__"} == set(gridgov.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        gridgov.Nothing  # type: ignore[attr-defined]  # noqa: B018


def test_system_clock_can_run_from_a_given_instant() -> None:
    """Started at a scenario's morning, the clock runs on from there at the system's pace."""
    morning = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
    clock = SystemClock(starting_at=morning)
    first, second = clock.now(), clock.now()
    assert (pendulum.Date(2026, 11, 28), "Asia/Shanghai") == (clock.today(), first.timezone_name)
    assert morning <= first <= second < morning.add(minutes=1)


def test_system_clock_refuses_a_naive_start() -> None:
    """A start without a time zone is a ValidationError on starting_at."""
    with pytest.raises(ValidationError) as info:
        SystemClock(starting_at=pendulum.naive(2026, 11, 28, 9))
    assert "starting_at" == info.value.path
