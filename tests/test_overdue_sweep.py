"""The overdue sweep of care tasks: each open task past its due instant marked and told once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov import _json
from gridgov.adapters import _sql
from gridgov.adapters.memory import MemoryStore
from gridgov.adapters.sqlite import SqliteDialect, SqliteStore
from gridgov.adapters.support import instant_key
from gridgov.bootstrap import open_store
from gridgov.care.contacts import CareTask, TaskKind, TaskState
from gridgov.care.policy import ContactMethod
from gridgov.errors import ValidationError
from gridgov.events import TaskOverdue
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident
from gridgov.notify import Audience, NotificationPolicy, Rule
from gridgov.outbox import cloud_event
from gridgov.ports import Store
from gridgov.services.overdue import sweep_overdue
from gridgov.settings import Settings

TZ = "Asia/Shanghai"
GRID = "610102003001001"
CELLS = [
    GridCell("610102", "新城区", GridLevel.DISTRICT),
    GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
    GridCell("610102003001", "明宫社区", GridLevel.COMMUNITY, "610102003"),
    GridCell(GRID, "第一网格", GridLevel.GRID, "610102003001"),
]
START = pendulum.datetime(2026, 11, 23, 8, tz=TZ)
NOW = pendulum.datetime(2026, 11, 23, 12, tz=TZ)


def _task(
    tid: str, rid: str, due: pendulum.DateTime, state: TaskState = TaskState.OPEN, why: str = ""
) -> CareTask:
    """Return a call to ``rid`` due at ``due``, from 08:00 that day."""
    task = CareTask(
        tid,
        rid,
        f"h{rid}",
        GRID,
        TaskKind.FOLLOW_UP,
        ContactMethod.HOME_VISIT,
        START,
        due,
        due.add(days=2),
        "two missed calls: visit",
        "两次未接通：上门",
        "follow_up:missed_calls",
    )
    return attrs.evolve(task, state=state, closed_by=why)


def _population() -> list[CareTask]:
    """Return tasks around NOW (12:00): overdue, due at 12:00 exactly, later, done, cancelled."""
    return [
        _task("t1", "r1", NOW.subtract(hours=2)),
        _task("t2", "r2", NOW.subtract(minutes=1).in_timezone("UTC")),
        _task("t3", "r3", NOW.subtract(microseconds=1)),
        _task("t4", "r1", NOW),  # due, not yet overdue
        _task("t5", "r2", NOW.add(hours=1)),
        _task("t6", "r3", NOW.subtract(hours=3), TaskState.DONE, "c1"),
        _task("t7", "r1", NOW.subtract(hours=3), TaskState.CANCELLED, "moved"),
    ]


OVERDUE = ["t1", "t2", "t3"]
EVERY = [t.id for t in _population()]


def _seed(store: Store, tasks: list[CareTask] | None = None) -> None:
    """Commit the cells, three residents' households and the tasks."""
    with store() as uow:
        for cell in CELLS:
            uow.cells.add(cell)
        uow.households.add_many(
            Household(f"hr{i}", GRID, Address(f"{i}号楼"), members=(Resident(f"r{i}", "居民"),))
            for i in (1, 2, 3)
        )
        uow.care_tasks.add_many(_population() if tasks is None else tasks)
        uow.commit()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Return each store with the cells, households and tasks committed."""
    opened: Store
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "overdue.db")
    else:
        from gridgov.adapters.postgres import PostgresStore

        opened = PostgresStore(request.getfixturevalue("postgres_schema"), lock_timeout=10)
    _seed(opened)
    yield opened
    opened.close()


def _told(store: Store, task_ids: list[str]) -> dict[str, list[str]]:
    """Return the outbox's event types per task, for the tasks that have events."""
    with store() as uow:
        found = {t: [e.type for e in uow.outbox.for_aggregate("care_task", t)] for t in task_ids}
    return {t: types for t, types in found.items() if types}


def _marked(store: Store) -> dict[str, pendulum.DateTime]:
    """Return when each task was marked overdue, for the marked ones."""
    with store() as uow:
        tasks = [uow.care_tasks.get(t) for t in EVERY]
    return {t.id: t.overdue_at for t in tasks if t.overdue_at is not None}


def test_a_sweep_marks_each_overdue_task_once(store: Store) -> None:
    """The tasks due before 12:00 are marked at 12:00, each with one event in the outbox."""
    events = sweep_overdue(store, NOW, batch_size=2)
    assert (
        OVERDUE,
        dict.fromkeys(OVERDUE, NOW),
        {t: ["care.task_overdue"] for t in OVERDUE},
    ) == ([e.task_id for e in events], _marked(store), _told(store, EVERY))


