"""Importing a ledger workbook into a store: an idempotent upsert, all or nothing."""

from __future__ import annotations

import logging
from itertools import islice
from pathlib import Path

import attrs

from gridgov.errors import ValidationError
from gridgov.households import Household, Resident
from gridgov.ledger._mapping import ColumnMapping
from gridgov.ledger._model import LedgerRead, RowProblem
from gridgov.ledger._read import read_ledger
from gridgov.ports import Page, SharedId, Store, UnitOfWork
from gridgov.services._common import pages

__all__ = ["LedgerImport", "import_ledger"]

_log = logging.getLogger(__name__)
_CHUNK = 1000  # households looked up per round trip


@attrs.frozen
class LedgerImport:
    """What importing a ledger workbook did, or with ``dry_run`` would do.

    Args:
        read: The workbook as read: its households, sheets and problems.
        added: The ids of the households new to the store.
        changed: The ids of the stored households the workbook changes.
        unchanged: How many households the workbook holds as the store does (not rewritten).
        problems: Every problem; when there is one, nothing is stored.
        stored: Whether the changes were committed.
        dry_run: Whether this was a dry run (nothing is ever stored).
        shared: The ID numbers the workbook's residents share with residents of other stored
            households (by keyed digest, :mod:`gridgov.identity`; only when the store has a
            key): flagged, not refused. Each names the households and cells, never the number.
    """

    read: LedgerRead
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int
    problems: tuple[RowProblem, ...]
    stored: bool
    dry_run: bool
    shared: tuple[SharedId, ...] = ()

    @property
    def ok(self) -> bool:
        """Return whether the workbook has no problem."""
        return not self.problems


def import_ledger(
    path: Path | str,
    store: Store,
    *,
    mapping: ColumnMapping | None = None,
    dry_run: bool = False,
) -> LedgerImport:
    """Import a ledger workbook into ``store``: add new households, update changed ones.

    The whole workbook is one batch, stored in one unit of work: a workbook with a problem in
    any row stores nothing, and the result lists every problem (sheet, row, column, never the
    value) to correct before importing it again. A household is keyed by its id (the 户号
    column, or one made from its cell and address): a stored household that the workbook holds
    as stored is not rewritten, so importing a corrected workbook again changes only the
    corrected households. A household in the workbook replaces the stored one's members with
    its rows; fields the workbook has no column for (emergency contacts, health flags, ...) keep
    what the store holds. Stored households the workbook lacks are left as they are.

    Args:
        path: The workbook (``.xlsx``, ``.xls``, ``.xlsb``, ``.ods``).
        store: The store; its cells must hold the households' cells.
        mapping: How to read the columns (default: the ``auto`` preset).
        dry_run: Read, check against the store and count, but store nothing.

    Returns:
        What was (or would be) added and changed, and the problems.

    Raises:
        NotFoundError: If the file does not exist.
        ValidationError: If it is not a workbook, or no sheet has a header row.
        ConflictError: If a resident id is stored in another household, or a household changed
            meanwhile (retry).
    """
    with store() as uow:
        cells = uow.cells.tree()
    read = read_ledger(path, mapping=mapping, cells=cells)
    if read.problems:
        _log.info("ledger %s: %d problem(s), nothing stored", Path(path).name, len(read.problems))
        return LedgerImport(read, (), (), 0, read.problems, stored=False, dry_run=dry_run)
    with store() as uow:
        added, changed, unchanged, problems = _upsert(uow, read)
        keyed = getattr(store, "id_key", None) is not None
        shared = _shared(uow, {h.id for h in read.households}) if keyed and not problems else ()
        stored = not problems and not dry_run
        if stored:
            uow.commit()
    _log.info(
        "ledger %s: %d added, %d changed, %d unchanged, %d ID numbers held elsewhere too%s",
        Path(path).name,
        len(added),
        len(changed),
        unchanged,
        len(shared),
        "" if stored else " (not stored)",
    )
    return LedgerImport(
        read,
        added,
        changed,
        unchanged,
        tuple(problems),
        stored=stored,
        dry_run=dry_run,
        shared=shared,
    )


