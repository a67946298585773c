"""The HTML report: its figures are the services' own, it is self-contained, it names no one.

The Minggong example is loaded into a memory store and swept at 09:00 on its day (as the demo
does), the report is written and parsed with ``html.parser``; then headless Chromium renders it,
and what the browser shows is checked too. The Chromium tests skip when ``chromium`` is missing,
and fail then under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import attrs
import pendulum
import pytest

from gridgov.bootstrap import open_store
from gridgov.cases import EscalationKind
from gridgov.grid import Boundary, GridCell, GridLevel
from gridgov.households import Address, Household, Resident
from gridgov.ports import Store
from gridgov.report import collect, write_report
from gridgov.report.html import REPORT_FILE, coverage_colour
from gridgov.scenarios import Scenario, example_path, load_scenario, populate
from gridgov.services.care import coverage
from gridgov.services.cases import EscalationEngine, case_kpis
from gridgov.services.scheduling import volunteer_hours, week_schedule

TZ = "Asia/Shanghai"
DAY = pendulum.Date(2026, 11, 28)
SWEEP = pendulum.datetime(2026, 11, 28, 9, tz=TZ)
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}


# --- a small DOM, from html.parser ----------------------------------------------------------------


@dataclass
class Node:
    """An element of the parsed page."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def iter(self, tag: str | None = None) -> Iterator[Node]:
        """Yield the descendants, in document order, with ``tag`` if given."""
        for child in self.children:
            if isinstance(child, Node):
                if tag is None or child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def by_id(self, element_id: str) -> Node:
        """Return the descendant with ``id``."""
        return next(n for n in self.iter() if n.attrs.get("id") == element_id)

    @property
    def text(self) -> str:
        """Return the text of the element and its descendants."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


class _Builder(HTMLParser):
    """Builds a tree of :class:`Node` from HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element (void elements close at once)."""
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Add a self-closed element."""
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open element named ``tag``."""
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        """Add text."""
        self.stack[-1].children.append(data)


def parse(text: str) -> Node:
    """Return the tree of an HTML page."""
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def table(page: Node, table_id: str) -> dict[str, dict[str, str]]:
    """Return a table's cells by row (``data-code``) and column (``data-kpi``)."""
    return {
        row.attrs["data-code"]: {td.attrs["data-kpi"]: td.text for td in row.iter("td")}
        for row in page.by_id(table_id).iter("tr")
        if "data-code" in row.attrs
    }


# --- fixtures -----------------------------------------------------------------------------------


@attrs.frozen
class Loaded:
    """A scenario in a store."""

    scenario: Scenario
    store: Store

    @property
    def grids(self) -> tuple[GridCell, ...]:
        """Return the scenario's grids."""
        return self.scenario.tree().at_level(GridLevel.GRID)


@pytest.fixture(scope="module")
def minggong() -> Iterator[Loaded]:
    """Return Minggong in a memory store, after the morning's escalation sweep."""
    scenario = load_scenario(example_path())
    store = open_store("memory://", scheme=scenario.scheme)
    populate(store, scenario)
    EscalationEngine(store, scenario.workflow()).sweep(SWEEP)
    yield Loaded(scenario, store)
    store.close()


