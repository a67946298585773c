"""A scenario's activity programme: venues, series, volunteer shifts and registrations.

``scenario.toml`` holds ``[[venues]]`` (with ``hours`` per weekday name; the scenario's calendar
gives the holidays they close on), ``[[activities]]`` (``ActivitySeries`` fields),
``[[shifts]]`` (``Shift`` fields plus the ``volunteers`` who signed up and, once done, those
``present``) and ``registrations_csv``: registrations replayed through
:func:`gridgov.services.scheduling.register` in time order, so capacity and waitlists come out as
the service decides them.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._spreadsheet import SafeCsvWriter, cell_in
from gridgov.calendar import WorkCalendar
from gridgov.care.criteria import Facts
from gridgov.errors import NotFoundError, ValidationError
from gridgov.households import Household
from gridgov.ports import UnitOfWork
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.volunteers import Shift
from gridgov.serialization import structure
from gridgov.services.scheduling import complete_shift, create_series, register, sign_up

__all__ = [
    "RegistrationRequest",
    "ShiftStory",
    "generate_registrations",
    "read_registrations_csv",
    "replay_programme",
    "stored_at",
    "venue_calendar",
    "write_registrations_csv",
]

_COLUMNS = ("series_id", "original_start", "resident_id", "registered_at")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@attrs.frozen
class RegistrationRequest:
    """One registration of a scenario, as the registrations CSV holds it.

    Args:
        series_id: The series.
        original_start: The occurrence's original start.
        resident_id: Who registers.
        registered_at: When.
    """

    series_id: str = attrs.field(validator=v.identifier)
    original_start: pendulum.DateTime = attrs.field(validator=v.aware_datetime)
    resident_id: str = attrs.field(validator=v.identifier)
    registered_at: pendulum.DateTime = attrs.field(validator=v.aware_datetime)


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return v.to_tuple(value)


@attrs.frozen
class ShiftStory:
    """A volunteer shift of a scenario and who volunteered.

    Args:
        shift: The shift.
        volunteers: The residents who signed up, in order.
        present: Those who came, once the shift is over (``None`` while it is to come).
    """

    shift: Shift
    volunteers: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    present: tuple[str, ...] | None = None


def venue_calendar(
    calendar: WorkCalendar | None, hours: Mapping[str, object], path: str
) -> WorkCalendar:
    """Return a venue's opening calendar: its ``hours`` on the scenario calendar's days off.

    Raises:
        ValidationError: Naming ``path`` and the problem.
    """
    table: dict[str, object] = dict(calendar.to_mapping()) if calendar is not None else {}
    table["hours"] = dict(hours)
    # A make-up working day keeps the hours of the venue's first open weekday.
    open_days = [d for d in _WEEKDAY_NAMES if hours.get(d)]
    table["makeup_weekday"] = open_days[0] if open_days else "monday"
    try:
        return WorkCalendar.from_mapping(table)
    except ValidationError as exc:
        raise exc.within(path) from None


def read_registrations_csv(path: Path | str) -> Iterator[RegistrationRequest]:
    """Read a registrations CSV (``series_id,original_start,resident_id,registered_at``).

    Raises:
        ValidationError: Naming the file, the line and the problem.
    """
    file = Path(path)
    with file.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ValidationError("header", f"expected {','.join(_COLUMNS)}", source=file.name)
        for row in reader:
            yield structure(
                {k: cell_in(v) if isinstance(v, str) else v for k, v in row.items()},
                RegistrationRequest,
                source=f"{file.name}: line {reader.line_num}",
            )


def write_registrations_csv(rows: Iterable[RegistrationRequest], path: Path | str) -> int:
    """Write registrations as CSV; return how many."""
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        out = SafeCsvWriter(f)
        out.writerow(_COLUMNS)
        for r in rows:
            out.writerow(
                (
                    r.series_id,
                    r.original_start.isoformat(),
                    r.resident_id,
                    r.registered_at.isoformat(),
                )
            )
            count += 1
    return count


def generate_registrations(
    series: Sequence[ActivitySeries],
    households: Sequence[Household],
    *,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    demand: Mapping[str, int],
    seed: int,
    calendar: WorkCalendar | None = None,
) -> list[RegistrationRequest]:
    """Draw registrations for the occurrences in ``[start, end)`` from eligible residents.

    Args:
        series: The programme.
        households: The ledger (resident and relocated households register).
        start: The first occurrence start considered.
        end: The end of the window.
        demand: How many registrations each series' occurrence gets (by series id; may exceed
            its capacity: the rest go on the waitlist).
        seed: The random seed.
        calendar: For series that skip public holidays.

    Returns:
        Registrations, each made one to six days before its occurrence, in time order; no
        resident twice for overlapping occurrences.
    """
    rng = random.Random(seed)
    people = [
        (m, h) for h in households if h.status.value in ("resident", "relocated") for m in h.members
    ]
    taken: list[tuple[str, pendulum.DateTime, pendulum.DateTime]] = []
    out: list[RegistrationRequest] = []
    for s in series:
        wanted = demand.get(s.id, 0)
        for occ in s.occurrences(start, end, calendar=calendar):
            if occ.start < start:
                continue
            pool = [
                (m, h)
                for m, h in people
                if s.eligibility is None
                or s.eligibility.explain(Facts.of(m, h, occ.start.date()))[0]
            ]
            busy = {rid for rid, a, b in taken if a < occ.end and occ.start < b}
            pool = [(m, h) for m, h in pool if m.id not in busy]
            for m, _ in rng.sample(pool, min(wanted, len(pool))):
                at = occ.start.subtract(minutes=rng.randint(24 * 60, 6 * 24 * 60))
                out.append(RegistrationRequest(s.id, occ.original_start, m.id, at))
                taken.append((m.id, occ.start, occ.end))
    return sorted(out, key=lambda r: (r.registered_at, r.series_id, r.resident_id))


@contextmanager
def stored_at(path: str) -> Iterator[None]:
    """Report what storing the scenario's entry at ``path`` refuses as an error at that path.

    A refused field keeps its own path under ``path`` (``activities[3].space_id``); a record
    it refers to that is not stored becomes a ValidationError at ``path`` naming it.
    """
    try:
        yield
    except ValidationError as exc:
        raise exc.within(path) from None
    except NotFoundError as exc:
        raise ValidationError(path, f"refers to an unknown {exc.kind} {exc.key!r}") from None


def replay_programme(
    uow: UnitOfWork,
    series: Sequence[ActivitySeries],
    shifts: Sequence[ShiftStory],
    registrations: Iterable[RegistrationRequest],
) -> tuple[int, int, int]:
    """Store the series (refusing clashes), shifts with their sign-ups, and the registrations.

    Returns:
        How many series, shifts and registrations were stored.

    Raises:
        ValidationError: Naming ``activities[i]`` for a series that clashes with the venue or
            another series, or the registration or shift that fails.
    """
    for i, s in enumerate(series):
        with stored_at(f"activities[{i}]"):
            plan, stored = create_series(uow, s)
        if stored is None:
            first = plan.clashes[0]
            raise ValidationError(f"activities[{i}]", f"clashes: {first.reason_en}")
    for i, story in enumerate(shifts):
        with stored_at(f"shifts[{i}]"):
            shift = uow.shifts.add(story.shift)
            for rid in story.volunteers:
                sign_up(uow, shift_id=shift.id, resident_id=rid, at=shift.start.subtract(days=2))
            if story.present is not None:
                complete_shift(uow, shift.id, present=story.present, at=shift.end)
    count = 0
    for r in registrations:
        register(
            uow,
            series_id=r.series_id,
            original_start=r.original_start,
            resident_id=r.resident_id,
            at=r.registered_at,
        )
        count += 1
    return len(series), len(shifts), count
