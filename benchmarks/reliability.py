"""Units of work racing over rules that span records: what each store keeps, locks on and off.

Run: ``python -m benchmarks.reliability [--each 200] [--rounds 50] [--postgres URL] [--mysql URL]``

Issue 16 measured it first: workers registering distinct residents onto one occurrence with 10
places confirmed up to 17. Here, in one run and for every store given:

- **capacity 10**: 8 threads (and 4 processes, on the stores other processes can open)
  register ``--each`` residents each, one unit of work per registration, retried on a
  ``ConflictError`` a retry can help. Exactly 10 must be confirmed;
- **capacity 1**: 8 threads each register one resident at once (a barrier), ``--rounds``
  times; a round is broken when more than one is confirmed;
- **overlap**: 8 threads register one resident at once for 8 activities at the same hour; a
  round is broken when the resident holds more than one;
- **shift**: 8 threads sign 8 volunteers up at once for a shift needing one; a round is broken
  when more than one is signed up.

The baseline is the same races with the locks turned off (``uow.locks.hold`` does nothing: the
read-then-write issue 16 found), in threads only (a child process would not inherit the
switch). The ratio is the time per registration with the locks against without.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import multiprocessing
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum

from gridgov.adapters import _sql, memory
from gridgov.bootstrap import open_store
from gridgov.calendar import Period, WorkCalendar
from gridgov.errors import ConflictError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident
from gridgov.ports import Store
from gridgov.scheduling.registrations import RegistrationState
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Space, Venue
from gridgov.scheduling.volunteers import Shift, SignUpState
from gridgov.services.scheduling import register, sign_up

START = pendulum.datetime(2027, 3, 6, 9, 0, tz="Asia/Shanghai")
BEFORE = START.subtract(days=2)
BUILDING = "610102003001001001"
THREADS, PROCESSES = 8, 4
_OPEN = WorkCalendar(
    years=(2026, 2027), hours=dict.fromkeys(range(7), (Period(dt.time(8), dt.time(21)),))
)


def populate(store: Store, residents: int) -> None:
    """Commit the cells, ``residents`` one-person households and a venue."""
    codes = ["610102", "610102003", "610102003001", "610102003001001", BUILDING]
    levels = list(GridLevel)
    with store() as uow:
        for i, code in enumerate(codes):
            uow.cells.add(GridCell(code, f"单元{i}", levels[i], codes[i - 1] if i else None))
        for i in range(residents):
            member = Resident(f"p{i}", f"居民{i}", birth_date=pendulum.Date(1950, 1, 1))
            uow.households.add(Household(f"h{i}", BUILDING, Address(f"{i}号"), members=[member]))
        uow.venues.add(Venue("v", "活动中心", codes[3], _OPEN, [Space("s", "活动室", 100)]))
        uow.commit()


def add_activity(store: Store, sid: str, capacity: int, day: int) -> pendulum.DateTime:
    """Commit a one-off activity with ``capacity`` places on its own ``day``; return its start.

    A day each, so that registering the same residents again is never an overlap.
    """
    start = START.add(days=day)
    with store() as uow:
        uow.series.add(ActivitySeries(sid, "讲座", "w", "v", "s", start, 90, capacity=capacity))
        uow.commit()
    return start


def _retried(work: Callable[[], None]) -> bool:
    """Run ``work`` until it commits or meets a conflict a retry cannot help; return which."""
    for _ in range(500):
        try:
            work()
            return True
        except ConflictError as exc:
            if not exc.retryable:
                return False  # the rule refused it: a retry would be refused again
            time.sleep(0.002)
    raise ConflictError("still conflicting after 500 attempts")


def register_one(store: Store, sid: str, start: pendulum.DateTime, resident: str) -> None:
    """Register ``resident`` in a unit of work of its own, retried while it conflicts."""

    def once() -> None:
        with store() as uow:
            register(uow, series_id=sid, original_start=start, resident_id=resident, at=BEFORE)
            uow.commit()

    _retried(once)


def sign_one(store: Store, shift: str, resident: str) -> None:
    """Sign ``resident`` up for ``shift`` in a unit of work of its own, retried likewise."""

    def once() -> None:
        with store() as uow:
            sign_up(uow, shift_id=shift, resident_id=resident, at=BEFORE)
            uow.commit()

    _retried(once)


def confirmed(store: Store, sid: str, start: pendulum.DateTime) -> int:
    """Return how many registrations of the activity are confirmed."""
    with store() as uow:
        first = uow.series.get(sid).occurrence(start, calendar=_OPEN).id
        return sum(
            r.state is RegistrationState.CONFIRMED for r in uow.registrations.for_occurrence(first)
        )


def _threads(n: int, work: Callable[[int], None]) -> None:
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        gate.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _process_worker(
    url: str, sid: str, start: pendulum.DateTime, residents: list[str], gate_at: float
) -> None:
    store = open_store(url)
    time.sleep(max(0.0, gate_at - time.time()))
    for r in residents:
        register_one(store, sid, start, r)
    store.close()


def _processes(url: str, sid: str, start: pendulum.DateTime, batches: list[list[str]]) -> None:
    ctx = multiprocessing.get_context("spawn")
    gate_at = time.time() + 3.0  # past every child's start-up
    procs = [
        ctx.Process(target=_process_worker, args=(url, sid, start, b, gate_at)) for b in batches
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


@contextlib.contextmanager
def locks_off() -> Iterator[None]:
    """Turn every store's ``locks.hold`` into a no-op: the baseline's read-then-write."""
    saved = (memory.MemoryLockRepository.hold, _sql.SqlLockRepository.hold)

    def nothing(self: object, name: str) -> None:
        return None

    memory.MemoryLockRepository.hold = nothing  # type: ignore[method-assign]
    _sql.SqlLockRepository.hold = nothing  # type: ignore[method-assign]
    try:
        yield
    finally:
        memory.MemoryLockRepository.hold, _sql.SqlLockRepository.hold = saved  # type: ignore[method-assign]


def active(store: Store, resident: str, start: pendulum.DateTime) -> int:
    """Return how many active registrations ``resident`` holds around ``start``."""
    with store() as uow:
        held = uow.registrations.for_resident(resident, start=start, end=start.add(hours=2))
        return sum(r.is_active for r in held)


def signed(store: Store, shift: str) -> int:
    """Return how many volunteers are signed up for ``shift``."""
    with store() as uow:
        return sum(s.state is SignUpState.SIGNED_UP for s in uow.signups.for_shift(shift))


class Races:
    """The races of one store; each activity and shift on a day of its own."""

    def __init__(self, store: Store, each: int, rounds: int) -> None:
        self.store, self.each, self.rounds = store, each, rounds
        self._days = iter(range(10_000))

    def capacity_ten(self, tag: str) -> tuple[int, float]:
        """Return the confirmed count and the seconds per registration of the threads' race."""
        sid = f"ten{tag}"
        start = add_activity(self.store, sid, 10, next(self._days))

        def batch(i: int) -> None:
            for j in range(self.each):
                register_one(self.store, sid, start, f"p{i * self.each + j}")

        began = time.perf_counter()
        _threads(THREADS, batch)
        seconds = (time.perf_counter() - began) / (THREADS * self.each)
        return confirmed(self.store, sid, start), seconds

    def _register_at_once(
        self, sids: list[str], start: pendulum.DateTime, residents: list[str]
    ) -> None:
        """Let thread ``i`` register ``residents[i]`` for ``sids[i]``, all at once."""
        _threads(THREADS, lambda i: register_one(self.store, sids[i], start, residents[i]))

    def capacity_one(self, tag: str) -> int:
        """Return the rounds in which more than one resident got the single place."""
        broken = 0
        for k in range(self.rounds):
            sid = f"one{tag}{k}"
            start = add_activity(self.store, sid, 1, next(self._days))
            self._register_at_once([sid] * THREADS, start, [f"p{i}" for i in range(THREADS)])
            broken += confirmed(self.store, sid, start) > 1
        return broken

    def overlap(self, tag: str) -> int:
        """Return the rounds in which one resident got two activities at the same hour."""
        broken = 0
        for k in range(self.rounds):
            day = next(self._days)
            sids = [f"ov{tag}{k}x{i}" for i in range(THREADS)]
            start = next(add_activity(self.store, sid, 100, day) for sid in sids)
            for sid in sids[1:]:
                add_activity(self.store, sid, 100, day)
            self._register_at_once(sids, start, ["p0"] * THREADS)
            broken += active(self.store, "p0", start) > 1
        return broken

    def shift(self, tag: str) -> int:
        """Return the rounds in which a shift needing one volunteer got more."""
        broken = 0
        for k in range(self.rounds):
            shift = f"sh{tag}{k}"
            start = START.add(days=next(self._days))
            with self.store() as uow:
                uow.shifts.add(Shift(shift, "v", "志愿服务", start, start.add(hours=2), 1))
                uow.commit()
            self._sign_up_at_once(shift)
            broken += signed(self.store, shift) > 1
        return broken

    def _sign_up_at_once(self, shift: str) -> None:
        """Let thread ``i`` sign resident ``p<i>`` up for ``shift``, all at once."""
        _threads(THREADS, lambda i: sign_one(self.store, shift, f"p{i}"))

    def processes(self, url: str) -> int:
        """Return the confirmed count of the processes' race onto 10 places."""
        start = add_activity(self.store, "tenproc", 10, next(self._days))
        names = [f"p{i}" for i in range(PROCESSES * self.each)]
        _processes(url, "tenproc", start, [names[i::PROCESSES] for i in range(PROCESSES)])
        return confirmed(self.store, "tenproc", start)


