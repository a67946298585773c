"""The connection pool every SQL store shares, and its options.

One pool serves SQLite, PostgreSQL and MariaDB/MySQL alike (``PooledSqlStore`` owns one):

- at most ``pool_max_size`` connections are open, borrowed and idle together; a borrower that
  finds none free waits up to ``pool_timeout`` seconds, in turn (first come, first served: a
  released connection is handed to the longest waiter), then gets a StorageError;
- ``pool_min_size`` connections are opened with the store and never closed for idleness;
- a connection left idle for ``pool_max_idle`` seconds is closed while more than
  ``pool_min_size`` are open, by a reaper that runs whether or not another unit of work comes:
  a ``threading.Timer`` (a daemon thread, so it never keeps a process alive) armed only while
  there is an idle connection above the minimum, and cancelled by :meth:`ConnectionPool.close`.

The options are read from a store URL's query or given as keyword arguments; the names follow
psycopg_pool's (``min_size``, ``max_size``, ``max_idle``, ``timeout``), with the ``pool_`` prefix
SQLAlchemy gives its own (``pool_timeout``) so that they cannot be taken for a driver's.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, Protocol, TypedDict, TypeVar

import attrs

from gridgov.errors import StorageError, ValidationError

__all__ = [
    "POOL_PARAMETERS",
    "ConnectionPool",
    "PoolOptions",
    "PoolParameters",
    "PoolStatus",
    "pool_options",
    "statement_timed_out",
    "store_closed",
]

POOL_PARAMETERS = (
    "pool_max_size",
    "pool_min_size",
    "pool_max_idle",
    "pool_timeout",
    "statement_timeout",
)
"""The query parameters (and keyword arguments) a SQL store reads for its pool."""

_LISTED = ", ".join(POOL_PARAMETERS[:-1]) + f" and {POOL_PARAMETERS[-1]}"
_LONGEST = 86_400.0  # seconds: no wait, idle time or statement needs more than a day
_SIZES = ("pool_max_size", "pool_min_size")
_EXPIRED_WITHIN = 0.001  # seconds: a timer may wake this early, and then finds nothing to close


class PoolParameters(TypedDict, total=False):
    """The pool options as keyword arguments, each optional (see :class:`PoolOptions`)."""

    pool_max_size: int
    pool_min_size: int
    pool_max_idle: float
    pool_timeout: float
    statement_timeout: float


def _size(value: object, least: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= least


def _seconds(value: object, *, zero: bool) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (value >= 0 if zero else value > 0)
        and value <= _LONGEST
    )


# Each option: whether a value is valid, and what a valid value is (the problem's text).
_RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "pool_max_size": (lambda v: _size(v, 1), "a whole number of connections, at least 1"),
    "pool_min_size": (lambda v: _size(v, 0), "a whole number of connections, at least 0"),
    "pool_max_idle": (
        lambda v: _seconds(v, zero=False),
        f"a number of seconds, above 0 and at most {_LONGEST:.0f}",
    ),
    "pool_timeout": (
        lambda v: _seconds(v, zero=True),
        f"a number of seconds, 0 (fail at once) and at most {_LONGEST:.0f}",
    ),
    "statement_timeout": (
        lambda v: _seconds(v, zero=True),
        f"a number of seconds, 0 (no limit) and at most {_LONGEST:.0f}",
    ),
}


@attrs.frozen(kw_only=True)
class PoolOptions:
    """How a SQL store pools its connections and bounds its statements.

    Attributes:
        pool_max_size: Connections open at most, borrowed and idle together.
        pool_min_size: Connections opened with the store and never closed for being idle.
        pool_max_idle: Seconds a connection may stay idle before it is closed (while more than
            ``pool_min_size`` are open).
        pool_timeout: Seconds a unit of work waits for a connection when ``pool_max_size`` are
            borrowed, before a StorageError.
        statement_timeout: Seconds one statement may run before the database stops it (a
            StorageError); 0 for no limit.

    Raises:
        ValidationError: On the first option out of range, naming it.
    """

    pool_max_size: int = 10
    pool_min_size: int = 1
    pool_max_idle: float = 60.0
    pool_timeout: float = 30.0
    statement_timeout: float = 0.0

    def __attrs_post_init__(self) -> None:
        for name, (valid, problem) in _RULES.items():
            if not valid(getattr(self, name)):
                raise ValidationError(name, problem)
        if self.pool_min_size > self.pool_max_size:
            raise ValidationError("pool_min_size", f"at most pool_max_size ({self.pool_max_size})")


def _number(name: str, text: str) -> int | float:
    """Return a query parameter's text as the number it must be, else a ValidationError."""
    try:
        return int(text) if name in _SIZES else float(text)
    except ValueError:
        raise ValidationError(name, _RULES[name][1]) from None


