"""Inline SVG for the report: horizontal bar charts and a map of cell boundaries.

Plain strings, no library, no script: each chart is an ``<svg role="img">`` with an ``aria-label``,
a ``<title>`` and a ``<desc>``; every bar and every cell has its own ``<title>`` (a tooltip).
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from collections.abc import Sequence
from html import escape

import attrs

from gridgov.grid import Boundary

__all__ = ["Area", "Series", "bar_chart", "map_svg", "text_width"]

_FONT = 13  # px, the charts' text
_BAR = 14  # px, one bar's height
_GAP = 12  # px, between two categories
_PLOT = 360  # px, the plot's width
_RIGHT = 64  # px, room for the value labels


@attrs.frozen
class Series:
    """One series of bars.

    Args:
        label: Its legend.
        colour: Its fill.
        values: One value per category, ``None`` where there is none.
        texts: The value shown at the end of each bar.
    """

    label: str
    colour: str
    values: tuple[float | None, ...]
    texts: tuple[str, ...]


@attrs.frozen
class Area:
    """One cell on the map.

    Args:
        code: The cell's code (``data-code``).
        name: Its name, drawn inside it.
        boundary: Its outline.
        colour: Its fill.
        title: Its tooltip.
        label: A second line under the name.
    """

    code: str
    name: str
    boundary: Boundary
    colour: str
    title: str
    label: str


def text_width(text: str, size: float = _FONT) -> float:
    """Return an estimate of the width of ``text`` in px: wide (CJK) characters take 1 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def _n(x: float) -> str:
    """Return a coordinate with at most one decimal."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _open(chart_id: str, title: str, summary: str, width: float, height: float) -> list[str]:
    return [
        f'<svg id="{escape(chart_id)}" class="chart" role="img" '
        f'aria-label="{escape(f"{title}. {summary}")}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}">',
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(summary)}</desc>",
    ]


def bar_chart(
    *,
    chart_id: str,
    title: str,
    summary: str,
    categories: Sequence[str],
    series: Sequence[Series],
    maximum: float,
    ticks: Sequence[tuple[float, str]],
    target: tuple[float, str] | None = None,
    totals: Sequence[str] | None = None,
) -> str:
    """Return a horizontal bar chart: one band per category, grouped or stacked series.

    Args:
        chart_id: The ``id`` of the ``<svg>``.
        title: Its title.
        summary: What it shows, in a sentence (the ``<desc>`` and the ``aria-label``).
        categories: The bands' labels, top to bottom.
        series: The series, each with one value per category.
        maximum: The value at the plot's right edge.
        ticks: Values and labels along the axis.
        target: A value and label drawn as a dashed line across the plot.
        totals: Stack the series in one bar per category, labelled with these totals, instead
            of drawing one bar per series.

    Returns:
        The ``<svg>`` element.
    """
    maximum = maximum if maximum > 0 else 1.0
    stacked = totals is not None
    left = max((text_width(c) for c in categories), default=0.0) + 16
    legend_h = 26.0
    bars = 1 if stacked else len(series)
    band = bars * _BAR + _GAP
    top = legend_h + 8
    plot_h = band * len(categories)
    width = left + _PLOT + _RIGHT
    height = top + plot_h + 28
    out = _open(chart_id, title, summary, width, height)

    x = 0.0
    for s in series:  # the legend
        out.append(
            f'<rect class="key" x="{_n(x)}" y="6" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{_n(x + 16)}" y="16">{escape(s.label)}</text>'
        )
        x += 16 + text_width(s.label) + 18

    def scale(value: float) -> float:
        return left + _PLOT * min(value, maximum) / maximum

    for value, label in ticks:  # the axis
        tx = scale(value)
        out.append(
            f'<line class="grid" x1="{_n(tx)}" y1="{_n(top)}" x2="{_n(tx)}" '
            f'y2="{_n(top + plot_h)}"/>'
            f'<text class="tick" x="{_n(tx)}" y="{_n(top + plot_h + 16)}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )

    if target is not None:
        tx = scale(target[0])
        out.append(
            f'<line class="target" x1="{_n(tx)}" y1="{_n(top - 4)}" x2="{_n(tx)}" '
            f'y2="{_n(top + plot_h)}"><title>{escape(target[1])}</title></line>'
        )
    for i, category in enumerate(categories):
        y0 = top + i * band + _GAP / 2
        out.append(
            f'<text class="category" x="{_n(left - 8)}" y="{_n(y0 + bars * _BAR / 2 + 4.5)}" '
            f'text-anchor="end">{escape(category)}</text>'
        )
        offset = 0.0
        for j, s in enumerate(series):
            amount = s.values[i]
            y = y0 if stacked else y0 + j * _BAR
            start = offset if stacked else 0.0
            if amount is not None and amount > 0:
                x0, x1 = scale(start), scale(start + amount)
                out.append(
                    f'<rect x="{_n(x0)}" y="{_n(y)}" width="{_n(max(x1 - x0, 0.5))}" '
                    f'height="{_BAR - 2}" fill="{s.colour}">'
                    f"<title>{escape(f'{category} · {s.label}: {s.texts[i]}')}</title></rect>"
                )
            if stacked and amount is not None:
                offset += amount
            else:
                end = scale(amount or 0.0)
                out.append(
                    f'<text class="amount" x="{_n(end + 4)}" y="{_n(y + _BAR / 2 + 3.5)}">'
                    f"{escape(s.texts[i])}</text>"
                )
        if totals is not None:
            out.append(
                f'<text class="amount" x="{_n(scale(offset) + 4)}" y="{_n(y0 + _BAR / 2 + 3.5)}">'
                f"{escape(totals[i])}</text>"
            )

    out.append("</svg>")
    return "\n".join(out)


def _rings(boundary: Boundary) -> list[tuple[tuple[float, float], ...]]:
    return [tuple(ring) for poly in boundary.polygons for ring in poly]


def _area(ring: Sequence[tuple[float, float]]) -> float:
    """Return the signed area of a closed ring (shoelace)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring)) / 2