def test_a_second_sweep_records_nothing(store: Store) -> None:
    """Sweeping again at the same instant marks and records nothing more."""
    sweep_overdue(store, NOW)
    again = sweep_overdue(store, NOW)
    assert ((), {t: ["care.task_overdue"] for t in OVERDUE}) == (again, _told(store, EVERY))


def test_a_later_sweep_marks_only_the_tasks_overdue_since(store: Store) -> None:
    """At 13:30 only the tasks due at 12:00 and 13:00 are new: the earlier three stay as marked."""
    sweep_overdue(store, NOW)
    later = sweep_overdue(store, NOW.add(minutes=90))
    assert (
        ["t4", "t5"],
        {**dict.fromkeys(OVERDUE, NOW), **dict.fromkeys(("t4", "t5"), NOW.add(minutes=90))},
    ) == (
        [e.task_id for e in later],
        _marked(store),
    )


def test_done_and_cancelled_tasks_are_never_marked(store: Store) -> None:
    """A task done or cancelled, before or after its due instant, is never marked overdue."""
    with store() as uow:
        uow.care_tasks.update(uow.care_tasks.get("t1").done("c9"))
        uow.care_tasks.update(uow.care_tasks.get("t5").cancelled("hospitalised"))
        uow.commit()
    events = sweep_overdue(store, NOW.add(days=1))
    assert (["t2", "t3", "t4"], {"t6", "t7", "t1", "t5"}) == (
        [e.task_id for e in events],
        set(EVERY) - set(_marked(store)),
    )


def test_the_event_holds_masked_facts_only(store: Store) -> None:
    """The stored event names the task, resident and cell by reference, its kind and due."""
    sweep_overdue(store, NOW)
    with store() as uow:
        (stored,) = uow.outbox.for_aggregate("care_task", "t1")
    envelope = cloud_event(stored)
    expected = {
        "resident_id": "r1",
        "cell_code": GRID,
        "at": "2026-11-23T12:00:00+08:00[Asia/Shanghai]",
        "task_id": "t1",
        "kind": "follow_up",
        "due": "2026-11-23T10:00:00+08:00[Asia/Shanghai]",
        "rule": "follow_up:missed_calls",
        "reason": "two missed calls: visit",
    }
    assert ("gridgov.care.task_overdue", 1, expected) == (
        envelope["type"],
        stored.sequence,
        envelope["data"],
    )


def test_a_sweeper_killed_mid_batch_leaves_its_tasks_to_the_next(store: Store) -> None:
    """A unit that claimed and marked tasks, then ended without committing, changed nothing."""
    with store() as uow:
        claimed = uow.care_tasks.claim_overdue(due_before=NOW, limit=2).items
        uow.care_tasks.update(claimed[0].marked_overdue(NOW))
        # No commit: the process died here.
    done = sweep_overdue(store, NOW)
    assert (2, OVERDUE, {t: ["care.task_overdue"] for t in OVERDUE}) == (
        len(claimed),
        [e.task_id for e in done],
        _told(store, EVERY),
    )