def pool_options(
    query: Iterable[tuple[str, str]] = (), given: Mapping[str, object] | None = None
) -> tuple[PoolOptions, list[tuple[str, str]]]:
    """Return the pool options of a URL's query, overridden by keyword arguments.

    Args:
        query: The URL's query as ``(name, value)`` pairs (``urllib.parse.parse_qsl``); where a
            name repeats, its last value counts.
        given: Keyword arguments, by name; ``None`` values are not given.

    Returns:
        The options, defaults filled in, and the query's other pairs, in order.

    Raises:
        ValidationError: Naming a value out of range, or a ``pool_`` parameter gridgov does not
            know (a misspelt name must not be silently ignored).
    """
    values: dict[str, object] = {}
    rest: list[tuple[str, str]] = []
    for name, text in query:
        if name in POOL_PARAMETERS:
            values[name] = _number(name, text.strip())
        elif name.startswith("pool_"):
            raise ValidationError(name, f"unknown pool parameter; gridgov reads {_LISTED}")
        else:
            rest.append((name, text))
    for name, value in (given or {}).items():
        if name not in POOL_PARAMETERS:
            raise ValidationError(name, "not a pool parameter")
        if value is not None:
            values[name] = _number(name, value.strip()) if isinstance(value, str) else value
    return PoolOptions(**values), rest  # type: ignore[arg-type]  # checked by PoolOptions


def statement_timed_out() -> StorageError:
    """Return the error for a statement the database stopped at the store's statement_timeout."""
    return StorageError(
        "the statement ran longer than the store's statement_timeout and was stopped; the "
        "database may be overloaded, or the timeout too short for this work"
    )


@attrs.frozen
class PoolStatus:
    """A snapshot of a pool.

    Attributes:
        open: Connections open (borrowed, idle, or being opened).
        idle: Connections open and free for the next unit of work.
        waiting: Units of work waiting for a connection.
    """

    open: int
    idle: int
    waiting: int


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class _Waiter(Generic[C]):
    """A borrower waiting its turn: handed a connection, or the right to open one."""

    __slots__ = ("conn", "ready", "slot")

    def __init__(self) -> None:
        self.conn: C | None = None
        self.slot = False
        self.ready = threading.Event()


def _close_quietly(conn: _Closable) -> None:
    # A connection the server already dropped may fail to close; it is gone either way, and
    # the reaper's thread must not die of it.
    with contextlib.suppress(Exception):
        conn.close()


