"""Working calendars: business hours, public holidays and make-up working days (调休).

Chinese public holidays are announced each year by the State Council, and they move weekend
days: some Saturdays and Sundays become working days. A :class:`WorkCalendar` knows the years it
has announcements for. Past the last of them it either counts the statutory holidays of the
national regulation and marks every result that depends on them *provisional*
(``beyond="provisional"``, the default of :meth:`WorkCalendar.china`), or refuses with
:class:`~gridgov.errors.CalendarCoverageError` (``beyond="refuse"``). It never guesses silently.
Time limits (办理时限) counted in working days or working hours use it.

The announcements come from the ``chinesecalendar`` package (:meth:`WorkCalendar.china`), from
the announcements shipped with gridgov, or from data: a TOML table
(:meth:`WorkCalendar.from_toml`, :meth:`WorkCalendar.from_mapping`) or an iCalendar holiday feed
(:meth:`WorkCalendar.from_ical`), read by a small parser of the all-day subset of RFC 5545 that
such feeds use.
"""

from gridgov.calendar._core import Arrangement, Period, WorkCalendar, shipped_announcements

__all__ = ["Arrangement", "Period", "WorkCalendar", "shipped_announcements"]
