"""Standard formats in and out: one module per format.

- :mod:`gridgov.interop.open311`: Open311 GeoReport v2 service lists, service requests, the
  import of requests as cases and the error document.
- :mod:`gridgov.interop.ical`: iCalendar (RFC 5545) schedules of a venue, a space, a series or a
  resident, with RRULE, EXDATE and RECURRENCE-ID rather than expanded lists.
"""
