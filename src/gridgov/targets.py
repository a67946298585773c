"""Targets as data: the share each indicator should reach, per cell and period, and the checks.

A district sets what its grids should reach (目标): every covered elder visited once a month
(the national 100%), cases closed within their limit, residents satisfied with closed cases,
activities filled. :class:`Targets` declares them, with per-cell overrides, in the store's
settings (:attr:`gridgov.settings.Settings.targets`) or a scenario's ``[targets]`` table::

    [targets]
    visit_coverage = 1.0            # shares from 0 to 1: 1.0 is 100%
    case_closure_on_time = 0.9
    satisfaction = 0.9
    activity_fill = 0.6

    [targets.cells.610102003006004]  # a cell and its subtree: only what differs
    visit_coverage = 0.95

A :class:`TargetCheck` sets a target beside the actual figure of a cell and period, ``met``,
``not_met``, or ``no_data`` when there is nothing to count (no call-back yet, say).
:func:`gridgov.report.targets.assess` checks the figures of a report.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.errors import ValidationError

__all__ = [
    "DEFAULT_TARGETS",
    "CellTargets",
    "Indicator",
    "TargetCheck",
    "TargetStatus",
    "Targets",
    "check_target",
]


class Indicator(enum.Enum):
    """An indicator a target is set for; each a share from 0 to 1."""

    #: Covered elders reached at least once in the month (联系率; the national target is 100%).
    VISIT_COVERAGE = "visit_coverage"
    #: Cases due for closure closed within their limit (按期结案率).
    CASE_CLOSURE_ON_TIME = "case_closure_on_time"
    #: Cases called back whose reporter was satisfied or basically satisfied (满意率).
    SATISFACTION = "satisfaction"
    #: Places taken in the month's activities with limited places (活动满员率).
    ACTIVITY_FILL = "activity_fill"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _LABELS[self][1]

    @property
    def label_en(self) -> str:
        """Return the English label."""
        return _LABELS[self][0]


_LABELS = {
    Indicator.VISIT_COVERAGE: ("visit coverage", "探访联系率"),
    Indicator.CASE_CLOSURE_ON_TIME: ("closed within the limit", "按期结案率"),
    Indicator.SATISFACTION: ("satisfaction", "满意率"),
    Indicator.ACTIVITY_FILL: ("activity fill", "活动满员率"),
}


def _share(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationError(attribute.name, "expected a share from 0 to 1 (1 is 100%)")


def _optional_share() -> Any:
    return attrs.field(default=None, validator=_share)


@attrs.frozen
class CellTargets:
    """The targets of a cell and its subtree that differ from the general ones.

    Each is a share from 0 to 1; ``None`` takes the general target.

    Args:
        visit_coverage: See :attr:`Indicator.VISIT_COVERAGE`.
        case_closure_on_time: See :attr:`Indicator.CASE_CLOSURE_ON_TIME`.
        satisfaction: See :attr:`Indicator.SATISFACTION`.
        activity_fill: See :attr:`Indicator.ACTIVITY_FILL`.
    """

    visit_coverage: float | None = _optional_share()
    case_closure_on_time: float | None = _optional_share()
    satisfaction: float | None = _optional_share()
    activity_fill: float | None = _optional_share()

    def levels(self) -> dict[Indicator, float]:
        """Return the targets set here, by indicator."""
        found = {i: getattr(self, i.value) for i in Indicator}
        return {i: float(share) for i, share in found.items() if share is not None}


def _cells(value: Mapping[str, CellTargets]) -> Mapping[str, CellTargets]:
    return MappingProxyType(dict(value))


def _check_cells(_inst: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
    for code, targets in value.items():
        if not isinstance(code, str) or not code or len(code) > 64:
            raise ValidationError("cells", "a cell code is 1-64 characters")
        if not isinstance(targets, CellTargets):
            raise ValidationError(f"cells.{code}", "expected a table of targets")


@attrs.frozen
class Targets:
    """The targets of a deployment: the general ones and each cell's own.

    Each is a share from 0 to 1; ``None`` sets no target for the indicator (nothing is
    checked).

    Args:
        visit_coverage: Covered elders reached at least once in the month; 100% by default,
            as the national guidance asks.
        case_closure_on_time: Cases due for closure closed within their limit.
        satisfaction: Called-back cases whose reporter was (basically) satisfied.
        activity_fill: Places taken in the month's activities with limited places.
        cells: Targets of a cell and its subtree, by code; the nearest cell's win.

    Raises:
        ValidationError: Naming the field, on a share outside 0 to 1.
    """

    visit_coverage: float | None = attrs.field(default=1.0, validator=_share)
    case_closure_on_time: float | None = _optional_share()
    satisfaction: float | None = _optional_share()
    activity_fill: float | None = _optional_share()
    cells: Mapping[str, CellTargets] = attrs.field(
        factory=dict, converter=_cells, validator=_check_cells
    )

    def for_cell(self, code: str) -> dict[Indicator, float]:
        """Return the targets of a cell: the general ones, overridden by its own and its parents'.

        A cell covers its subtree, as a scope does: ``610102003006`` sets the targets of every
        cell whose code begins with it, and a longer (nearer) code wins.
        """
        levels = CellTargets(
            self.visit_coverage, self.case_closure_on_time, self.satisfaction, self.activity_fill
        ).levels()
        for cell in sorted((c for c in self.cells if code.startswith(c)), key=len):
            levels.update(self.cells[cell].levels())
        return {i: levels[i] for i in Indicator if i in levels}


DEFAULT_TARGETS = Targets()
"""The targets of a store that sets none: visit coverage 100% a month, nothing else."""


class TargetStatus(enum.Enum):
    """How an actual figure stands against its target."""

    MET = "met"
    NOT_MET = "not_met"
    #: Nothing to count in the period (no covered elder, no case due, no call-back).
    NO_DATA = "no_data"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {"met": "达标", "not_met": "未达标", "no_data": "暂无数据"}[self.value]


@attrs.frozen
class TargetCheck:
    """An indicator of a cell over a period, beside its target.

    Args:
        cell_code: The cell (its subtree); ``""`` for all the cells of a report together.
        indicator: The indicator.
        start: The period's first day.
        end: The day after its last.
        target: The share to reach.
        part: The count that reached it (cases closed on time, elders reached, ...).
        whole: The count it is a share of; 0 when there is nothing to count.
        actual: ``part / whole``, or ``None`` when ``whole`` is 0.
        status: Met, not met, or no data.
    """

    cell_code: str = attrs.field(validator=v.text(64, allow_empty=True))
    indicator: Indicator = attrs.field(validator=v.instance_of(Indicator))
    start: pendulum.Date = attrs.field(validator=v.plain_date)
    end: pendulum.Date = attrs.field(validator=v.plain_date)
    target: float = attrs.field(validator=_share)
    part: int = attrs.field(validator=v.non_negative_int)
    whole: int = attrs.field(validator=v.non_negative_int)
    actual: float | None
    status: TargetStatus = attrs.field(validator=v.instance_of(TargetStatus))

    @property
    def met(self) -> bool:
        """Return whether the target is met (``False`` for no data)."""
        return self.status is TargetStatus.MET


# Shares are compared as the counts give them: 99 of 100 against 0.99 is met, whatever the
# float rounding of 99 / 100.
_EPSILON = 1e-9


def check_target(
    cell_code: str,
    indicator: Indicator,
    *,
    start: pendulum.Date,
    end: pendulum.Date,
    target: float,
    part: int,
    whole: int,
) -> TargetCheck:
    """Return the check of ``part`` of ``whole`` against ``target``.

    Raises:
        ValidationError: On a share outside 0 to 1, negative counts, or ``part`` over ``whole``.
    """
    if part > whole:
        raise ValidationError("part", "more than the whole")
    actual = part / whole if whole else None
    if actual is None:
        status = TargetStatus.NO_DATA
    elif actual + _EPSILON >= target:
        status = TargetStatus.MET
    else:
        status = TargetStatus.NOT_MET
    return TargetCheck(cell_code, indicator, start, end, target, part, whole, actual, status)
