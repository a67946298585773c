"""The grid's lifecycle: splitting a cell, merging cells and retiring one, keeping the history.

A changed cell is never deleted: it gets a last day (``valid_to``) and stays stored, so its past
cases, contacts and reports keep their cell code. The cells that take over get a first day
(``valid_from``). In the same unit of work the households move to their new cells with their
open work (as :func:`~gridgov.services.ledger.move_household` moves them), the open cases the
old cell owned pass to its successor, the workers' assignments to the old cell end, and the
change's events and audit entries are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.access import AuditEntry, AuditKind
from gridgov.adapters.support import check_instant, check_text_key
from gridgov.care.contacts import CareTask
from gridgov.cases.model import Case, HistoryEntry
from gridgov.cases.workflow import CaseRole
from gridgov.clock import ensure_date
from gridgov.errors import ValidationError
from gridgov.events import CellOpened, CellRetired, DomainEvent, HouseholdMoved
from gridgov.grid import GridCell, GridLevel, GridTree, Worker
from gridgov.households import Household
from gridgov.idempotency import idempotent
from gridgov.ids import new_id
from gridgov.outbox import record_events
from gridgov.ports import UnitOfWork
from gridgov.services._common import pages
from gridgov.services.ledger import Move, rehome

__all__ = ["GridChange", "SplitPart", "merge_cells", "retire_cell", "split_cell"]

# Open tasks are looked up whatever their window; the supported range ends in 2100.
_HORIZON = pendulum.datetime(2100, 12, 31, 23, 59, 59, tz="UTC")


def _check_day(on: object) -> None:
    ensure_date(on, "on")


def _texts(value: Iterable[str]) -> tuple[str, ...]:
    return v.to_tuple(value)


@attrs.frozen
class SplitPart:
    """One of the cells a split makes, with the buildings it takes.

    Args:
        cell: The new cell: a code no cell has, the old cell's level and parent; its
            ``valid_from`` is set to the split's day.
        buildings: What it takes of the old cell: the codes of the old cell's building cells,
            or the address lines (:attr:`~gridgov.households.Address.line`, e.g. ``"铁一村3号楼"``)
            of the households that live in the old cell itself.
    """

    cell: GridCell = attrs.field(validator=v.instance_of(GridCell))
    buildings: tuple[str, ...] = attrs.field(
        default=(), converter=_texts, validator=v.collection_of(str)
    )


@attrs.frozen
class GridChange:
    """What a split, merge or retirement changed.

    Args:
        retired: The cells retired, as stored (with their ``valid_to``), buildings included.
        created: The cells created, as stored (with their ``valid_from``), buildings included.
        moves: Each household re-homed, with the open care tasks and registrations that
            followed it.
        tasks: Other open care tasks that pointed at a retired cell, now at their household's.
        cases: The open cases whose owner passed from a retired cell to its successor; their
            location is kept.
        workers: The ids of the workers whose assignment to a retired cell ended.
        unstaffed: The codes of the created cells (buildings aside) no worker is assigned to
            on the change's day: someone must be assigned.
        venues: The ids of the venues that stood in a retired cell, now in its successor.
    """

    retired: tuple[GridCell, ...]
    created: tuple[GridCell, ...] = ()
    moves: tuple[Move, ...] = ()
    tasks: tuple[CareTask, ...] = ()
    cases: tuple[Case, ...] = ()
    workers: tuple[str, ...] = ()
    unstaffed: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()


@attrs.define
class _Plan:
    """What a change will do, worked out before anything is written."""

    change: str
    retired: list[GridCell]
    created: list[GridCell]
    successor: dict[str, str]  # retired cell -> the cell its open cases (and tasks) go to
    homes: list[tuple[Household, str]]  # each household to move, and where
    successors: dict[str, tuple[str, ...]]  # retired cell -> every cell that took over


def _active(tree: GridTree, code: str, on: pendulum.Date, path: str) -> GridCell:
    cell = tree.get(code)
    if cell.valid_to is not None and cell.valid_to < on:
        raise ValidationError(path, f"the cell was retired (its last day was {cell.valid_to})")
    if cell.valid_from is not None and cell.valid_from >= on:
        raise ValidationError(path, "the cell begins on or after that day: it has no past to end")
    return cell


def _buildings(tree: GridTree, cell: GridCell, on: pendulum.Date, path: str) -> list[GridCell]:
    """Return the cell's active children, which must be buildings (carried with their cell)."""
    children = [c for c in tree.children(cell.code) if c.active_on(on) or _future(c, on)]
    if any(c.level is not GridLevel.BUILDING for c in children):
        raise ValidationError(
            path,
            f"the {cell.level.value} has {len(children)} active children: "
            "change or retire them first",
        )
    return children


