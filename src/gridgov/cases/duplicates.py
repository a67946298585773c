"""Possible duplicates (疑似重复): two reports of one problem, flagged, then merged or marked.

A problem seen by many is reported many times: the same broken manhole cover by a patrol and a
passer-by, the same heap of rubbish through 12345 and the app. When a case is reported,
:func:`matches` flags the earlier cases that may be the same problem:

- the same component (部件, :mod:`gridgov.cases.components`), reported within the window; or
- the same minor category (a 12345 category counts as the standard one it maps to), reported
  within the window, and within the distance when both cases have a point, or in the same
  cell when either has none.

Cases rejected, and cases already closed as duplicates, are not candidates. The flag
(:attr:`~gridgov.cases.model.Case.possible_duplicates`) only informs: a dispatcher then merges
the case into the other (``Action.MERGE``, 合并) or marks it a duplicate
(``Action.MARK_DUPLICATE``, 重复件). Either closes it with the link kept both ways
(:attr:`~gridgov.cases.model.Case.duplicate_of` on it, :attr:`~gridgov.cases.model.Case.duplicates`
on the other, with a history line on each), and its reporter is told which case handles the
problem. A duplicate is counted by no indicator but the duplicates' own count
(:mod:`gridgov.services.kpis`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pendulum

from gridgov.cases.model import Case, CaseState, HistoryEntry
from gridgov.errors import ValidationError

__all__ = [
    "DEFAULT_DUPLICATES",
    "DuplicateRule",
    "Sighting",
    "distance_m",
    "linked",
    "matches",
    "sighting",
]

_EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG), as GIS tools use for haversine


def _positive(high: float) -> Any:
    def check(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not 0 < value <= high
            or math.isnan(value)
        ):
            raise ValidationError(attribute.name, f"expected a number above 0, at most {high}")

    return check


@attrs.frozen
class DuplicateRule:
    """When two reports may be one problem.

    Args:
        distance_m: How near (metres, great-circle) two reports of one minor category must be.
            Proposal: 50 m, a street frontage; no standard sets it.
        window_hours: How long before a report an earlier one may be the same problem.
            Proposal: 72 hours, a long weekend; no standard sets it.
    """

    distance_m: float = attrs.field(default=50.0, validator=_positive(100_000))
    window_hours: float = attrs.field(default=72.0, validator=_positive(24 * 366))

    @property
    def window(self) -> pendulum.Duration:
        """Return the window as a duration."""
        return pendulum.duration(seconds=self.window_hours * 3600)


DEFAULT_DUPLICATES = DuplicateRule()
"""The rule a store without its own uses (proposals: see :class:`DuplicateRule`)."""


@attrs.frozen
class Sighting:
    """What the duplicate check reads of a case: ids, codes, place and time, nobody's data.

    Args:
        case_id: The case.
        category: Its category code.
        cell_code: The cell it lies in.
        reported_at: When it was received.
        point: ``(longitude, latitude)``, if known.
        component_id: The component it is about, if any.
        candidate: Whether it may still be duplicated: neither rejected nor itself a duplicate.
    """

    case_id: str
    category: str
    cell_code: str
    reported_at: pendulum.DateTime
    point: tuple[float, float] | None = None
    component_id: str | None = None
    candidate: bool = True


def sighting(case: Case) -> Sighting:
    """Return what the duplicate check reads of ``case``."""
    return Sighting(
        case.id,
        case.category,
        case.cell_code,
        case.reported_at,
        case.location.point,
        case.component_id,
        case.state is not CaseState.REJECTED and not case.is_duplicate,
    )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the great-circle distance in metres between two ``(longitude, latitude)`` points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def matches(
    new: Sighting,
    earlier: Iterable[Sighting],
    rule: DuplicateRule,
    standard: Callable[[str], str | None],
) -> tuple[str, ...]:
    """Return the ids of the earlier cases ``new`` may duplicate, oldest first.

    Args:
        new: The case just reported.
        earlier: Cases reported before it (any order; others are ignored).
        rule: The distance and window.
        standard: Gives the standard minor category a category code counts as (a 12345
            category's mapped one; :meth:`~gridgov.cases.catalogue.ServiceCatalogue.standard`),
            or ``None`` for a category outside the trees (a complaint may be about anything:
            only its component makes it a duplicate).
    """
    since = new.reported_at - rule.window
    kind = standard(new.category)
    found = []
    for other in earlier:
        if (
            other.case_id == new.case_id
            or not other.candidate
            or not since <= other.reported_at <= new.reported_at
        ):
            continue
        if new.component_id is not None and other.component_id == new.component_id:
            found.append(other)
        elif kind is not None and standard(other.category) == kind:
            if new.point is not None and other.point is not None:
                near = distance_m(new.point, other.point) <= rule.distance_m
            else:
                near = new.cell_code == other.cell_code
            if near:
                found.append(other)
    found.sort(key=lambda s: (s.reported_at, s.case_id))
    return tuple(dict.fromkeys(s.case_id for s in found))


def linked(
    survivor: Case,
    duplicate: Case,
    *,
    actor: str,
    role: str,
    at: pendulum.DateTime,
    merged: bool,
) -> Case:
    """Return ``survivor`` with ``duplicate`` linked: listed in its duplicates, a history line.

    Raises:
        ValidationError: If ``survivor`` is itself a duplicate (link to the case it duplicates),
            is ``duplicate``, or ``at`` is before its last history entry.
    """
    if survivor.id == duplicate.id:
        raise ValidationError("duplicate_of", "a case cannot duplicate itself")
    if survivor.is_duplicate:
        raise ValidationError(
            "duplicate_of", f"that case is itself a duplicate of {survivor.duplicate_of}"
        )
    if survivor.history and at < survivor.history[-1].at:
        raise ValidationError("at", "earlier than the other case's last recorded step")
    if duplicate.id in survivor.duplicates:
        return survivor
    entry = HistoryEntry(
        "absorb" if merged else "link_duplicate",
        actor,
        role,
        at,
        survivor.state,
        survivor.state,
        note=f"{'merged' if merged else 'duplicate'}: {duplicate.id}",
        owner_cell=survivor.owner_cell,
        owner_worker=survivor.owner_worker,
        owner_department=survivor.owner_department,
    )
    return attrs.evolve(
        survivor,
        duplicates=(*survivor.duplicates, duplicate.id),
        history=(*survivor.history, entry),
    )
