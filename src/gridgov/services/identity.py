"""Finding people by national ID number: one resident, another department's list, a discharge.

Every lookup goes through the keyed digest of :mod:`gridgov.identity`: a number given is
normalised and digested under the deployment's :class:`~gridgov.identity.IdKey`, and the store is
asked for that digest (an indexed lookup). No result holds an ID number: residents are named by
household, cell and resident id (:class:`~gridgov.ports.IdHolder`). Through a scoped unit of work
only the residents in the principal's scope are found, and whatever is read of them is redacted to
its role.

- :func:`find_person`: the residents holding one number (the same person in two households is
  two results);
- :func:`match_list`: a list of numbers (a hospital's discharge list, a civil-affairs roll)
  against the ledger, line by line;
- :func:`record_discharges`: a hospital's discharge list ends the hospital pause of the elders on
  it: each one last found in hospital gets a ``discharged`` notice on their contact ledger
  (:attr:`~gridgov.care.contacts.Outcome.DISCHARGED` by
  :attr:`~gridgov.care.policy.ContactMethod.NOTICE`), and their routine contacts are planned
  again, as after a contact that reached them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import CarePolicy, ContactMethod
from gridgov.care.rules import paused
from gridgov.clock import ensure_aware
from gridgov.codes import NationalId
from gridgov.errors import ValidationError
from gridgov.identity import IdKey, require_key
from gridgov.ports import IdHolder, Page, UnitOfWork
from gridgov.services._common import pages
from gridgov.services.care import record_contact

__all__ = [
    "Discharge",
    "DischargeReport",
    "ListMatch",
    "ListMatches",
    "find_person",
    "match_list",
    "record_discharges",
]

_log = logging.getLogger(__name__)


def _holders(uow: UnitOfWork, key: IdKey, national_id: NationalId | str) -> tuple[IdHolder, ...]:
    found = uow.households.by_id_digest(key.digest(national_id))
    return tuple(IdHolder(e.household_id, e.cell_code, e.resident.id) for e in found)


def find_person(
    uow: UnitOfWork, national_id: NationalId | str, key: IdKey | None
) -> tuple[IdHolder, ...]:
    """Return the residents holding ``national_id``, by resident id.

    Args:
        uow: The unit of work (a scoped one finds only residents in scope).
        national_id: The number, typed any way (full-width, spaced, lower-case ``x``).
        key: The deployment's ID key, the store's own.

    Raises:
        ValidationError: On ``id_key`` without a key, on ``national_id`` if it is not a valid
            number (never repeated).
    """
    return _holders(uow, require_key(key), national_id)


@attrs.frozen
class ListMatch:
    """One line of a list matched to the residents holding its number.

    Args:
        line: The line's position in the list given (0 for the first).
        residents: Who holds the number.
    """

    line: int
    residents: tuple[IdHolder, ...]


@attrs.frozen
class ListMatches:
    """Another department's list of numbers against the ledger.

    Args:
        matched: The lines found, in order.
        unmatched: The lines no resident (in scope) holds.
        invalid: The lines that are not ID numbers, with the problem (never the value).
    """

    matched: tuple[ListMatch, ...]
    unmatched: tuple[int, ...]
    invalid: tuple[tuple[int, str], ...]


def match_list(
    uow: UnitOfWork, national_ids: Iterable[NationalId | str], key: IdKey | None
) -> ListMatches:
    """Match a list of numbers to the residents holding them, line by line.

    Args:
        uow: The unit of work (a scoped one matches only residents in scope).
        national_ids: The list, as the department wrote it.
        key: The deployment's ID key.

    Raises:
        ValidationError: On ``id_key`` without a key.
    """
    key = require_key(key)
    matched: list[ListMatch] = []
    unmatched: list[int] = []
    invalid: list[tuple[int, str]] = []
    for line, national_id in enumerate(national_ids):
        try:
            found = _holders(uow, key, national_id)
        except ValidationError as exc:
            invalid.append((line, exc.problem))
            continue
        if found:
            matched.append(ListMatch(line, found))
        else:
            unmatched.append(line)
    return ListMatches(tuple(matched), tuple(unmatched), tuple(invalid))


def _id_text(value: NationalId | str) -> NationalId | str:
    if not isinstance(value, NationalId | str):
        raise ValidationError("national_id", "expected an ID number")
    return value


def _contacts_of(uow: UnitOfWork, resident_id: str) -> list[ContactAttempt]:
    def page(after: str | None) -> Page[ContactAttempt]:
        return uow.contacts.for_resident(resident_id, limit=500, after=after)

    return list(pages(page))


@attrs.frozen(repr=False)
class Discharge:
    """One line of a hospital's discharge list.

    Args:
        national_id: The patient's ID number, as the hospital wrote it.
        at: When they left hospital.
    """

    national_id: NationalId | str = attrs.field(converter=_id_text)
    at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)

    def __repr__(self) -> str:
        # The number as given may be any text: never shown.
        return f"Discharge(at={self.at.isoformat()!r})"


@attrs.frozen
class DischargeReport:
    """What a discharge list did.

    Args:
        resumed: Residents whose hospital pause it ended (a ``discharged`` notice recorded).
        not_paused: Residents it names who were not in hospital as their ledger has it (nothing
            recorded: never found in hospital, back already, or in hospital again since).
        unmatched: The lines no resident (in scope) holds.
        invalid: The lines that are not ID numbers or whose discharge is in the future, with the
            problem (never the value).
        created: The routine tasks planned again.
    """

    resumed: tuple[IdHolder, ...]
    not_paused: tuple[IdHolder, ...]
    unmatched: tuple[int, ...]
    invalid: tuple[tuple[int, str], ...]
    created: int = 0


def record_discharges(
    uow: UnitOfWork,
    discharges: Iterable[Discharge],
    key: IdKey | None,
    *,
    by: str,
    now: pendulum.DateTime,
    policy: CarePolicy | None = None,
) -> DischargeReport:
    """End the hospital pause of the residents on a hospital's discharge list.

    Each resident the list names whose ledger last found them in hospital, at or before the
    discharge, gets a contact ``discharged`` (by :attr:`ContactMethod.NOTICE`, at the discharge)
    through :func:`~gridgov.services.care.record_contact`: the pause ends and the tier's routine
    contacts are planned again. A notice counts for no cadence and no coverage figure: the worker
    still visits. A list applied twice records nothing twice (the notice's id is derived from
    what it says). Commit the unit of work afterwards.

    Args:
        uow: The unit of work (a scoped one acts only on residents in scope).
        discharges: The list.
        key: The deployment's ID key.
        by: Who applies the list (a worker's or principal's id), the notices' author.
        now: The current instant.
        policy: The care policy; ``None`` for the store's.

    Raises:
        ValidationError: On ``id_key`` without a key, on ``now`` if naive.
    """
    key = require_key(key)
    now = ensure_aware(now, "now")
    resumed: list[IdHolder] = []
    not_paused: list[IdHolder] = []
    unmatched: list[int] = []
    invalid: list[tuple[int, str]] = []
    created = 0
    for line, discharge in enumerate(discharges):
        if not isinstance(discharge, Discharge):
            invalid.append((line, "expected a Discharge"))
            continue
        if discharge.at > now:
            invalid.append((line, "a discharge in the future"))
            continue
        try:
            found = _holders(uow, key, discharge.national_id)
        except ValidationError as exc:
            invalid.append((line, exc.problem))
            continue
        if not found:
            unmatched.append(line)
        for holder in found:
            contacts = _contacts_of(uow, holder.resident_id)
            before = [c for c in contacts if c.at <= discharge.at]
            later = [c for c in contacts if c.at > discharge.at]
            # In hospital then, and nothing decisive since (a visit, a new stay).
            if (
                paused(before) != "hospitalised"
                or paused(later) is not None
                or any(c.outcome.reached for c in later)
            ):
                not_paused.append(holder)
                continue
            result = record_contact(
                uow,
                resident_id=holder.resident_id,
                method=ContactMethod.NOTICE,
                outcome=Outcome.DISCHARGED,
                by=by,
                at=discharge.at,
                now=now,
                policy=policy,
            )
            resumed.append(holder)
            created += len(result.created)
    # Counts only: the list holds ID numbers, the log never does.
    _log.info(
        "discharge list: %d resumed, %d not paused, %d unmatched, %d invalid",
        len(resumed),
        len(not_paused),
        len(unmatched),
        len(invalid),
    )
    return DischargeReport(
        tuple(resumed), tuple(not_paused), tuple(unmatched), tuple(invalid), created
    )