def _future(cell: GridCell, on: pendulum.Date) -> bool:
    return cell.valid_from is not None and cell.valid_from > on


def _new_cell(
    tree: GridTree, cell: GridCell, like: GridCell, on: pendulum.Date, path: str
) -> GridCell:
    """Check a cell the change creates: new code, the old cell's level and parent."""
    if not isinstance(cell, GridCell):
        raise ValidationError(path, "expected a GridCell")
    if cell.code in tree:
        raise ValidationError(f"{path}.code", "a stored cell has this code: a new cell needs one")
    if cell.level is not like.level:
        raise ValidationError(f"{path}.level", f"a successor is a {like.level.value}")
    if cell.parent_code != like.parent_code:
        raise ValidationError(f"{path}.parent_code", "a successor has the old cell's parent")
    try:
        cell.check_code(tree.scheme)
    except ValidationError as exc:
        raise exc.within(path) from None
    return attrs.evolve(cell, valid_from=on, version=0)


def _carried(building: GridCell, into: str, code: str, on: pendulum.Date) -> GridCell:
    return attrs.evolve(
        building, code=code, parent_code=into, valid_from=on, valid_to=None, version=0
    )


def _living_in(uow: UnitOfWork, code: str) -> list[Household]:
    return list(pages(lambda after: uow.households.in_subtree(code, after=after)))


@idempotent(received=("at",))
def split_cell(
    uow: UnitOfWork,
    code: str,
    *,
    into: Sequence[SplitPart],
    on: pendulum.Date,
    at: pendulum.DateTime,
    actor: str,
    idempotency_key: str | None = None,
) -> GridChange:
    """Split a cell into new cells from ``on``, each taking its listed buildings.

    The old cell's last day becomes the day before ``on``. Its building cells are carried to
    the part that lists them: each becomes a new building cell under the part, with the same
    last code segment, and the old one is retired. Each household moves, with its open care
    tasks and its registrations from ``at`` on, to the part that took its building (its
    building cell, or its address line if it lives in the old cell itself). An open case the
    old cell (or one of its buildings) owned keeps its location and passes to the part that
    took the building it lies in; one that lies in the old cell itself passes to the first part,
    for the dispatcher to hand on. A venue in the old cell moves to the first part (one in a
    building, with the building). Workers' assignments to the old cells end the day before
    ``on``.

    Args:
        uow: The unit of work (not committed here).
        code: The cell to split: a grid (or any cell whose active children are buildings).
        into: The parts, at least two; between them they list every building exactly once.
        on: The parts' first day.
        at: When the change is recorded (events, audit, the registrations that follow).
        actor: Who made it, for the audit trail.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).
            Without one, a repeated change is refused: its cell is retired already.

    Returns:
        What changed.

    Raises:
        NotFoundError: If the cell is not stored.
        ValidationError: Naming the field: a part of the wrong level or parent, a code taken, a
            building listed twice, unknown, or left out, a household in no part, a cell with
            other active children, or one retired already. Nothing is written.
        ConflictError: If a record changed meanwhile; retry the whole unit of work.
    """
    check_text_key("code", code)
    check_text_key("actor", actor)
    check_instant("at", at)
    _check_day(on)
    tree = uow.cells.tree()
    old = _active(tree, code, on, "code")
    buildings = {b.code: b for b in _buildings(tree, old, on, "code")}
    parts = list(into)
    if len(parts) < 2:
        raise ValidationError("into", "a split makes at least two cells")
    created: list[GridCell] = []
    owner: dict[str, str] = {}  # a building cell code or an address line -> the part's code
    seen_codes: set[str] = set()
    for i, part in enumerate(parts):
        if not isinstance(part, SplitPart):
            raise ValidationError(f"into[{i}]", "expected a SplitPart")
        new = _new_cell(tree, part.cell, old, on, f"into[{i}].cell")
        if new.code in seen_codes:
            raise ValidationError(f"into[{i}].cell.code", "two parts have this code")
        seen_codes.add(new.code)
        created.append(new)
        for j, building in enumerate(part.buildings):
            if building in owner:
                raise ValidationError(f"into[{i}].buildings[{j}]", "listed by two parts")
            owner[building] = new.code
    households = _living_in(uow, code)
    lines = {h.address.line for h in households if h.cell_code == code}
    for i, part in enumerate(parts):
        for j, building in enumerate(part.buildings):
            if building not in buildings and building not in lines:
                raise ValidationError(
                    f"into[{i}].buildings[{j}]",
                    "names no building cell of the cell, nor the address of a household in it",
                )
    for b in sorted(buildings):
        if b not in owner:
            raise ValidationError("into", f"building cell {b!r} is in no part")
    successor: dict[str, str] = {code: created[0].code}
    retired = [old]
    sep = len(old.code)
    for b_code, b_cell in sorted(buildings.items()):
        carried = _carried(b_cell, owner[b_code], owner[b_code] + b_code[sep:], on)
        retired.append(b_cell)
        created.append(carried)
        successor[b_code] = carried.code
    homes: list[tuple[Household, str]] = []
    for h in households:
        if h.cell_code == code:
            if h.address.line not in owner:
                raise ValidationError("into", f"household {h.id!r}: its building is in no part")
            homes.append((h, owner[h.address.line]))
        elif h.cell_code in successor:
            homes.append((h, successor[h.cell_code]))
    plan = _Plan(
        "split",
        retired,
        created,
        successor,
        homes,
        {code: tuple(p.cell.code for p in parts)} | {b: (successor[b],) for b in buildings},
    )
    return _apply(uow, tree, plan, on, at, actor, _part_of(code, owner))


