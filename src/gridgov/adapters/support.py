"""Rules and helpers every adapter applies the same way: cursors, limits, integrity checks.

Public for third-party adapters: using them keeps an adapter's errors and cursors the same as the
built-in ones, which the conformance kit checks.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Protocol, TypeVar

import attrs
import pendulum

from gridgov._validation import UNSTORABLE, UNSTORABLE_PROBLEM
from gridgov.access import AuditEntry, AuditKind
from gridgov.care.contacts import CareTask, ContactAttempt
from gridgov.cases.components import Component
from gridgov.cases.model import Case
from gridgov.clock import ensure_date
from gridgov.codes import CodeScheme
from gridgov.errors import ValidationError
from gridgov.grid import GridCell, Worker
from gridgov.households import Household
from gridgov.idempotency import RememberedRequest
from gridgov.identity import check_id_key
from gridgov.notify import Notification
from gridgov.outbox import StoredEvent
from gridgov.ports import MAX_PAGE_SIZE
from gridgov.scheduling.registrations import Occupancy, Registration, RegistrationState
from gridgov.scheduling.series import ActivitySeries
from gridgov.scheduling.venues import Venue
from gridgov.scheduling.volunteers import Shift, SignUp, SignUpState
from gridgov.settings import Settings

__all__ = [
    "INSTANT_KEY_WIDTH",
    "RegistrationCounts",
    "SignUpCounts",
    "StoredRecord",
    "birth_bounds",
    "check_audit_filters",
    "check_batch_size",
    "check_digest",
    "check_history_kept",
    "check_id_key",
    "check_instant",
    "check_limit",
    "check_placement",
    "check_resident_reference",
    "check_text_key",
    "check_time_range",
    "check_window",
    "decode_cursor",
    "encode_cursor",
    "instant_key",
    "series_span",
    "task_references_changed",
    "with_version",
]

#: Any record a store keeps.
StoredRecord = TypeVar(
    "StoredRecord",
    GridCell,
    Worker,
    Household,
    ContactAttempt,
    CareTask,
    Case,
    Settings,
    Venue,
    ActivitySeries,
    Registration,
    Shift,
    SignUp,
    AuditEntry,
    RememberedRequest,
    StoredEvent,
    Notification,
    Component,
)

INSTANT_KEY_WIDTH = 26
"""The length of an :func:`instant_key`: ``YYYY-MM-DDTHH:MM:SS.ffffff``."""


def check_limit(limit: object) -> int:
    """Return ``limit`` if it is a page size gridgov accepts.

    Raises:
        ValidationError: If it is not an integer from 1 to ``MAX_PAGE_SIZE``.
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError("limit", f"a page size is an integer from 1 to {MAX_PAGE_SIZE}")
    return limit


def check_batch_size(batch_size: object) -> int:
    """Return ``batch_size`` if it is an integer from 1 to ``MAX_PAGE_SIZE``.

    Raises:
        ValidationError: Naming ``batch_size`` otherwise.
    """
    if (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or not 1 <= batch_size <= MAX_PAGE_SIZE
    ):
        raise ValidationError("batch_size", f"a batch is 1 to {MAX_PAGE_SIZE} records")
    return batch_size


def encode_cursor(*parts: str) -> str:
    """Encode a query's sort key as an opaque cursor."""
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> tuple[str, ...] | None:
    """Decode a cursor made by :func:`encode_cursor` with ``arity`` parts.

    Raises:
        ValidationError: If it is not such a cursor.
    """
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, UnicodeError):
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != arity
        or not all(isinstance(p, str) and not UNSTORABLE.search(p) for p in parts)
    ):
        raise ValidationError("after", "not a cursor returned by this query")
    return tuple(parts)


def with_version(obj: StoredRecord, version: int) -> StoredRecord:
    """Return a copy of a validated record with another ``version``, skipping re-validation.

    Re-running every validator of a household to bump a counter would dominate bulk loads.
    """
    cls = type(obj)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in attrs.fields(cls) if f.name != "version")
    clone = object.__new__(cls)
    for name in names:
        object.__setattr__(clone, name, getattr(obj, name))
    object.__setattr__(clone, "version", version)
    return clone


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def check_placement(cell: GridCell, parent: GridCell | None, scheme: CodeScheme) -> None:
    """Check that ``cell`` fits under ``parent`` (looked up by the adapter) and ``scheme``.

    Raises:
        ValidationError: On an unknown parent, a wrong level or a code that does not fit.
    """
    if cell.parent_code is not None:
        if parent is None:
            raise ValidationError("parent_code", "unknown parent cell")
        if parent.level.child() is not cell.level:
            raise ValidationError(
                "level", f"a {cell.level.value} cannot sit directly under a {parent.level.value}"
            )
    cell.check_code(scheme)