def measure(name: str, url: str, each: int, rounds: int, processes: bool) -> list[str]:
    """Return the table rows of one store."""
    store = open_store(url)
    populate(store, THREADS * each)
    races = Races(store, each, rounds)
    rows = []
    seconds: dict[bool, float] = {}
    for locked in (False, True):
        tag = "on" if locked else "off"
        with contextlib.nullcontext() if locked else locks_off():
            ten, seconds[locked] = races.capacity_ten(tag)
            one, overlap, shift = races.capacity_one(tag), races.overlap(tag), races.shift(tag)
        rows.append(
            f"| {name} | {'locks' if locked else 'no locks (baseline)'} "
            f"| {THREADS} threads x {each}: {ten} of 10 | {one} of {rounds} "
            f"| {overlap} of {rounds} | {shift} of {rounds} |"
        )
    if processes:
        rows.append(
            f"| {name} | locks | {PROCESSES} processes x {each}: {races.processes(url)} of 10 "
            "| | | |"
        )
    store.close()
    rows.append(
        f"| {name} | time per registration, locks / no locks: "
        f"{seconds[True] * 1000:.2f} / {seconds[False] * 1000:.2f} ms "
        f"= {seconds[True] / seconds[False]:.2f}x | | | | |"
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the races on every store given and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--each", type=int, default=200, help="registrations per worker")
    parser.add_argument("--rounds", type=int, default=50, help="rounds of each small race")
    parser.add_argument("--postgres", help="a PostgreSQL URL; a schema of its own is made")
    parser.add_argument("--mysql", help="a MariaDB/MySQL URL (server only; a database is made)")
    args = parser.parse_args(argv)
    rows = [
        "| store | locks | capacity 10: confirmed | capacity 1: rounds broken "
        "| overlap: rounds broken | shift: rounds broken |",
        "|---|---|---|---|---|---|",
    ]
    rows += measure("memory", "memory://", args.each, args.rounds, processes=False)
    with tempfile.TemporaryDirectory() as tmp:
        rows += measure(
            "SQLite", f"sqlite:///{Path(tmp) / 'race.db'}", args.each, args.rounds, True
        )
    run = uuid.uuid4().hex[:8]
    if args.postgres:
        schema = f"bench_race_{run}"
        url = f"{args.postgres}?schema={schema}"
        try:
            rows += measure("PostgreSQL", url, args.each, args.rounds, True)
        finally:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    if args.mysql:
        database = f"bench_race_{run}"
        try:
            rows += measure(
                "MariaDB", f"{args.mysql.rstrip('/')}/{database}", args.each, args.rounds, True
            )
        finally:
            import pymysql

            server = pymysql.connect(host="127.0.0.1", user="root")
            server.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
            server.close()
    print("\n".join(rows))


if __name__ == "__main__":
    main()