class ConnectionPool(Generic[C]):
    """A bounded pool of connections, thread-safe; see the module's docstring.

    Args:
        connect: Open a new connection, ready for use.
        usable: Whether an idle connection may be handed out again (else it is closed).
        options: The sizes and timeouts.
        name: Names the reaper's thread.
    """

    def __init__(
        self,
        connect: Callable[[], C],
        usable: Callable[[C], bool],
        options: PoolOptions,
        name: str,
    ) -> None:
        self._connect = connect
        self._is_usable = usable
        self._options = options
        self._name = name
        self._lock = threading.Lock()
        self._idle: deque[tuple[float, C]] = deque()  # (released at, conn), oldest first
        self._waiters: deque[_Waiter[C]] = deque()
        self._open = 0  # borrowed, idle and being opened
        self._closed = False
        self._reaper: threading.Timer | None = None

    @property
    def closed(self) -> bool:
        """Return whether :meth:`close` was called."""
        return self._closed

    def status(self) -> PoolStatus:
        """Return how many connections are open and idle, and how many borrowers wait."""
        with self._lock:
            return PoolStatus(self._open, len(self._idle), len(self._waiters))

    def adopt(self, conn: C) -> None:
        """Keep an open connection (the store's first) as idle."""
        with self._lock:
            self._open += 1
            self._idle.append((time.monotonic(), conn))

    def fill(self) -> None:
        """Open connections until ``pool_min_size`` are open."""
        while True:
            with self._lock:
                if self._closed or self._open >= self._options.pool_min_size:
                    return
                self._open += 1
            self.release(self._opened())

    def acquire(self) -> C:
        """Return an idle connection, open a new one, or wait for one to come free.

        Raises:
            StorageError: If the pool is closed, or no connection came free within
                ``pool_timeout`` seconds.
        """
        stale: list[C] = []
        waiter: _Waiter[C] | None = None
        conn: C | None = None
        with self._lock:
            self._refuse_if_closed()
            while self._idle:
                _, found = self._idle.pop()  # the most recent: the oldest ones age out
                if self._is_usable(found):
                    conn = found
                    break
                self._open -= 1
                stale.append(found)
            if conn is None:
                if self._open < self._options.pool_max_size:
                    self._open += 1
                else:
                    waiter = _Waiter()
                    self._waiters.append(waiter)
        for gone in stale:
            _close_quietly(gone)
        if conn is not None:
            return conn
        if waiter is not None:
            return self._wait(waiter)
        return self._opened()

    def _wait(self, waiter: _Waiter[C]) -> C:
        timeout = self._options.pool_timeout
        if not waiter.ready.wait(min(timeout, threading.TIMEOUT_MAX)):
            with self._lock:
                if not waiter.ready.is_set():
                    self._waiters.remove(waiter)
                    raise StorageError(
                        f"no database connection came free within {timeout:g} s "
                        f"(pool_timeout): all {self._options.pool_max_size} (pool_max_size) are "
                        "in use; the store is busy, retry later or raise pool_max_size"
                    )
        if waiter.conn is not None:
            return waiter.conn
        if waiter.slot:
            return self._opened()
        raise store_closed()  # woken by close(), with neither a connection nor a slot

    def _opened(self) -> C:
        """Open a connection for a slot already counted in ``_open``."""
        try:
            conn = self._connect()
        except BaseException:
            with self._lock:
                self._free_slot()
            raise
        with self._lock:
            closed = self._closed
            if closed:
                self._free_slot()
        if closed:
            _close_quietly(conn)
            raise store_closed()
        return conn

    def _free_slot(self) -> None:
        """Uncount a connection closed or never opened; a waiter may open one instead."""
        self._open -= 1
        if self._waiters and not self._closed:
            waiter = self._waiters.popleft()
            waiter.slot = True
            self._open += 1
            waiter.ready.set()

    def release(self, conn: C, *, broken: bool = False) -> None:
        """Give a connection back: to the longest waiter, else to the idle ones.

        A broken connection, or any connection once the pool is closed, is closed instead.
        """
        with self._lock:
            keep = not broken and not self._closed and self._is_usable(conn)
            if keep and self._waiters:
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.ready.set()
                return
            if keep:
                self._idle.append((time.monotonic(), conn))
                self._arm()
                return
            self._free_slot()
        _close_quietly(conn)

    def _arm(self) -> None:
        """Under the lock: start the reaper if an idle connection above the minimum may expire."""
        if self._reaper is not None or self._closed or not self._idle:
            return
        if self._open <= self._options.pool_min_size:
            return
        delay = self._idle[0][0] + self._options.pool_max_idle - time.monotonic()
        reaper = threading.Timer(min(max(delay, 0.0), threading.TIMEOUT_MAX), self._reap)
        reaper.daemon = True  # never keeps the process alive
        reaper.name = f"gridgov pool reaper ({self._name})"
        self._reaper = reaper
        reaper.start()

    def _reap(self) -> None:
        """Close the connections idle for ``pool_max_idle`` above the minimum; re-arm."""
        expired: list[C] = []
        with self._lock:
            self._reaper = None
            if self._closed:
                return
            limit = time.monotonic() + _EXPIRED_WITHIN - self._options.pool_max_idle
            while (
                self._idle
                and self._open > self._options.pool_min_size
                and self._idle[0][0] <= limit
            ):
                expired.append(self._idle.popleft()[1])
                self._open -= 1
            self._arm()
        for conn in expired:
            _close_quietly(conn)

    def close(self) -> None:
        """Close the idle connections and stop the reaper; borrowed ones close when given back.

        Waiting borrowers get a StorageError. Closing again does nothing.
        """
        with self._lock:
            self._closed = True
            idle = [conn for _, conn in self._idle]
            self._idle.clear()
            self._open -= len(idle)
            waiters, self._waiters = self._waiters, deque()
            reaper, self._reaper = self._reaper, None
        for waiter in waiters:
            waiter.ready.set()  # neither a connection nor a slot: it sees the pool closed
        if reaper is not None:
            reaper.cancel()
            if reaper is not threading.current_thread():
                reaper.join(timeout=5)
        for conn in idle:
            _close_quietly(conn)

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise store_closed()


def store_closed() -> StorageError:
    """Return the error for a unit of work asked of a closed store."""
    return StorageError("the store is closed; open a new one")