def _centroid(ring: Sequence[tuple[float, float]]) -> tuple[float, float]:
    a = _area(ring)
    if abs(a) < 1e-12:  # degenerate: the mean of the positions
        return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(ring):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return (cx / (6 * a), cy / (6 * a))


def map_svg(
    *, map_id: str, title: str, summary: str, areas: Sequence[Area], width: float = 640
) -> str:
    """Return a map of the areas: an equirectangular projection scaled to their bounding box.

    Longitudes are shrunk by the cosine of the middle latitude so that shapes keep their
    proportions; north is up. Each area is one ``<path>`` (every ring of every polygon, holes by
    the even-odd rule) with ``data-code`` and a ``<title>``, then its name at its centroid.

    Args:
        map_id: The ``id`` of the ``<svg>``.
        title: Its title.
        summary: What it shows, in a sentence.
        areas: The areas to draw (at least one).
        width: The drawing's width in px.

    Returns:
        The ``<svg>`` element.
    """
    positions = [p for a in areas for ring in _rings(a.boundary) for p in ring]
    west = min(p[0] for p in positions)
    east = max(p[0] for p in positions)
    south = min(p[1] for p in positions)
    north = max(p[1] for p in positions)
    shrink = math.cos(math.radians((north + south) / 2))
    span_x = max((east - west) * shrink, 1e-9)
    span_y = max(north - south, 1e-9)
    pad = 8.0
    scale = min((width - 2 * pad) / span_x, (width * 0.75 - 2 * pad) / span_y)
    inner_w, inner_h = span_x * scale, span_y * scale
    off_x = pad + ((width - 2 * pad) - inner_w) / 2
    height = inner_h + 2 * pad

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (off_x + (lon - west) * shrink * scale, pad + (north - lat) * scale)

    out = _open(map_id, title, summary, width, height)
    labels = []
    for a in areas:
        parts = []
        for ring in _rings(a.boundary):
            points = [project(lon, lat) for lon, lat in ring[:-1]]
            parts.append("M" + " L".join(f"{_n(x)},{_n(y)}" for x, y in points) + " Z")
        out.append(
            f'<path class="cell" data-code="{escape(a.code)}" fill="{a.colour}" '
            f'fill-rule="evenodd" d="{" ".join(parts)}"><title>{escape(a.title)}</title></path>'
        )
        exteriors = [poly[0] for poly in a.boundary.polygons]
        largest = max(exteriors, key=lambda r: abs(_area(r)))
        cx, cy = project(*_centroid(largest))
        labels.append(
            f'<text class="map-label" x="{_n(cx)}" y="{_n(cy - 2)}" text-anchor="middle">'
            f'{escape(a.name)}<tspan x="{_n(cx)}" dy="15">{escape(a.label)}</tspan></text>'
        )
    out.extend(labels)
    out.append("</svg>")
    return "\n".join(out)
