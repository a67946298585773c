"""A deterministic synthetic contact history: what a community's care ledger looks like.

For every covered elder the generator walks each cadence of their tier backwards from the end of
the period: most contacts come a little before they are due, some late, a few are missed;
outcomes are mostly "well", with unanswered calls, evasive answers, illness and hospital stays
at the rates a community sees. Contacts happen in working hours, Beijing time, by the worker
assigned to the household's grid.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping

import pendulum

from gridgov.care.assessment import assess_all
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import DEFAULT_POLICY, CarePolicy, ContactMethod
from gridgov.clock import ensure_date
from gridgov.errors import ValidationError
from gridgov.households import Household, HouseholdStatus

__all__ = ["CALL_OUTCOMES", "VISIT_OUTCOMES", "generate_contacts"]

TZ = "Asia/Shanghai"
#: (outcome, weight) of a call, made up: most elders are well, some do not answer.
CALL_OUTCOMES = (
    (Outcome.WELL, 86),
    (Outcome.NO_ANSWER, 8),
    (Outcome.EVASIVE, 3),
    (Outcome.UNWELL, 2),
    (Outcome.HOSPITALISED, 1),
)
#: (outcome, weight) of a home visit, made up: a visit finds the resident or nobody at home.
VISIT_OUTCOMES = (
    (Outcome.WELL, 94),
    (Outcome.UNWELL, 4),
    (Outcome.HOSPITALISED, 1),
    (Outcome.REFUSED, 1),
)


def _pick(rng: random.Random, table: tuple[tuple[Outcome, int], ...]) -> Outcome:
    return rng.choices([o for o, _ in table], [w for _, w in table])[0]


def generate_contacts(
    households: Iterable[Household],
    *,
    start: pendulum.Date,
    end: pendulum.Date,
    workers: Mapping[str, str],
    seed: int,
    policy: CarePolicy = DEFAULT_POLICY,
    missed_share: float = 0.06,
) -> Iterator[ContactAttempt]:
    """Generate the contacts made with covered elders from ``start`` to the day before ``end``.

    A cadence longer than that period reaches back one cadence before ``end``, so that its latest
    contact (a quarterly visit, say) is there.

    Args:
        households: The ledger.
        start: The first day of the history.
        end: The day after the last.
        workers: Worker id by cell code prefix (a grid's code): who makes the contacts there.
        seed: The seed; the same arguments give the same contacts.
        policy: Who is covered and how often they are contacted.
        missed_share: The share of due contacts that never happen.

    Returns:
        Contacts in time order.

    Raises:
        ValidationError: If ``start`` or ``end`` is not a date in the supported range, the period
            is empty or a household's cell has no worker.
    """
    start = ensure_date(start, "start")
    end = ensure_date(end, "end")
    if not end > start:
        raise ValidationError("end", "the history must end after it starts")
    rng = random.Random(seed)
    prefixes = sorted(workers, key=len, reverse=True)
    out: list[ContactAttempt] = []
    first = pendulum.datetime(start.year, start.month, start.day, tz=TZ)
    last = pendulum.datetime(end.year, end.month, end.day, tz=TZ)
    for a in assess_all(households, policy, on=end.subtract(days=1)):
        if a.tier is None:
            continue
        cell = a.household.cell_code
        by = next((workers[p] for p in prefixes if cell.startswith(p)), None)
        if by is None:
            raise ValidationError("workers", "no worker covers a household's cell")
        relocated = a.household.status is HouseholdStatus.RELOCATED
        for cadence in a.tier.cadences:
            # A cadence longer than the history still gets its latest contact: a quarterly visit
            # made before ``start`` is part of any real ledger.
            floor = min(first, last.subtract(days=cadence.every_days))
            method = cadence.method
            if relocated and method is ContactMethod.HOME_VISIT:
                method = ContactMethod.PHONE
            # Walk back from the end so that the latest contacts look like a live ledger.
            at = last.subtract(minutes=1 + int(rng.uniform(0, cadence.every_days) * 1440))
            while at >= floor:
                if rng.random() >= missed_share:
                    day = at.replace(hour=rng.randint(9, 16), minute=rng.randrange(0, 60, 5))
                    table = VISIT_OUTCOMES if method is ContactMethod.HOME_VISIT else CALL_OUTCOMES
                    out.append(
                        ContactAttempt(
                            id=f"c.{a.resident.id}.{day.format('YYYYMMDDHHmm')}.{method.value}"[
                                :64
                            ],
                            resident_id=a.resident.id,
                            household_id=a.household.id,
                            cell_code=cell,
                            method=method,
                            outcome=_pick(rng, table),
                            by=by,
                            at=day,
                        )
                    )
                at = at.subtract(minutes=int(cadence.every_days * rng.uniform(0.6, 1.0) * 1440))
    out.sort(key=lambda c: (c.at, c.id))
    # Two contacts of one resident in the same minute would share an id: keep the first.
    unique: dict[str, ContactAttempt] = {}
    for c in out:
        unique.setdefault(c.id, c)
    return iter(unique.values())
