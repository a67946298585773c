"""Merged and filtered pages: one page of several store queries under this package's cursor.

A subtree query over a cell above the scope runs once per part of the scope inside it; a query
over the whole store keeps the rows the scope may read. :func:`paged` merges such sources in the
query's order and resumes them from a cursor naming, per source, the store cursor of the page
to resume in and the position in it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, NoReturn, TypeVar

import pendulum

from gridgov.errors import ValidationError
from gridgov.ports import Page

__all__ = ["Fetch", "SortKey", "instant", "paged"]

T = TypeVar("T")

Fetch = Callable[[str | None, int], Page[T]]
"""One source of a merged query: ``(after, limit) -> page``."""

SortKey = Callable[[T], tuple[Any, ...]]
"""The documented order of a query, as a key on its rows."""

_CURSOR_PREFIX = "scoped."
_State = list[Any]  # [after, position] or None when the source is exhausted


def _encode_cursor(query: str, labels: Sequence[str], states: Sequence[_State | None]) -> str:
    raw = json.dumps([query, list(labels), list(states)], separators=(",", ":"), ensure_ascii=False)
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode("ascii").rstrip("=")


def _bad_cursor() -> NoReturn:
    raise ValidationError("after", "not a cursor returned by this query")


def _decode_cursor(
    cursor: str, query: str, labels: Sequence[str]
) -> list[tuple[str | None, int] | None]:
    if not isinstance(cursor, str) or not cursor.startswith(_CURSOR_PREFIX):
        _bad_cursor()
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, binascii.Error, UnicodeError):
        _bad_cursor()
    if (
        not isinstance(data, list)
        or len(data) != 3
        or data[0] != query
        or data[1] != list(labels)
        or not isinstance(data[2], list)
        or len(data[2]) != len(labels)
    ):
        _bad_cursor()
    states: list[tuple[str | None, int] | None] = []
    for state in data[2]:
        if state is None:
            states.append(None)
            continue
        if (
            not isinstance(state, list)
            or len(state) != 2
            or not (state[0] is None or isinstance(state[0], str))
            or not isinstance(state[1], int)
            or isinstance(state[1], bool)
            or state[1] < 0
        ):
            _bad_cursor()
        states.append((state[0], state[1]))
    return states


class _Stream(Generic[T]):
    """One source of a merged query, read page by page, with a position in the current page."""

    def __init__(
        self,
        fetch: Fetch[T],
        after: str | None,
        position: int,
        limit: int,
        keep: Callable[[T], bool] | None,
    ) -> None:
        self._fetch = fetch
        self._limit = limit
        self._keep = keep
        self._kept = -1  # the position whose row passed ``keep``
        # Re-read the page the cursor points into; a page holds at least ``position`` rows.
        self._load(after, max(limit, position))
        self.position = position

    def _load(self, after: str | None, limit: int) -> None:
        page = self._fetch(after, limit)
        self.after = after
        self._items = page.items
        self._next = page.next_cursor
        self.position = 0

    def head(self) -> T | None:
        """Return the next row to emit, fetching pages and skipping rows ``keep`` refuses."""
        while True:
            while self.position < len(self._items):
                item = self._items[self.position]
                if self._keep is None or self._kept == self.position or self._keep(item):
                    self._kept = self.position
                    return item
                self.position += 1
            if self._next is None:
                return None
            self._load(self._next, self._limit)
            self._kept = -1

    def advance(self) -> None:
        """Move past the row :meth:`head` returned."""
        self.position += 1

    def state(self) -> _State | None:
        """Return where to resume: ``[after, position]``, or ``None`` if nothing is left."""
        if self._keep is None and self.position >= len(self._items):
            # Without a filter the store's cursor tells whether more rows follow.
            return None if self._next is None else [self._next, 0]
        return None if self.head() is None else [self.after, self.position]


def paged(
    query: str,
    sources: Sequence[tuple[str, Fetch[T]]],
    *,
    limit: int,
    after: str | None,
    key: SortKey[T] | None = None,
    keep: Callable[[T], bool] | None = None,
) -> Page[T]:
    """Return one page of the rows of ``sources`` that ``keep`` accepts, merged by ``key``.

    A single source without a filter is the store's own query: its page and cursor pass through.
    Otherwise the cursor is this module's: for each source, the store cursor of the page to
    resume in and the position in it.

    Args:
        query: The query's name, checked against the cursor.
        sources: ``(label, fetch)`` per source, e.g. per scope root; the labels go in the cursor.
        limit: The page size.
        after: The cursor of the previous page.
        key: The query's order (needed with several sources).
        keep: Which rows to return.
    """
    if len(sources) == 1 and keep is None:
        return sources[0][1](after, limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError("limit", "a page size is a positive integer")
    labels = [label for label, _ in sources]
    states: list[tuple[str | None, int] | None] = (
        [(None, 0)] * len(sources) if after is None else _decode_cursor(after, query, labels)
    )
    streams = [
        None if state is None else _Stream(fetch, state[0], state[1], limit, keep)
        for (_, fetch), state in zip(sources, states, strict=True)
    ]
    rows: list[T] = []
    while len(rows) < limit:
        best: tuple[_Stream[T], T] | None = None
        best_key: tuple[Any, ...] = ()
        for stream in streams:
            row = None if stream is None else stream.head()
            if stream is None or row is None:
                continue
            row_key = () if key is None else key(row)
            if best is None or row_key < best_key:
                best, best_key = (stream, row), row_key
        if best is None:
            break
        rows.append(best[1])
        best[0].advance()
    resume = [None if s is None else s.state() for s in streams]
    cursor = None if all(s is None for s in resume) else _encode_cursor(query, labels, resume)
    return Page(tuple(rows), cursor)


def instant(value: pendulum.DateTime | None) -> str:
    """Return a sortable UTC text of an instant (the order stores sort instants in)."""
    if value is None:
        return ""
    utc = value.in_timezone("UTC")
    return f"{utc.format('YYYY-MM-DDTHH:mm:ss')}.{utc.microsecond:06d}"
