"""The statutory public holidays of China, by the national regulation, for unannounced years.

The regulation on national holidays (全国年节及纪念日放假办法) fixes which days are holidays;
the State Council's yearly notice (国务院办公厅关于部分节假日安排的通知) then arranges them:
it joins them into longer breaks and moves weekend days (调休). Past the last announced year a
calendar can count only what the regulation fixes: the statutory days, by the revision in force
that year. It counts no make-up working days and no compensatory days off (补假), which only the
notice places. The lunar festivals (Spring Festival, Dragon Boat, Mid-Autumn) and the Qingming
solar term come from the ``holidays`` package (extra ``cn``), whose Chinese calendar covers
1901-2100.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import importlib.util
from collections.abc import Mapping

import attrs
import pendulum

from gridgov.errors import CalendarCoverageError

__all__ = [
    "LATEST_LUNAR_YEAR",
    "REVISIONS",
    "Festival",
    "Revision",
    "revision_in_force",
    "statutory_available",
    "statutory_holidays",
]

LATEST_LUNAR_YEAR = 2100
"""The last year whose lunar festivals the ``holidays`` package knows."""


class Festival(enum.Enum):
    """A festival the regulation gives days off for."""

    NEW_YEAR = "new_year"
    SPRING_FESTIVAL = "spring_festival"
    QINGMING = "qingming"
    LABOUR_DAY = "labour_day"
    DRAGON_BOAT = "dragon_boat"
    MID_AUTUMN = "mid_autumn"
    NATIONAL_DAY = "national_day"

    @property
    def label_zh(self) -> str:
        """Return the Chinese name."""
        return _FESTIVAL_ZH[self]


_FESTIVAL_ZH = {
    Festival.NEW_YEAR: "元旦",
    Festival.SPRING_FESTIVAL: "春节",
    Festival.QINGMING: "清明节",
    Festival.LABOUR_DAY: "劳动节",
    Festival.DRAGON_BOAT: "端午节",
    Festival.MID_AUTUMN: "中秋节",
    Festival.NATIONAL_DAY: "国庆节",
}


@attrs.frozen
class Revision:
    """One revision of the regulation: the days off it gives, from its first full year.

    Args:
        since: The first year it governs entirely.
        name_en: Its name in English, with the State Council order that made it.
        name_zh: Its name in Chinese.
        days: For each festival, the days off as offsets from the festival's day (``-1`` is
            the eve).
    """

    since: int
    name_en: str
    name_zh: str
    days: Mapping[Festival, tuple[int, ...]] = attrs.field(hash=False)


_ONE = (0,)
REVISIONS = (
    Revision(
        2000,
        "1999 revision (State Council Order No. 270)",
        "1999年修订（国务院令第270号）",
        {
            Festival.NEW_YEAR: _ONE,
            Festival.SPRING_FESTIVAL: (0, 1, 2),
            Festival.LABOUR_DAY: (0, 1, 2),
            Festival.NATIONAL_DAY: (0, 1, 2),
        },
    ),
    Revision(
        2008,
        "2007 revision (State Council Order No. 513)",
        "2007年修订（国务院令第513号）",
        {
            Festival.NEW_YEAR: _ONE,
            Festival.SPRING_FESTIVAL: (-1, 0, 1),
            Festival.QINGMING: _ONE,
            Festival.LABOUR_DAY: _ONE,
            Festival.DRAGON_BOAT: _ONE,
            Festival.MID_AUTUMN: _ONE,
            Festival.NATIONAL_DAY: (0, 1, 2),
        },
    ),
    Revision(
        2014,
        "2013 revision (State Council Order No. 644)",
        "2013年修订（国务院令第644号）",
        {
            Festival.NEW_YEAR: _ONE,
            Festival.SPRING_FESTIVAL: (0, 1, 2),
            Festival.QINGMING: _ONE,
            Festival.LABOUR_DAY: _ONE,
            Festival.DRAGON_BOAT: _ONE,
            Festival.MID_AUTUMN: _ONE,
            Festival.NATIONAL_DAY: (0, 1, 2),
        },
    ),
    Revision(
        2025,
        "2024 revision (State Council Order No. 795)",
        "2024年修订（国务院令第795号）",
        {
            Festival.NEW_YEAR: _ONE,
            Festival.SPRING_FESTIVAL: (-1, 0, 1, 2),
            Festival.QINGMING: _ONE,
            Festival.LABOUR_DAY: (0, 1),
            Festival.DRAGON_BOAT: _ONE,
            Festival.MID_AUTUMN: _ONE,
            Festival.NATIONAL_DAY: (0, 1, 2),
        },
    ),
)
"""The revisions of 全国年节及纪念日放假办法, oldest first."""


def revision_in_force(year: int) -> Revision:
    """Return the revision of the regulation that governs ``year``.

    Raises:
        CalendarCoverageError: Before 2000, the first year of the oldest revision gridgov knows.
    """
    for revision in reversed(REVISIONS):
        if year >= revision.since:
            return revision
    raise CalendarCoverageError(
        f"{year} is before {REVISIONS[0].since}: gridgov knows the holiday regulation only from "
        f"its {REVISIONS[0].name_en}"
    )


_FIXED = {
    Festival.NEW_YEAR: (1, 1),
    Festival.LABOUR_DAY: (5, 1),
    Festival.NATIONAL_DAY: (10, 1),
}
# The names the ``holidays`` package gives the days whose date it computes (its en_US labels).
_COMPUTED = {
    Festival.SPRING_FESTIVAL: "Chinese New Year (Spring Festival)",
    Festival.QINGMING: "Tomb-Sweeping Day",
    Festival.DRAGON_BOAT: "Dragon Boat Festival",
    Festival.MID_AUTUMN: "Mid-Autumn Festival",
}


def statutory_available() -> bool:
    """Return whether the ``holidays`` package, which gives the lunar dates, is installed."""
    return importlib.util.find_spec("holidays") is not None


@functools.cache
def _festival_days(year: int) -> dict[Festival, dt.date]:
    """Return each computed festival's day in ``year`` (Spring Festival: its first day)."""
    try:
        import holidays
    except ImportError:
        raise CalendarCoverageError(
            f"counting {year} by the statutory rule needs the holidays package for its lunar "
            "dates: pip install 'gridgov[cn]'"
        ) from None
    found = holidays.country_holidays("CN", years=year, observed=False, language="en_US")
    days: dict[Festival, dt.date] = {}
    for festival, name in _COMPUTED.items():
        named = found.get_named(name, lookup="exact")
        if named:
            days[festival] = min(named)
    return days


def statutory_holidays(year: int) -> dict[pendulum.Date, Festival]:
    """Return the statutory days off of ``year`` by the revision in force, with their festival.

    Weekend days are included when a festival falls on one: the regulation's days, not the
    notice's arrangement.

    Args:
        year: The year, from 2000 to 2100.

    Returns:
        Each day off and its festival.

    Raises:
        CalendarCoverageError: Before 2000, where the lunar calendar of the ``holidays``
            package ends (after 2100), or if that package is not installed.
    """
    revision = revision_in_force(year)
    computed = _festival_days(year)
    out: dict[pendulum.Date, Festival] = {}
    for festival, offsets in revision.days.items():
        if festival in _FIXED:
            month, day = _FIXED[festival]
            base = dt.date(year, month, day)
        elif festival in computed:
            base = computed[festival]
        else:
            raise CalendarCoverageError(
                f"{year} has no {festival.value.replace('_', ' ')} date in the lunar calendar "
                "gridgov uses (the holidays package covers 1901-2100)"
            )
        for offset in offsets:
            d = base + dt.timedelta(days=offset)
            out[pendulum.Date(d.year, d.month, d.day)] = festival
    return out