def birth_bounds(
    on: pendulum.Date, min_age: int | None, max_age: int | None
) -> tuple[pendulum.Date | None, pendulum.Date | None]:
    """Translate age bounds on a date into birth-date bounds ``(born_after, born_on_or_before)``.

    Age >= ``min_age`` means born on or before ``on`` minus ``min_age`` years; age <= ``max_age``
    means born strictly after ``on`` minus ``max_age + 1`` years.

    Raises:
        ValidationError: On a date outside the supported range, a bound outside 0 to 150 or
            ``min_age > max_age``.
    """
    ensure_date(on, "on")
    for name, value in (("min_age", min_age), ("max_age", max_age)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150
        ):
            raise ValidationError(name, "an age bound is an integer from 0 to 150")
    if min_age is not None and max_age is not None and min_age > max_age:
        raise ValidationError("min_age", "greater than max_age")
    latest = None if min_age is None else on.subtract(years=min_age)
    born_after = None if max_age is None else on.subtract(years=max_age + 1)
    return born_after, latest


_DIGEST = re.compile(r"[0-9a-f]{64}")


def check_digest(value: object) -> str:
    """Return ``value`` if it is an ID digest (64 lower-case hex digits, ``IdKey.digest``).

    Raises:
        ValidationError: Naming ``digest`` otherwise; a national ID given in its place is
            never repeated (the message says so).
    """
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise ValidationError(
            "digest", "expected 64 lower-case hex digits (IdKey.digest), not an ID number"
        )
    return value


def check_text_key(name: str, value: object) -> str:
    """Return ``value`` if it is a string key, else raise a ValidationError naming ``name``.

    A key with a control character or a lone surrogate is refused too: no store could hold it
    (SQL drivers fail to encode it), so it can name nothing stored.
    """
    if not isinstance(value, str) or not value:
        raise ValidationError(name, "expected a non-empty string")
    if UNSTORABLE.search(value):
        raise ValidationError(name, UNSTORABLE_PROBLEM)
    return value