@pytest.fixture(scope="module")
def written(minggong: Loaded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the path of Minggong's report on its day."""
    return write_report(
        minggong.store, minggong.scenario, tmp_path_factory.mktemp("report"), on=DAY
    )


@pytest.fixture(scope="module")
def page(written: Path) -> Node:
    """Return the parsed report."""
    return parse(written.read_text(encoding="utf-8"))


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


def expected_kpis(loaded: Loaded) -> dict[str, dict[str, str]]:
    """Return the KPI table's coverage and case cells per grid, from the services."""
    until = pendulum.datetime(2026, 11, 29, tz=TZ)
    expected = {}
    with loaded.store() as uow:
        for grid in loaded.grids:
            cov = coverage(
                uow,
                grid.code,
                start=pendulum.Date(2026, 11, 1),
                end=pendulum.Date(2026, 11, 29),
                policy=loaded.scenario.policy,
            )
            cases = case_kpis(uow, grid.code, since=until.subtract(days=90), until=until).total
            expected[grid.code] = {
                "covered": str(cov.covered),
                "contacted": str(cov.contacted),
                "contacted_share": _pct(cov.contacted_share),
                "on_cadence": str(cov.on_cadence),
                "on_cadence_share": _pct(cov.on_cadence_share),
                "reported": str(cases.reported),
                "closed": str(cases.closed),
                "closure_rate": _pct(cases.closure_rate),
                "closed_on_time": str(cases.closed_on_time),
                "on_time_rate": _pct(cases.on_time_rate),
            }
    return expected


KPI_KEYS = (
    "covered",
    "contacted",
    "contacted_share",
    "on_cadence",
    "on_cadence_share",
    "reported",
    "closed",
    "closure_rate",
    "closed_on_time",
    "on_time_rate",
)


def kpi_cells(page: Node) -> dict[str, dict[str, str]]:
    """Return the KPI table's coverage and case cells per grid (the total row left out)."""
    return {
        code: {k: row[k] for k in KPI_KEYS}
        for code, row in table(page, "kpi-table").items()
        if code != "total"
    }


# --- the figures --------------------------------------------------------------------------------


def test_write_report_returns_the_page_in_the_directory(written: Path) -> None:
    """write_report writes index.html into the directory and returns its path."""
    assert (REPORT_FILE, True) == (written.name, written.is_file())


def test_kpi_table_holds_each_grids_coverage_and_cases_as_the_services_count_them(
    minggong: Loaded, page: Node
) -> None:
    """Per grid, the KPI table shows coverage(...) for the month and case_kpis(...) for 90 days."""
    assert expected_kpis(minggong) == kpi_cells(page)


def test_coverage_table_matches_coverage_per_grid(minggong: Loaded) -> None:
    """The figures' coverage per grid equals coverage(...) of that grid for the month."""
    figures = collect(minggong.store, minggong.scenario, on=DAY)
    with minggong.store() as uow:
        expected = [
            coverage(
                uow,
                g.code,
                start=pendulum.Date(2026, 11, 1),
                end=pendulum.Date(2026, 11, 29),
                policy=minggong.scenario.policy,
            )
            for g in minggong.grids
        ]
    assert expected == [g.coverage for g in figures.grids]


def test_coverage_chart_draws_both_shares_per_grid_with_the_target(
    minggong: Loaded, page: Node
) -> None:
    """The coverage chart has a bar per grid and share, titled with its value, and a target."""
    chart = page.by_id("coverage-chart")
    expected = [
        text
        for row in expected_kpis(minggong).values()
        for text in (row["contacted_share"], row["on_cadence_share"])
    ]
    bars = [r for r in chart.iter("rect") if r.attrs.get("class") != "key"]
    assert expected == [next(r.iter("title")).text.split(": ")[-1] for r in bars]
    assert 1 == sum(1 for line in chart.iter("line") if line.attrs.get("class") == "target")


def test_escalations_count_the_sweeps_raise_and_reminders_by_level(
    minggong: Loaded, page: Node
) -> None:
    """The 12345 complaint went up to the community, the gas leak got two entries at the grid."""
    rows = table(page, "escalation-table")
    expected = {
        "610102003006001": {"grid": "2", "community": "0", "total": "2"},
        "610102003006003": {"grid": "0", "community": "1", "total": "1"},
        "total": {"grid": "2", "community": "1", "total": "3"},
    }
    actual = {
        code: {k: row[k] for k in ("grid", "community", "total")}
        for code, row in rows.items()
        if row["total"] != "0"
    }
    assert expected == actual


def test_escalation_chart_stacks_each_grids_escalations_by_level(page: Node) -> None:
    """Each segment of the stacked chart is one grid's escalations at one level."""
    chart = page.by_id("escalation-chart")
    bars = [r for r in chart.iter("rect") if r.attrs.get("class") != "key"]
    expected = ["铁一村网格 · 网格级 grid: 2", "建强路网格 · 社区级 community: 1"]
    assert expected == [next(r.iter("title")).text for r in bars]


def test_escalation_kinds_match_the_case_histories(minggong: Loaded) -> None:
    """Escalations by kind are the system entries of the grids' cases in the 90 days."""
    until = pendulum.datetime(2026, 11, 29, tz=TZ)
    expected: dict[str, dict[EscalationKind, int]] = {}
    with minggong.store() as uow:
        for grid in minggong.grids:
            counts: dict[EscalationKind, int] = {}
            for case in uow.cases.reported_in_subtree(
                grid.code, since=until.subtract(days=90), until=until
            ).items:
                for entry in case.history:
                    if entry.role == "system":
                        kind = EscalationKind(entry.action)
                        counts[kind] = counts.get(kind, 0) + 1
            expected[grid.code] = counts
    figures = collect(minggong.store, minggong.scenario, on=DAY)
    assert expected == {g.code: g.escalation_kinds for g in figures.grids}


def test_activity_fill_of_the_week_matches_week_schedule(minggong: Loaded, page: Node) -> None:
    """The week's fill per venue sums week_schedule's places taken and places offered."""
    with minggong.store() as uow:
        schedule = week_schedule(uow, "hui", start=pendulum.datetime(2026, 11, 28, tz=TZ))
    entries = [
        e for space in schedule.by_space.values() for e in space if not e.occurrence.cancelled
    ]
    limited = [e for e in entries if e.occurrence.capacity is not None]
    confirmed = sum(e.confirmed for e in limited)
    capacity = sum(e.occurrence.capacity or 0 for e in limited)
    expected = {
        "occurrences": str(len(entries)),
        "confirmed": str(confirmed),
        "capacity": str(capacity),
        "fill": _pct(confirmed / capacity),
        "waitlisted": str(sum(e.waitlisted for e in entries)),
    }
    row = next(
        r
        for r in page.by_id("fill-table").iter("tr")
        if (r.attrs.get("data-venue"), r.attrs.get("data-period")) == ("hui", "week")
    )
    cells = {td.attrs["data-kpi"]: td.text for td in row.iter("td") if "data-kpi" in td.attrs}
    assert expected == {k: cells[k] for k in expected}


def test_volunteer_hours_match_the_service(minggong: Loaded, page: Node) -> None:
    """The month's volunteer hours are volunteer_hours(...) of everyone on the month's shifts."""
    volunteers = sorted({r for story in minggong.scenario.shifts for r in story.volunteers})
    with minggong.store() as uow:
        hours = volunteer_hours(
            uow,
            volunteers,
            since=pendulum.datetime(2026, 11, 1, tz=TZ),
            until=pendulum.datetime(2026, 11, 29, tz=TZ),
        )
    credited = {r: h for r, h in hours.items() if h > 0}
    expected = {"volunteers": str(len(credited)), "volunteer_hours": f"{sum(credited.values()):g}"}
    row = next(page.by_id("volunteer-table").iter("tbody"))
    assert expected == {td.attrs["data-kpi"]: td.text for td in row.iter("td")}


# --- the map ------------------------------------------------------------------------------------


def test_map_has_one_path_per_grid_titled_with_its_coverage(minggong: Loaded, page: Node) -> None:
    """Each grid is one path with its code, a title naming it and its coverage, and its colour."""
    kpis = expected_kpis(minggong)
    expected = [
        (
            g.code,
            f"{g.name}: 本月探访覆盖率 coverage {kpis[g.code]['contacted_share']} "
            f"({kpis[g.code]['contacted']}/{kpis[g.code]['covered']})",
        )
        for g in minggong.grids
    ]
    paths = [p for p in page.by_id("grid-map").iter("path") if "data-code" in p.attrs]
    assert expected == [(p.attrs["data-code"], next(p.iter("title")).text) for p in paths]


def test_map_colours_follow_the_coverage_bands() -> None:
    """Full coverage is dark green, 90% pale green, half red, nobody covered grey."""
    expected = ["#1a9850", "#d9ef8b", "#d73027", "#cccccc"]
    actual = [
        coverage_colour(1.0),
        coverage_colour(0.9),
        coverage_colour(0.5),
        coverage_colour(1.0, covered=0),
    ]
    assert expected == actual


def tiny_store() -> tuple[Store, Scenario]:
    """Return a store of two grids, the second without a boundary, and its scenario."""
    square = Boundary.from_geojson(
        {
            "type": "Polygon",
            "coordinates": [
                [[108.0, 34.0], [108.01, 34.0], [108.01, 34.01], [108.0, 34.01], [108.0, 34.0]]
            ],
        }
    )
    cells = [
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
        GridCell("610102003001", "明宫社区", GridLevel.COMMUNITY, "610102003"),
        GridCell("610102003001001", "第一网格", GridLevel.GRID, "610102003001", boundary=square),
        GridCell("610102003001002", "第二网格", GridLevel.GRID, "610102003001"),
    ]
    store = open_store("memory://")
    with store() as uow:
        for cell in cells:
            uow.cells.add(cell)
        uow.households.add(
            Household(
                "h1",
                "610102003001002",
                Address("铁一村3号楼"),
                members=[Resident("r1", "田林", national_id="11010519491231002X")],
            )
        )
        uow.commit()
    return store, Scenario(name="两个网格", cells=cells)


def test_cells_without_a_boundary_are_listed_below_the_map(tmp_path: Path) -> None:
    """The grid without a boundary is not drawn but listed, the other one is drawn."""
    store, scenario = tiny_store()
    page = parse(write_report(store, scenario, tmp_path / "out", on=DAY).read_text("utf-8"))
    drawn = [p.attrs["data-code"] for p in page.by_id("grid-map").iter("path")]
    listed = [li.attrs["data-code"] for li in page.by_id("unmapped").iter("li")]
    assert (["610102003001001"], ["610102003001002"]) == (drawn, listed)


# --- self-contained and anonymous ---------------------------------------------------------------


def test_page_is_self_contained_utf8_without_script(written: Path, page: Node) -> None:
    """No script, no external resource, a UTF-8 charset and a Chinese language tag."""
    loading = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"}
    found = sorted({n.tag for n in page.iter() if n.tag in loading})
    references = [
        value
        for n in page.iter()
        for name, value in n.attrs.items()
        if name in {"src", "href", "xlink:href", "srcset"} or name.startswith("on")
    ]
    html = next(page.iter("html"))
    charset = [m.attrs["charset"] for m in page.iter("meta") if "charset" in m.attrs]
    assert ([], [], "zh-CN", ["utf-8"]) == (found, references, html.attrs["lang"], charset)
    assert "url(" not in written.read_text(encoding="utf-8")


def test_every_chart_has_a_title_and_an_accessible_label(page: Node) -> None:
    """Each inline SVG is an image with an aria-label, and its first child is its <title>."""
    svgs = list(page.iter("svg"))
    expected = [("img", True, "title") for _ in svgs]
    actual = [
        (
            svg.attrs.get("role"),
            bool(svg.attrs.get("aria-label")),
            next(c for c in svg.children if isinstance(c, Node)).tag,
        )
        for svg in svgs
    ]
    assert ["coverage-chart", "cases-chart", "escalation-chart", "grid-map"] == [
        s.attrs["id"] for s in svgs
    ]
    assert expected == actual


def test_report_holds_no_personal_data(minggong: Loaded, written: Path) -> None:
    """No ID number, phone, name or address of a resident, worker or reporter is in the page."""
    s = minggong.scenario
    secrets: set[str] = set()
    for h in s.households:
        if h.forwarding is not None and h.forwarding.phone is not None:
            secrets.add(h.forwarding.phone.value)
        for m in h.members:
            secrets.update({m.id, m.name})
            if m.national_id is not None:
                secrets.update({m.national_id.value, str(m.national_id)})
            if m.phone is not None:
                secrets.update({m.phone.value, m.phone.masked})
            secrets.update(c.phone.value for c in m.emergency_contacts)
        secrets.add(str(h.address))
    for w in s.workers:
        secrets.add(w.name)
        if w.phone is not None:
            secrets.add(w.phone.value)
    for story in s.cases:
        secrets.update({story.description, story.address, story.reporter.name})
        if story.reporter.phone is not None:
            secrets.add(story.reporter.phone.value)
    text = written.read_text(encoding="utf-8")
    assert [] == sorted(x for x in secrets - {""} if x in text)


def test_writing_twice_gives_the_same_page(minggong: Loaded, written: Path, tmp_path: Path) -> None:
    """The report is deterministic: the same store and day give the same bytes."""
    again = write_report(minggong.store, minggong.scenario, tmp_path, on=DAY)
    assert written.read_bytes() == again.read_bytes()


def test_report_leaves_the_store_unchanged(minggong: Loaded, tmp_path: Path) -> None:
    """Writing the report commits nothing: the open cases are as the sweep left them."""

    def open_cases() -> list[tuple[str, int]]:
        with minggong.store() as uow:
            page = uow.cases.open_in_subtree("610102003006", limit=500)
            return [(c.id, c.version) for c in page.items]

    expected = open_cases()
    write_report(minggong.store, minggong.scenario, tmp_path, on=DAY)
    assert expected == open_cases()


# --- the standard indicators per grid, department and post ------------------------------------


def test_standard_grid_table_holds_each_grids_figures_as_the_services_count_them(
    minggong: Loaded, page: Node
) -> None:
    """Per grid: the cases reported and due, and the closure rates, as ``case_kpis`` counts."""
    until = pendulum.datetime(2026, 11, 29, tz=TZ)
    with minggong.store() as uow:
        expected = {
            g.code: (
                str(k.reported),
                str(k.closure_base),
                _pct(k.closure_rate),
                _pct(k.on_time_rate),
            )
            for g in minggong.grids
            for k in [case_kpis(uow, g.code, since=until.subtract(days=90), until=until).total]
        }
    rows = table(page, "standard-cells")
    actual = {
        code: (r["reported"], r["due_for_closure"], r["closure_rate"], r["on_time_rate"])
        for code, r in rows.items()
    }
    assert expected == actual


def test_standard_tables_give_each_indicator_its_formula(page: Node) -> None:
    """Every indicator heading has its formula as a tooltip and a footnote giving it too."""
    from gridgov.services.kpis import INDICATORS

    for table_id in ("standard-cells", "standard-departments", "standard-workers"):
        heads = list(page.by_id(table_id).iter("th"))
        titles = [h.attrs.get("title", "") for h in heads if h.attrs.get("scope") == "col"]
        for indicator in INDICATORS:
            assert any(indicator.formula_en in t for t in titles), (table_id, indicator.name)
    notes = [page.by_id(f"formula-{n}").text for n in range(1, len(INDICATORS) + 1)]
    assert [i.formula_zh in n for n, i in zip(notes, INDICATORS, strict=True)] == [True] * len(
        INDICATORS
    )


def test_standard_rows_below_the_minimum_are_unranked(page: Node) -> None:
    """Minggong's few cases rank no grid: each row is listed with a dash for its rank."""
    rows = table(page, "standard-cells")
    assert {"—"} == {r["rank"] for r in rows.values()}


# --- in headless Chromium -----------------------------------------------------------------------

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Return the chromium executable; skip without it, fail without it under CI=true."""
    found = shutil.which(os.environ.get("GRIDGOV_CHROMIUM", "chromium"))
    if found is None:
        reason = "chromium is not installed (Debian: apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires headless Chromium: {reason}")
        pytest.skip(reason)
    return found


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


@pytest.fixture(scope="module")
def shown(chromium: str, written: Path, tmp_path_factory: pytest.TempPathFactory) -> Node:
    """Return the DOM headless Chromium built from the report."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    done = _chromium(chromium, profile, "--dump-dom", written.as_uri())
    return parse(done.stdout)


def test_chromium_shows_the_seven_grids_and_their_kpis(minggong: Loaded, shown: Node) -> None:
    """The browser's DOM names the seven grids and holds the services' figures in the table."""
    names = [
        row.text for row in shown.by_id("kpi-table").iter("th") if row.attrs.get("scope") == "row"
    ]
    assert [g.name for g in minggong.grids] + ["合计 total"] == names
    assert expected_kpis(minggong) == kpi_cells(shown)


def test_chromium_shows_seven_map_paths(minggong: Loaded, shown: Node) -> None:
    """The browser's map has one path per grid, in the tree's order."""
    paths = [p.attrs["data-code"] for p in shown.by_id("grid-map").iter("path")]
    assert [g.code for g in minggong.grids] == paths


def test_chromium_takes_a_screenshot_of_the_report(
    chromium: str, written: Path, tmp_path: Path
) -> None:
    """A full-width screenshot is a real PNG of 1280 px with content (not a blank page)."""
    shot = tmp_path / "report.png"
    _chromium(
        chromium,
        tmp_path / "profile",
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        written.as_uri(),
    )
    data = shot.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    assert (b"\x89PNG\r\n\x1a\n", 1280, 2400) == (data[:8], width, height)
    assert len(data) > 100_000  # a blank page of that size compresses to a few kB


def test_chromium_shows_the_standard_indicators_with_their_formulas(
    minggong: Loaded, shown: Node
) -> None:
    """The browser's DOM has the grid league table, every grid a row, every formula a tooltip."""
    from gridgov.services.kpis import INDICATORS

    rows = table(shown, "standard-cells")
    titles = [
        th.attrs.get("title", "")
        for th in shown.by_id("standard-cells").iter("th")
        if th.attrs.get("scope") == "col"
    ]
    assert sorted(g.code for g in minggong.grids) == sorted(rows)
    assert [True] * len(INDICATORS) == [any(i.formula_zh in t for t in titles) for i in INDICATORS]
