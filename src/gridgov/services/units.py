"""Running a unit of work as a request handler does: commit it, and run it again after a lost race.

A web service opens one unit of work per request (see docs/embedding.md)::

    worklist_doc = run_unit(store, lambda uow: project(worklist(uow, ...), principal))

or, acting as a stored worker, with :func:`gridgov.services.scoped.as_worker`::

    run_unit(functools.partial(as_worker, store, "grid-01", on=today), work)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from gridgov.errors import ValidationError
from gridgov.ports import UnitOfWork
from gridgov.services._common import retried

__all__ = ["run_unit"]

T = TypeVar("T")
U = TypeVar("U", bound=UnitOfWork)


def run_unit(open_unit: Callable[[], U], work: Callable[[U], T], *, attempts: int = 3) -> T:
    """Run ``work`` in a new unit of work, commit the unit and return what ``work`` returned.

    If ``work`` or the commit raises a :class:`~gridgov.errors.ConflictError` that says a retry
    can help (a lost race, a busy store), the unit is rolled back and ``work`` runs again in a
    new one, up to ``attempts`` times in all: ``work`` must do nothing outside the unit that
    cannot be done twice. Any other error rolls the unit back and propagates.

    Args:
        open_unit: Returns a new unit of work: a store, or a function returning a scoped unit
            (:func:`gridgov.services.scoped.as_worker`).
        work: What to do in the unit, given the unit.
        attempts: How many units to try at most.

    Returns:
        What ``work`` returned in the unit that committed.

    Raises:
        ConflictError: If it does not say a retry can help, or still conflicts at the last
            attempt.
        ValidationError: On ``attempts`` if it is not a whole number of at least 1.
    """
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise ValidationError("attempts", "expected a whole number of at least 1")

    def once() -> T:
        with open_unit() as uow:
            result = work(uow)
            uow.commit()
        return result

    return retried(once, attempts=attempts)