# The process to kill, run by the interpreter itself (a spawned function would need this test
# module importable in the child, which it is not where the tests run against an installed
# wheel): claim two overdue tasks, mark them, record their events, say so, then hang uncommitted.
_CLAIM_AND_HANG = """
import sys, time
from pathlib import Path
import pendulum
from gridgov.bootstrap import open_store
from gridgov.events import TaskOverdue
from gridgov.outbox import record_events
from gridgov.services._events import task_event_of

url, ready, now = sys.argv[1], sys.argv[2], pendulum.parse(sys.argv[3])
store = open_store(url)
with store() as uow:
    claimed = uow.care_tasks.claim_overdue(due_before=now, limit=2).items
    marked = [uow.care_tasks.update(t.marked_overdue(now)) for t in claimed]
    record_events(uow, [task_event_of(TaskOverdue, t, now) for t in marked])
    Path(ready).write_text(",".join(t.id for t in marked), "utf-8")
    time.sleep(600)  # killed here, its transaction open
"""


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_sweeper_process_killed_mid_batch_leaves_its_tasks_to_the_next(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL on a process holding a marked batch: the next sweeps mark every task once."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'killed.db'}"
    else:
        url = request.getfixturevalue("postgres_schema")
    store = open_store(url)
    _seed(store)
    ready = tmp_path / "ready"
    worker = subprocess.Popen(
        [sys.executable, "-c", _CLAIM_AND_HANG, url, str(ready), NOW.isoformat()]
    )
    for _ in range(600):  # until it holds its batch (a minute at most)
        if ready.exists() or worker.poll() is not None:
            break
        time.sleep(0.1)
    held = ready.read_text("utf-8").split(",")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    told: list[str] = []
    for _ in range(100):  # a server may notice the dead connection a moment later
        told.extend(e.task_id for e in sweep_overdue(store, NOW))
        if len(told) == len(OVERDUE):
            break
        time.sleep(0.1)
    stored = _told(store, EVERY)
    store.close()
    assert (2, -signal.SIGKILL, OVERDUE, {t: ["care.task_overdue"] for t in OVERDUE}) == (
        len(held),
        worker.returncode,
        sorted(told),
        stored,
    )


def test_a_policy_rule_for_overdue_tasks_tells_the_worker_once_per_task() -> None:
    """With a rule for care.task_overdue, each task marked gets one worker notification, ever."""
    store = MemoryStore()
    _seed(store)
    rule = Rule(
        "care.task_overdue",
        Audience.WORKER,
        zh="【网格逾期】${resident}的任务已于${due}逾期（${cell}）。",
        en="Overdue: ${resident}'s task was due ${due} (${cell}).",
    )
    with store() as uow:
        uow.settings.save(Settings(notifications=NotificationPolicy(rules=(rule,))))
        uow.commit()
    sweep_overdue(store, NOW)
    sweep_overdue(store, NOW.add(minutes=1))
    with store() as uow:
        told = sorted(
            (n.event_facts()["task_id"], n.audience.value)
            for r in ("r1", "r2", "r3")
            for n in uow.notifications.about(r)
        )
    # t4, due at 12:00 sharp, became overdue for the second sweep, at 12:01.
    assert [(t, "worker") for t in (*OVERDUE, "t4")] == told


def test_a_naive_instant_is_refused_naming_now(store: Store) -> None:
    """A sweep at a naive instant raises ValidationError on ``now``; nothing is marked."""
    with pytest.raises(ValidationError) as info:
        sweep_overdue(store, pendulum.naive(2026, 11, 23, 12))
    assert ("now", {}) == (info.value.path, _marked(store))


def test_marking_a_task_not_overdue_is_refused() -> None:
    """Only an open task past its due instant is marked, once; otherwise ``at`` is wrong."""
    task = _task("t1", "r1", NOW)
    refused = []
    for candidate, at in [
        (task, NOW),
        (task.done("c1"), NOW.add(hours=1)),
        (task.marked_overdue(NOW.add(hours=1)), NOW.add(hours=2)),
    ]:
        with pytest.raises(ValidationError) as info:
            candidate.marked_overdue(at)
        refused.append(info.value.path)
    assert ["at", "at", "at"] == refused


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
def test_tasks_stored_at_schema_9_are_swept_after_the_upgrade(
    dialect: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    without_id_digests: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """Tasks written before the overdue queue existed open, and the open overdue ones are swept."""

    def open_store() -> _sql.PooledSqlStore:
        if dialect == "sqlite":
            return SqliteStore(tmp_path / "v8.db")
        if dialect == "mysql":
            from gridgov.adapters.mysql import MysqlStore

            return MysqlStore(request.getfixturevalue("mysql_database"))
        from gridgov.adapters.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_schema"))

    with monkeypatch.context() as patch:
        if dialect == "sqlite":
            patch.setattr(SqliteDialect, "migrations", SqliteDialect.migrations[:9])
        elif dialect == "mysql":
            from gridgov.adapters import _ddl

            # Its dialect derives its migrations when made, for the collation given.
            patch.setattr(
                "gridgov.adapters.mysql.declared_migrations",
                lambda types: _ddl.declared_migrations(types)[:9],
            )
        else:
            from gridgov.adapters.postgres import PostgresDialect

            patch.setattr(PostgresDialect, "migrations", PostgresDialect.migrations[:9])
        without_id_digests(patch)
        old = open_store()
        _seed(old, [])
        with old() as uow:
            for task in _population():
                # As schema 9 wrote them: no queue column, and no ``overdue_at`` in the document.
                doc = _json.loads(_sql.encode(task))
                del doc["overdue_at"]
                uow.execute(
                    "INSERT INTO gg_care_tasks (id, resident_id, household_id, cell_code, state,"
                    " due_utc, start_utc, version, doc) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    (
                        task.id,
                        task.resident_id,
                        task.household_id,
                        task.cell_code,
                        task.state.value,
                        instant_key(task.due),
                        instant_key(task.start),
                        _json.dumps(doc),
                    ),
                )
            uow.commit()
        old.close()
    store = open_store()
    try:
        events = sweep_overdue(store, NOW)
        marked = _marked(store)
    finally:
        store.close()
    assert (OVERDUE, dict.fromkeys(OVERDUE, NOW)) == ([e.task_id for e in events], marked)


def test_overdue_events_are_task_events() -> None:
    """TaskOverdue is numbered with its task's other events and typed care.task_overdue."""
    assert ("care_task", "task_id", "care.task_overdue") == (
        TaskOverdue.AGGREGATE,
        TaskOverdue.KEY,
        TaskOverdue.TYPE,
    )
