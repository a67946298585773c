"""Changes to the ledger that other records must follow: a household moving to another cell."""

from __future__ import annotations

import attrs
import pendulum

from gridgov.adapters.support import check_instant, check_text_key
from gridgov.care.contacts import CareTask
from gridgov.households import Household
from gridgov.idempotency import idempotent
from gridgov.ports import UnitOfWork
from gridgov.scheduling.registrations import Registration

__all__ = ["Move", "move_household"]

# Registrations are looked up from the move on; the supported range ends in 2100.
_HORIZON = pendulum.datetime(2100, 12, 31, 23, 59, 59, tz="UTC")


@attrs.frozen
class Move:
    """What moving a household changed.

    Args:
        household: The household in its new cell.
        tasks: Its members' open care tasks, now in the new cell.
        registrations: Its members' active registrations from the move on, now in the new cell.
    """

    household: Household
    tasks: tuple[CareTask, ...] = ()
    registrations: tuple[Registration, ...] = ()


@idempotent(received=("at",))
def move_household(
    uow: UnitOfWork,
    household_id: str,
    *,
    to_cell: str,
    at: pendulum.DateTime,
    idempotency_key: str | None = None,
) -> Move:
    """Move a household to another cell, with the open work that follows it.

    The household's open care tasks move with it, so the old grid's worklist drops them and the
    new grid's shows them; its members' active registrations for occurrences from ``at`` on take
    the new cell, whose scope they now fall under. Contacts stay as they were recorded (the
    ledger keeps where a contact happened); a resident's history still follows them, since the
    per-resident queries go by the household's current cell. Moving to the cell it is in changes
    nothing.

    Args:
        uow: The unit of work (not committed here).
        household_id: The household.
        to_cell: The stored cell it moves to.
        at: When it moves.
        idempotency_key: A key the caller chose for this request (a UUID, say): sent again, it
            gets the first result and nothing is done twice (:mod:`gridgov.idempotency`).

    Returns:
        The household, tasks and registrations as stored.

    Raises:
        NotFoundError: If the household or the cell is not stored.
        ValidationError: On a malformed argument.
        ConflictError: If a record changed meanwhile; retry the whole unit of work.
    """
    check_text_key("household_id", household_id)
    check_text_key("to_cell", to_cell)
    check_instant("at", at)
    household = uow.households.get(household_id)
    uow.cells.get(to_cell)
    if household.cell_code == to_cell:
        return Move(household)
    return rehome(uow, household, to_cell, at)


def rehome(uow: UnitOfWork, household: Household, to_cell: str, at: pendulum.DateTime) -> Move:
    """Move a stored household to another stored cell with its open work (no checks, no key).

    The work :func:`move_household` and the grid's lifecycle changes
    (:mod:`gridgov.services.grid_changes`) share.
    """
    moved = uow.households.update(attrs.evolve(household, cell_code=to_cell))
    tasks = tuple(
        uow.care_tasks.update(attrs.evolve(task, cell_code=to_cell))
        for member in household.members
        for task in uow.care_tasks.open_for_resident(member.id)
        if task.household_id == household.id and task.cell_code != to_cell
    )
    registrations = tuple(
        uow.registrations.update(attrs.evolve(r, cell_code=to_cell))
        for member in household.members
        for r in uow.registrations.for_resident(member.id, start=at, end=_HORIZON)
        if r.is_active and r.household_id == household.id and r.cell_code != to_cell
    )
    return Move(moved, tasks, registrations)
