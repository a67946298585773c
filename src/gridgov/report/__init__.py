"""Reports: what a community's grids did, as a page to read and to circulate.

- :func:`write_report` writes a static, self-contained ``index.html``: KPIs per grid, bar charts
  and a map of the grids in inline SVG, with no script and no personal data.
- :func:`collect` gathers the same figures as plain objects (:class:`ReportFigures`), for another
  format; their standard indicators per grid, department and post are a
  :class:`~gridgov.report.standard.StandardFigures`.
"""

from gridgov.report.figures import GridFigures, ReportFigures, VenueFill, collect
from gridgov.report.html import render, write_page, write_report

__all__ = [
    "GridFigures",
    "ReportFigures",
    "VenueFill",
    "collect",
    "render",
    "write_page",
    "write_report",
]
