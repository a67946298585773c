"""Tests for gridgov.ids (sortable, collision-free ids) and ConflictError's retry advice."""

from __future__ import annotations

import datetime as dt
import pickle
import threading

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.errors import ConflictError, ValidationError
from gridgov.ids import new_id
from gridgov.services._common import retried

AT = pendulum.datetime(2026, 11, 27, 9, 0, 0, tz="Asia/Shanghai")
CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def test_an_id_is_prefix_utc_millisecond_and_16_base32_characters() -> None:
    """``case.<YYYYMMDDHHMMSSmmm in UTC>.<16 Crockford characters>``, 39 characters in all."""
    key = new_id("case", AT.add(microseconds=123_456))

    prefix, instant, bits = key.split(".")
    assert ("case", "20261127010000123", 16, True, 39) == (
        prefix,
        instant,
        len(bits),
        set(bits) <= CROCKFORD,
        len(key),
    )


def test_ids_of_one_instant_are_distinct_and_sorted_as_made() -> None:
    """200 ids of the same millisecond are 200 distinct ids, sorting in the order made."""
    keys = [new_id("case", AT) for _ in range(200)]

    assert (200, keys) == (len(set(keys)), sorted(keys))


def test_ids_made_by_threads_at_once_are_distinct() -> None:
    """8 threads making 500 ids each of one instant make 4,000 distinct ids."""
    made: list[list[str]] = [[] for _ in range(8)]

    def make(out: list[str]) -> None:
        out.extend(new_id("case", AT) for _ in range(500))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert 4000 == len({k for out in made for k in out})


@settings(max_examples=50, deadline=None)
@given(
    first=st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 30)),
    later_ms=st.integers(min_value=1, max_value=10**10),
    zone=st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Asia/Kathmandu"]),
)
def test_ids_sort_by_instant_in_any_zone(first: dt.datetime, later_ms: int, zone: str) -> None:
    """An id of a later instant sorts after one of an earlier instant, whatever the zones."""
    early = pendulum.instance(first, tz="UTC")
    late = early.add(microseconds=later_ms * 1000).in_timezone(zone)

    assert [True] == [new_id("c", early) < new_id("c", late)]


def test_an_id_from_content_is_the_same_for_the_same_content_only() -> None:
    """The same content and instant give the same id; other content gives another."""
    one = new_id("c", AT, content="r1|phone|well|w1")
    again = new_id("c", AT.in_timezone("UTC"), content="r1|phone|well|w1")
    other = new_id("c", AT, content="r1|phone|no_answer|w1")

    assert (True, False) == (one == again, one == other)


@pytest.mark.parametrize(
    ("prefix", "at", "path"),
    [
        ("", AT, "prefix"),
        ("case/1", AT, "prefix"),
        ("x" * 31, AT, "prefix"),
        ("case", dt.datetime(2026, 11, 27, 9), "at"),
    ],
)
def test_a_bad_prefix_or_a_naive_instant_is_a_validation_error(
    prefix: str, at: dt.datetime, path: str
) -> None:
    """A prefix that no key can start with, or a naive instant, names the argument."""
    with pytest.raises(ValidationError) as info:
        new_id(prefix, at)

    assert path == info.value.path


def test_a_conflict_says_whether_a_retry_helps() -> None:
    """The message ends with the advice that ``retryable`` gives; the default is no retry."""
    lost = ConflictError(
        "case 'k1' is at version 2, the change was made from version 1", retryable=True
    )
    taken = ConflictError.duplicate("case", "k1")

    assert (
        (
            True,
            "case 'k1' is at version 2, the change was made from version 1; "
            "retrying the unit of work may succeed",
        ),
        (False, "case 'k1' already exists; a retry will not help", "k1"),
    ) == ((lost.retryable, str(lost)), (taken.retryable, str(taken), taken.taken))


def test_a_conflict_survives_pickling_with_its_flags() -> None:
    """A pickled conflict comes back with the same message, advice and taken key."""
    before = ConflictError("busy", retryable=True, taken="k1")

    after = pickle.loads(pickle.dumps(before))

    assert (str(before), True, "k1") == (str(after), after.retryable, after.taken)


def test_retried_runs_again_only_what_a_retry_can_fix() -> None:
    """A retryable conflict is run again until it succeeds; another is raised at once."""
    calls = {"lost": 0, "taken": 0}

    def lost() -> str:
        calls["lost"] += 1
        if calls["lost"] < 3:
            raise ConflictError("changed meanwhile", retryable=True)
        return "done"

    def taken() -> str:
        calls["taken"] += 1
        raise ConflictError.duplicate("case", "k1")

    result = retried(lost)
    with pytest.raises(ConflictError):
        retried(taken)

    assert ("done", {"lost": 3, "taken": 1}) == (result, calls)