def _part_of(code: str, owner: dict[str, str]) -> Callable[[Case], str | None]:
    """Return where a split sends an open case the old cell owned.

    It goes to the part that took the building it lies in: its building cell, or the address
    line its address begins with.
    """

    def find(case: Case) -> str | None:
        if case.owner_cell != code:
            return None  # a building's own case follows the building
        where = case.location
        if where.cell_code in owner:
            return owner[where.cell_code]
        lines = [line for line in owner if where.address.startswith(line)]
        return owner[max(lines, key=len)] if lines else None

    return find


@idempotent(received=("at",))
def merge_cells(
    uow: UnitOfWork,
    codes: Sequence[str],
    *,
    into: GridCell,
    on: pendulum.Date,
    at: pendulum.DateTime,
    actor: str,
    idempotency_key: str | None = None,
) -> GridChange:
    """Merge sibling cells into a new cell from ``on``.

    Every merged cell's last day becomes the day before ``on``. Their building cells are carried
    to the new cell, keeping their last code segment unless two share it (then the later one,
    by code, takes the lowest free number). Every household moves to the new cell (or its
    carried building) with its open work; open cases the merged cells owned pass to the new
    cell, keeping their location; venues in them move to it; workers' assignments to the
    merged cells end.

    Args:
        uow: The unit of work (not committed here).
        codes: The cells to merge, at least two, all under one parent.
        into: The new cell: a code no cell has, their level and parent.
        on: Its first day.
        at: When the change is recorded.
        actor: Who made it, for the audit trail.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).
            Without one, a repeated change is refused: its cell is retired already.

    Returns:
        What changed.

    Raises:
        NotFoundError: If a cell is not stored.
        ValidationError: Naming the field: cells under different parents or of different levels,
            a code given twice, a cell with other active children or retired already, a new cell
            of the wrong level or parent, or a code taken. Nothing is written.
        ConflictError: If a record changed meanwhile; retry the whole unit of work.
    """
    check_text_key("actor", actor)
    check_instant("at", at)
    _check_day(on)
    codes = list(codes)
    if len(codes) < 2:
        raise ValidationError("codes", "a merge takes at least two cells")
    tree = uow.cells.tree()
    olds: list[GridCell] = []
    for i, code in enumerate(codes):
        check_text_key(f"codes[{i}]", code)
        if code in codes[:i]:
            raise ValidationError(f"codes[{i}]", "given twice")
        cell = _active(tree, code, on, f"codes[{i}]")
        if olds and (cell.parent_code, cell.level) != (olds[0].parent_code, olds[0].level):
            raise ValidationError(
                f"codes[{i}]", "under another parent or at another level than codes[0]"
            )
        olds.append(cell)
    new = _new_cell(tree, into, olds[0], on, "into")
    created = [new]
    successor = {c.code: new.code for c in olds}
    taken: set[str] = set()
    carried: list[tuple[GridCell, str]] = []
    for i, old in enumerate(olds):
        for b in _buildings(tree, old, on, f"codes[{i}]"):
            carried.append((b, b.code[len(old.code) :]))
    retired = list(olds)
    for building, suffix in sorted(carried, key=lambda bs: bs[0].code):
        if suffix in taken:
            suffix = _free_suffix(tree, new.code, suffix, taken)
        taken.add(suffix)
        moved = _carried(building, new.code, new.code + suffix, on)
        retired.append(building)
        created.append(moved)
        successor[building.code] = moved.code
    homes = [
        (h, successor[h.cell_code])
        for old in olds
        for h in _living_in(uow, old.code)
        if h.cell_code in successor
    ]
    plan = _Plan(
        "merge",
        retired,
        created,
        successor,
        homes,
        {c: (s,) for c, s in successor.items()},
    )
    return _apply(uow, tree, plan, on, at, actor, lambda _case: None)