def _shared(uow: UnitOfWork, households: set[str]) -> tuple[SharedId, ...]:
    """Return the numbers held twice in the store, as the import leaves it, that it touches.

    A workbook never holds a number twice (:func:`read_ledger` refuses it): each one found here
    is held by a household of the workbook and by another one the store keeps.
    """

    def page(after: str | None) -> Page[SharedId]:
        return uow.households.shared_ids(limit=500, after=after)

    return tuple(s for s in pages(page) if any(h.household_id in households for h in s.holders))


def _upsert(
    uow: UnitOfWork, read: LedgerRead
) -> tuple[tuple[str, ...], tuple[str, ...], int, list[RowProblem]]:
    new: list[Household] = []
    changed: list[str] = []
    unchanged = 0
    problems: list[RowProblem] = []
    households = iter(read.households)
    while chunk := list(islice(households, _CHUNK)):
        stored = uow.households.get_many(h.id for h in chunk)
        for household in chunk:
            old = stored.get(household.id)
            if old is None:
                new.append(household)
                continue
            origin = read.origins[household.id]
            try:
                merged = _merged(household, old, origin.fields)
            except _MemberError as exc:
                sheet, row = origin.members[exc.index]
                problems.append(RowProblem(sheet, row, "", exc.field, exc.problem))
                continue
            if merged == old:
                unchanged += 1
            else:
                uow.households.update(merged)
                changed.append(household.id)
    if not problems:
        uow.households.add_many(new)
    return tuple(h.id for h in new), tuple(changed), unchanged, problems


class _MemberError(Exception):
    def __init__(self, index: int, field: str, problem: str) -> None:
        super().__init__(problem)
        self.index, self.field, self.problem = index, field, problem


# Resident fields a workbook column may hold; the others (emergency contacts) are never in it.
_COLUMN_FIELDS = ("name", "phone", "relationship", "tags", "health_flags", "living_arrangement")


def _merged(new: Household, old: Household, fields: frozenset[str]) -> Household:
    """Return ``new`` over ``old``: what the workbook has no column for keeps the stored value."""
    by_id = {m.id: m for m in old.members}
    wanted: dict[str, object] = {
        "cell_code": new.cell_code,
        "address": new.address,
        "status": new.status if "status" in fields else old.status,
        "forwarding": _forwarding(new, old, fields),
        "members": tuple(_member(i, m, by_id.get(m.id), fields) for i, m in enumerate(new.members)),
    }
    # Compared before anything is built: most households of a workbook imported again are the
    # same, and building one validates it all over again.
    if all(getattr(old, f) == value for f, value in wanted.items()):
        return old
    return attrs.evolve(new, version=old.version, **wanted)  # type: ignore[arg-type]


def _forwarding(new: Household, old: Household, fields: frozenset[str]) -> object:
    """Return the forwarding contact to store: what the workbook has no column for is kept."""
    if not {"status", "forwarding_address"} & fields:
        return old.forwarding
    given, stored = new.forwarding, old.forwarding
    if given is None or stored is None:
        return given
    keep: dict[str, object] = {"note": stored.note}  # no column holds the note
    if "forwarding_phone" not in fields:
        keep["phone"] = stored.phone
    if all(getattr(given, f) == v for f, v in keep.items()):
        return given
    return attrs.evolve(given, **keep)  # type: ignore[arg-type]


def _member(index: int, new: Resident, old: Resident | None, fields: frozenset[str]) -> Resident:
    if old is None:
        return new
    keep: dict[str, object] = {
        f: getattr(old, f) for f in _COLUMN_FIELDS if f not in fields and getattr(old, f)
    }
    keep["emergency_contacts"] = old.emergency_contacts
    national_id = new.national_id
    if "national_id" not in fields:
        national_id = keep["national_id"] = old.national_id
    for f in ("birth_date", "sex"):
        if f not in fields:
            # Without a column, the value comes from the ID number if there is one, as a new
            # resident's does; else the stored value stays.
            keep[f] = getattr(national_id, f) if national_id is not None else getattr(old, f)
    if all(getattr(new, f) == v for f, v in keep.items()):
        return new
    try:
        return attrs.evolve(new, **keep)  # type: ignore[arg-type]
    except ValidationError as exc:
        field = exc.path.split(".")[0]
        raise _MemberError(
            index, field, f"{exc.problem}, with the value the store holds for {field}"
        ) from None