def check_instant(name: str, value: object) -> pendulum.DateTime:
    """Return ``value`` if it is a tz-aware pendulum DateTime.

    Raises:
        ValidationError: Naming ``name`` otherwise.
    """
    if not isinstance(value, pendulum.DateTime):
        raise ValidationError(name, f"expected a pendulum DateTime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(name, "naive datetime: an instant needs a time zone")
    return value


def instant_key(instant: pendulum.DateTime, name: str = "at") -> str:
    """Return ``instant`` in UTC as sortable text ``YYYY-MM-DDTHH:MM:SS.ffffff``.

    Two DateTimes that are the same instant in different zones get the same key, and keys sort
    as the instants do; every key is :data:`INSTANT_KEY_WIDTH` characters long.

    Raises:
        ValidationError: Naming ``name`` if the instant is naive or has no UTC equivalent.
    """
    # A checked instant has an offset; ``or`` only satisfies the type checker.
    offset = check_instant(name, instant).utcoffset() or dt.timedelta()
    wall = dt.datetime(
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
        instant.second,
        instant.microsecond,
    )
    try:
        utc = wall - offset
    except OverflowError:
        raise ValidationError(name, "the instant is out of range in UTC") from None
    return utc.isoformat(timespec="microseconds")


def check_time_range(since: object, until: object) -> tuple[str, str]:
    """Return the instant keys of a ``since <= at < until`` range.

    Raises:
        ValidationError: Naming ``since`` or ``until`` if one is not a tz-aware DateTime, or
            ``until`` if it comes before ``since``.
    """
    low = instant_key(check_instant("since", since), "since")
    high = instant_key(check_instant("until", until), "until")
    if high < low:
        raise ValidationError("until", "the range ends before it starts")
    return low, high


def check_sighting_filter(category: object, component_id: object) -> tuple[str, str]:
    """Return the case index and group a duplicate read uses (``cases.sightings``).

    Raises:
        ValidationError: Unless exactly one of ``category`` and ``component_id`` is given.
    """
    if (category is None) == (component_id is None):
        raise ValidationError("category", "give a category or a component_id, one of them")
    if category is not None:
        check_text_key("category", category)
        return "gg_cases_category", str(category)
    check_text_key("component_id", component_id)
    return "gg_cases_component", str(component_id)


def check_window(start: object, end: object) -> tuple[str, str]:
    """Return the instant keys of a ``[start, end)`` window, for the overlap queries.

    Raises:
        ValidationError: Naming ``start`` or ``end`` if one is not a tz-aware DateTime, or
            ``end`` if it comes before ``start``.
    """
    low = instant_key(check_instant("start", start), "start")
    high = instant_key(check_instant("end", end), "end")
    if high < low:
        raise ValidationError("end", "the window ends before it starts")
    return low, high


def check_audit_filters(
    principal_id: object, subject: object, kind: object
) -> tuple[str | None, str | None, AuditKind | None]:
    """Return the optional filters of ``AuditRepository.between`` if they are well formed.

    Raises:
        ValidationError: Naming ``principal_id`` or ``subject`` if one is given but is not a
            non-empty string, ``kind`` if it is given but is not an :class:`AuditKind`.
    """
    who = None if principal_id is None else check_text_key("principal_id", principal_id)
    what = None if subject is None else check_text_key("subject", subject)
    if kind is None or isinstance(kind, AuditKind):
        return who, what, kind
    raise ValidationError("kind", f"expected an AuditKind, got {type(kind).__name__}")


def series_span(series: ActivitySeries) -> tuple[str, str | None]:
    """Return the instant keys of when a series' occurrences can start and end at the latest.

    The first key is the earliest start: the series' ``start``, or an occurrence moved before
    it. The second is ``series.last_end`` (``None`` for a series that never ends). A series may
    have occurrences in ``[start, end)`` exactly when its first key is below the window's end
    and its last key, if any, above the window's start: what ``SeriesRepository.in_venue`` keeps.
    """
    first = min([series.start, *(c.start for c in series.changes if c.start is not None)])
    last = series.last_end
    return instant_key(first, "start"), None if last is None else instant_key(last, "last_end")


def check_resident_reference(
    record: ContactAttempt | CareTask, owner: tuple[str, str] | None
) -> None:
    """Check a contact's or task's resident against where the store holds that resident.

    Args:
        record: The contact or task to store.
        owner: ``(household_id, cell_code)`` of the stored household the resident belongs to,
            ``None`` if no stored household holds them (as the adapter looked it up).

    Raises:
        ValidationError: Naming ``resident_id`` for an unknown resident, ``household_id`` if the
            resident belongs to another household, ``cell_code`` if the household lives in
            another cell.
    """
    if owner is None:
        raise ValidationError("resident_id", "no stored household holds this resident")
    if owner[0] != record.household_id:
        raise ValidationError("household_id", "the resident belongs to another household")
    if owner[1] != record.cell_code:
        raise ValidationError("cell_code", "the household lives in another cell")


def check_history_kept(stored_entries: int, case: Case) -> None:
    """Refuse an update that would drop entries from a case's append-only history.

    Args:
        stored_entries: How many history entries the stored case has.
        case: The updated case.

    Raises:
        ValidationError: Naming ``history`` if the update has fewer entries than are stored.
    """
    if len(case.history) < stored_entries:
        raise ValidationError(
            "history",
            f"a case's history only grows: the update has {len(case.history)} entries, "
            f"{stored_entries} are stored",
        )


def task_references_changed(stored: tuple[str, str, str], task: CareTask) -> bool:
    """Return whether an update moves ``task`` to another household or cell.

    Args:
        stored: ``(resident_id, household_id, cell_code)`` of the stored task.
        task: The updated task.

    Raises:
        ValidationError: Naming ``resident_id`` if the update hands the task to someone else.
    """
    if stored[0] != task.resident_id:
        raise ValidationError("resident_id", "a task cannot change resident; add a new task")
    return stored[1:] != (task.household_id, task.cell_code)


class _Registrations(Protocol):
    def for_occurrence(self, occurrence_id: str) -> tuple[Registration, ...]: ...

    def update(self, registration: Registration) -> Registration: ...


class RegistrationCounts:
    """The registration queries a store derives from its own ``for_occurrence`` and ``update``.

    A store's ``for_occurrence`` sees every registration (only a scoped unit narrows it), so
    these count the whole occurrence. Mix it into a registration repository.
    """

    def occupancy(self: _Registrations, occurrence_id: str) -> Occupancy:
        """Return the places taken and the waitlist of an occurrence."""
        return Occupancy.of(self.for_occurrence(occurrence_id))

    def promote_first_waiting(self: _Registrations, occurrence_id: str) -> Registration | None:
        """Confirm the occurrence's first waitlisted registration (by registration time)."""
        for r in self.for_occurrence(occurrence_id):
            if r.state is RegistrationState.WAITLISTED:
                return self.update(attrs.evolve(r, state=RegistrationState.CONFIRMED))
        return None


class _SignUps(Protocol):
    def for_shift(self, shift_id: str) -> tuple[SignUp, ...]: ...


class SignUpCounts:
    """The sign-up count a store derives from its own ``for_shift``; mix it into a repository."""

    def taken(self: _SignUps, shift_id: str) -> int:
        """Return how many volunteers are signed up for the shift."""
        return sum(1 for s in self.for_shift(shift_id) if s.state is SignUpState.SIGNED_UP)