def _free_suffix(tree: GridTree, parent: str, like: str, taken: set[str]) -> str:
    """Return the lowest numbered last segment, as wide as ``like``, free under ``parent``."""
    prefix = like[: len(like) - len(like.lstrip(tree.scheme.separator))] if like else ""
    width = len(like) - len(prefix)
    for n in range(1, 10**width):
        suffix = prefix + str(n).zfill(width)
        if suffix not in taken and parent + suffix not in tree:
            return suffix
    raise ValidationError("codes", "the merged cell has no free building number left")


@idempotent(received=("at",))
def retire_cell(
    uow: UnitOfWork,
    code: str,
    *,
    on: pendulum.Date,
    at: pendulum.DateTime,
    actor: str,
    idempotency_key: str | None = None,
) -> GridChange:
    """Retire a cell from ``on`` (its last day is the day before), keeping it and its history.

    Args:
        uow: The unit of work (not committed here).
        code: The cell: no active children, no household living in it, no open case it owns,
            no venue in it.
        on: The first day without it.
        at: When the change is recorded.
        actor: Who made it, for the audit trail.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).
            Without one, a repeated change is refused: its cell is retired already.

    Returns:
        What changed: the cell, and the workers whose assignment to it ended.

    Raises:
        NotFoundError: If the cell is not stored.
        ValidationError: On ``code`` if it has active children, households, open cases or
            venues, or was retired already. Nothing is written.
    """
    check_text_key("code", code)
    check_text_key("actor", actor)
    check_instant("at", at)
    _check_day(on)
    tree = uow.cells.tree()
    cell = _active(tree, code, on, "code")
    children = [c for c in tree.children(code) if c.active_on(on) or _future(c, on)]
    if children:
        raise ValidationError("code", f"{len(children)} active children: retire them first")
    if uow.households.in_subtree(code, limit=1).items:
        raise ValidationError("code", "households still live in the cell: move them first")
    if any(c.owner_cell == code for c in _open_cases(uow, code)):
        raise ValidationError("code", "the cell owns open cases: hand them on first")
    if uow.venues.in_subtree(code, limit=1).items:
        raise ValidationError("code", "a venue stands in the cell: move it first")
    plan = _Plan("retire", [cell], [], {}, [], {code: ()})
    return _apply(uow, tree, plan, on, at, actor, lambda _case: None)


def _open_cases(uow: UnitOfWork, code: str) -> list[Case]:
    return list(pages(lambda after: uow.cases.open_in_subtree(code, after=after)))


