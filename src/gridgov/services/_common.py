"""Helpers the use cases share."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import pendulum

from gridgov.errors import ConflictError
from gridgov.ports import Page

T = TypeVar("T")


def pages(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
    """Yield every item of a paged query, fetching page after page."""
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page.items
        after = page.next_cursor
        if after is None:
            return


def retried(work: Callable[[], T], *, attempts: int = 3) -> T:
    """Run a unit of work again when another writer changed its records meanwhile.

    Only a conflict that says a retry can help (:attr:`ConflictError.retryable`) is retried.

    Raises:
        ConflictError: If it does not say so, or still conflicts at the last attempt.
    """
    for attempt in range(attempts):
        try:
            return work()
        except ConflictError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def stamp(instant: pendulum.DateTime) -> str:
    """Return the instant as compact UTC text for ids, e.g. ``20261129081500``."""
    # strftime on the standard-library instant: ids are made per record, pendulum formats slowly.
    return dt.datetime.astimezone(instant, dt.UTC).strftime("%Y%m%d%H%M%S")


def readable_id(readable: str) -> str:
    """Return ``readable`` if it fits a key (64 characters), else a prefix plus a digest."""
    if len(readable) <= 64:
        return readable
    # Keep the id unique with a digest rather than cutting it short.
    digest = hashlib.blake2s(readable.encode(), digest_size=6).hexdigest()
    return f"{readable[:51]}.{digest}"


def taken_id(kind: str, key: str) -> ConflictError:
    """Return the error for a caller-supplied id that names a stored record (no retry helps).

    Args:
        kind: The kind of record, e.g. ``"case"``.
        key: The id the caller supplied.
    """
    return ConflictError(
        f"{kind} id {key!r}, supplied by the caller, is already taken by a stored {kind}: "
        "send another id, or leave it out for a new one",
        taken=key,
    )