def _apply(
    uow: UnitOfWork,
    tree: GridTree,
    plan: _Plan,
    on: pendulum.Date,
    at: pendulum.DateTime,
    actor: str,
    case_part: Callable[[Case], str | None],
) -> GridChange:
    """Write a checked plan: cells, households and their work, cases, workers, events, audit."""
    last_day = on.subtract(days=1)
    gone = {c.code for c in plan.retired}
    retired = tuple(uow.cells.update(attrs.evolve(c, valid_to=last_day)) for c in plan.retired)
    created = tuple(uow.cells.add(c) for c in plan.created)
    events: list[DomainEvent] = []
    moves: list[Move] = []
    for household, to_cell in plan.homes:
        moves.append(rehome(uow, household, to_cell, at))
        events.append(HouseholdMoved(household.id, to_cell, at, household.cell_code))
    tops = [c.code for c in plan.retired if c.parent_code not in gone]
    tasks = _stray_tasks(uow, tops, gone)
    cases = []
    for top in tops:
        for case in _open_cases(uow, top):
            if case.owner_cell in gone:
                to = case_part(case) or plan.successor.get(case.owner_cell)
                if to is not None:
                    cases.append(uow.cases.update(_handed_on(case, to, plan.change, at, actor)))
    venues = tuple(
        uow.venues.update(attrs.evolve(venue, cell_code=plan.successor[venue.cell_code])).id
        for top in tops
        for venue in list(pages(lambda after, top=top: uow.venues.in_subtree(top, after=after)))  # type: ignore[misc]
        if venue.cell_code in gone and venue.cell_code in plan.successor
    )
    workers = tuple(w.id for w in _end_assignments(uow, gone, on))
    unstaffed = tuple(
        c.code
        for c in created
        if c.level is not GridLevel.BUILDING and not uow.workers.assigned_to(c.code, on=on)
    )
    predecessors: dict[str, list[str]] = {}
    for old, news in plan.successors.items():
        for new in news:
            predecessors.setdefault(new, []).append(old)
    events[:0] = [
        *(
            CellRetired(c.code, at, plan.change, last_day, plan.successors.get(c.code, ()))
            for c in retired
        ),
        *(
            CellOpened(c.code, at, plan.change, on, tuple(sorted(predecessors.get(c.code, ()))))
            for c in created
        ),
    ]
    record_events(uow, events)
    for c in retired:
        detail = f"{plan.change} from {on}: " + ", ".join(plan.successors.get(c.code, ()))
        uow.audit.add(_audit(at, actor, AuditKind.EDITED, c.code, detail.rstrip(": ")))
    for c in created:
        detail = f"{plan.change} from {on}: of " + ", ".join(predecessors.get(c.code, ()))
        uow.audit.add(_audit(at, actor, AuditKind.CREATED, c.code, detail))
    return GridChange(
        retired, created, tuple(moves), tasks, tuple(cases), workers, unstaffed, venues
    )


def _audit(
    at: pendulum.DateTime, actor: str, kind: AuditKind, code: str, detail: str
) -> AuditEntry:
    return AuditEntry(new_id("audit", at), at, actor, kind, f"cell:{code}", code, detail[:500])


def _stray_tasks(uow: UnitOfWork, tops: list[str], gone: set[str]) -> tuple[CareTask, ...]:
    """Move open tasks still at a retired cell to their household's cell (none, usually)."""
    out: list[CareTask] = []
    for top in tops:
        for task in pages(
            lambda after, top=top: uow.care_tasks.open_in_subtree(  # type: ignore[misc]
                top, starting_before=_HORIZON, after=after
            )
        ):
            if task.cell_code in gone:
                home = uow.households.get(task.household_id).cell_code
                if home not in gone:
                    out.append(uow.care_tasks.update(attrs.evolve(task, cell_code=home)))
    return tuple(out)


def _handed_on(case: Case, to: str, change: str, at: pendulum.DateTime, actor: str) -> Case:
    """Return the case owned by ``to``, with a history entry saying why (its location kept)."""
    entry = HistoryEntry(
        "regrid",
        actor,
        CaseRole.SYSTEM.value,
        at,
        case.state,
        case.state,
        note=f"{case.owner_cell} → {to} ({change})",
        owner_cell=to,
        owner_worker=case.owner_worker,
        rule=f"grid:{change}",
    )
    return attrs.evolve(case, owner_cell=to, history=(*case.history, entry))


def _end_assignments(uow: UnitOfWork, gone: set[str], on: pendulum.Date) -> Iterable[Worker]:
    """End, the day before ``on``, every assignment to a retired cell; drop later ones."""
    last_day = on.subtract(days=1)
    for worker in list(pages(lambda after: uow.workers.list(after=after))):
        kept = []
        changed = False
        for a in worker.assignments:
            if a.cell_code not in gone or (a.end is not None and a.end <= last_day):
                kept.append(a)
            elif a.start <= last_day:
                kept.append(attrs.evolve(a, end=last_day))
                changed = True
            else:
                changed = True  # it would begin after the cell's last day
        if changed:
            yield uow.workers.update(attrs.evolve(worker, assignments=tuple(kept)))
