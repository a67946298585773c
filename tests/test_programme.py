"""A scenario's activity programme: the registrations CSV, drawn demand, and Minggong loaded."""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import open_store
from gridgov.care.criteria import AgeAtLeast, Criterion, Facts, HasTag
from gridgov.errors import ValidationError
from gridgov.households import Address, ForwardingContact, Household, HouseholdStatus, Resident, Tag
from gridgov.ports import Store
from gridgov.scenarios import LoadReport, Scenario, example_path, load_scenario, populate
from gridgov.scenarios.programme import (
    RegistrationRequest,
    generate_registrations,
    read_registrations_csv,
    write_registrations_csv,
)
from gridgov.scheduling.registrations import RegistrationState
from gridgov.scheduling.series import ActivitySeries, occurrence_id
from gridgov.services.scheduling import volunteer_hours
from gridgov.testing.strategies import aware_datetimes, identifiers

TZ = "Asia/Shanghai"
AS_OF = pendulum.Date(2026, 11, 28)
WEEK = pendulum.datetime(2026, 11, 28, 9, tz=TZ)  # what examples/minggong/generate.py draws from
SEED = 2043
DEMAND = {
    "autism-painting": 10,
    "picture-books": 13,
    "party-lesson": 24,
    "legal-education": 18,
    "science-day-clinic": 26,
}
HEADER = "series_id,original_start,resident_id,registered_at\n"
GOOD_ROW = "paint,2026-12-02T09:30:00+08:00,r1,2026-11-28T09:00:00+08:00\n"


# --- the registrations CSV ----------------------------------------------------------------------

requests = st.builds(
    RegistrationRequest,
    series_id=identifiers(),
    original_start=aware_datetimes(),
    resident_id=identifiers(),
    registered_at=aware_datetimes(),
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(requests, max_size=8))
def test_registrations_csv_round_trip(rows: list[RegistrationRequest]) -> None:
    """What write_registrations_csv writes, read_registrations_csv reads back equal."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "registrations.csv"
        count = write_registrations_csv(rows, path)
        back = list(read_registrations_csv(path))
    offsets = [(r.original_start.utcoffset(), r.registered_at.utcoffset()) for r in rows]
    assert (len(rows), rows) == (count, back)
    assert offsets == [(r.original_start.utcoffset(), r.registered_at.utcoffset()) for r in back]


def test_registrations_csv_round_trip_of_the_example(tmp_path: Path) -> None:
    """The example's registrations, written again, give the example file byte for byte."""
    example = example_path() / "registrations.csv"
    rows = list(read_registrations_csv(example))
    write_registrations_csv(rows, tmp_path / "again.csv")
    assert (91, example.read_bytes()) == (len(rows), (tmp_path / "again.csv").read_bytes())


def test_registrations_csv_reads_a_byte_order_mark(tmp_path: Path) -> None:
    """A UTF-8 file with a byte order mark (as spreadsheets save it) reads the same."""
    path = tmp_path / "registrations.csv"
    path.write_text(HEADER + GOOD_ROW, encoding="utf-8-sig")
    expected = RegistrationRequest(
        "paint",
        pendulum.datetime(2026, 12, 2, 9, 30, tz=TZ),
        "r1",
        pendulum.datetime(2026, 11, 28, 9, tz=TZ),
    )
    assert [expected] == list(read_registrations_csv(path))


@pytest.mark.parametrize(
    "header",
    [
        "series_id,original_start,resident_id\n",
        "series_id,resident_id,original_start,registered_at\n",
        "series_id,original_start,resident_id,registered_at,note\n",
        "",
    ],
)
def test_registrations_csv_with_a_bad_header_is_refused(tmp_path: Path, header: str) -> None:
    """A header other than the four columns in order is a ValidationError naming the file."""
    path = tmp_path / "registrations.csv"
    path.write_text(header + GOOD_ROW, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        list(read_registrations_csv(path))
    assert ("header", "registrations.csv") == (info.value.path, info.value.source)


@pytest.mark.parametrize(
    "bad",
    [
        "paint,2026-13-02T09:30:00+08:00,r1,2026-11-28T09:00:00+08:00",  # no 13th month
        "paint,2026-12-02T09:30:00,r1,2026-11-28T09:00:00+08:00",  # naive
        "paint,2026-12-02T09:30:00+08:00,r 1,2026-11-28T09:00:00+08:00",  # not an id
        "paint,2026-12-02T09:30:00+08:00,,2026-11-28T09:00:00+08:00",  # empty
        "paint,2026-12-02T09:30:00+08:00,r1",  # a field short
    ],
)
def test_registrations_csv_with_a_bad_row_names_the_line(tmp_path: Path, bad: str) -> None:
    """A bad row is a ValidationError naming the file and the row's line."""
    path = tmp_path / "registrations.csv"
    path.write_text(HEADER + GOOD_ROW + GOOD_ROW + bad + "\n" + GOOD_ROW, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        list(read_registrations_csv(path))
    assert "registrations.csv: line 4" == info.value.source
    assert str(info.value).startswith("registrations.csv: line 4")


# --- generate_registrations -----------------------------------------------------------------------

WED = pendulum.datetime(2026, 12, 2, 9, 30, tz=TZ)


def person(rid: str, age: int, *tags: Tag) -> Resident:
    """Return resident ``rid``, ``age`` years old in December 2026, with ``tags``."""
    return Resident(rid, "居民" + rid, birth_date=pendulum.Date(2026 - age, 1, 1), tags=set(tags))


def small_ledger() -> list[Household]:
    """Return twelve households of one resident each: ages 30 to 85, a few tagged, two gone."""
    statuses = [HouseholdStatus.RESIDENT] * 9 + [
        HouseholdStatus.RELOCATED,
        HouseholdStatus.MOVED_OUT,
        HouseholdStatus.VACANT,
    ]
    out = []
    for i, status in enumerate(statuses):
        tags = (Tag.AUTISM_FAMILY,) if i % 3 == 0 else ()
        members = () if status is HouseholdStatus.VACANT else (person(f"r{i}", 30 + 5 * i, *tags),)
        forwarding = ForwardingContact("未央区") if status is HouseholdStatus.RELOCATED else None
        out.append(
            Household(
                f"h{i}",
                "610102003006001",
                Address("铁一村"),
                status,
                forwarding=forwarding,
                members=members,
            )
        )
    return out


def programme() -> list[ActivitySeries]:
    """Return three weekly series, the first two overlapping every Wednesday morning."""

    def weekly(
        sid: str, start: pendulum.DateTime, minutes: int, eligibility: Criterion | None = None
    ) -> ActivitySeries:
        return ActivitySeries(
            id=sid,
            title=sid,
            organiser="明宫社区",
            venue_id="hui",
            space_id=sid,
            start=start,
            minutes=minutes,
            rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=6",
            eligibility=eligibility,
        )

    return [
        weekly("paint", WED, 90, eligibility=HasTag(Tag.AUTISM_FAMILY)),
        weekly("books", WED.add(minutes=30), 60),
        weekly("clinic", WED.add(hours=5), 120, eligibility=AgeAtLeast(60)),
    ]


def drawn(seed: int, demand: dict[str, int]) -> list[RegistrationRequest]:
    """Return the registrations drawn from the small ledger for three weeks of the programme."""
    return generate_registrations(
        programme(),
        small_ledger(),
        start=WED.subtract(days=1),
        end=WED.add(weeks=3),
        demand=demand,
        seed=seed,
    )


demands = st.fixed_dictionaries(
    {sid: st.integers(min_value=0, max_value=12) for sid in ("paint", "books", "clinic")}
)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), demand=demands)
def test_generate_registrations_is_deterministic(seed: int, demand: dict[str, int]) -> None:
    """The same seed draws the same registrations."""
    assert drawn(seed, demand) == drawn(seed, demand)


def test_generate_registrations_depends_on_the_seed() -> None:
    """Different seeds draw different residents (the draw is not fixed)."""
    draws = {tuple(drawn(seed, {"books": 3})) for seed in range(5)}
    assert 1 < len(draws)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), demand=demands)
def test_generate_registrations_keeps_its_promises(seed: int, demand: dict[str, int]) -> None:
    """Drawn registrations keep generate_registrations' promises.

    Eligible residents of current households, never one in two overlapping occurrences, each
    made one to six days ahead, in time order, at most the demand per occurrence.
    """
    rows = drawn(seed, demand)
    by_id = {s.id: s for s in programme()}
    people = {m.id: (m, h) for h in small_ledger() for m in h.members}
    occurrences = {}
    for r in rows:
        occ = by_id[r.series_id].occurrence(r.original_start)
        occurrences[(r.series_id, r.original_start, r.resident_id)] = occ
        m, h = people[r.resident_id]
        rule = by_id[r.series_id].eligibility
        assert rule is None or rule.explain(Facts.of(m, h, occ.start.date()))[0]
        assert h.status in (HouseholdStatus.RESIDENT, HouseholdStatus.RELOCATED)
        assert pendulum.duration(days=1) <= occ.start - r.registered_at <= pendulum.duration(days=6)
    per_resident: dict[str, list[tuple[pendulum.DateTime, pendulum.DateTime]]] = {}
    for (_, _, rid), occ in occurrences.items():
        per_resident.setdefault(rid, []).append((occ.start, occ.end))
    clashes = [
        rid
        for rid, spans in per_resident.items()
        for i, (a, b) in enumerate(spans)
        for c, d in spans[i + 1 :]
        if a < d and c < b
    ]
    counts = Counter((r.series_id, r.original_start) for r in rows)
    over = [key for key, n in counts.items() if n > demand[key[0]]]
    assert ([], [], len(rows)) == (clashes, over, len(occurrences))
    assert sorted(rows, key=lambda r: (r.registered_at, r.series_id, r.resident_id)) == rows


def test_generate_registrations_meets_the_demand_when_enough_are_eligible() -> None:
    """With enough eligible residents, each occurrence gets exactly its demand."""
    rows = drawn(7, {"paint": 2, "books": 3, "clinic": 4})
    counts = Counter(r.series_id for r in rows)
    assert {"paint": 2 * 3, "books": 3 * 3, "clinic": 4 * 3} == dict(counts)


def test_generate_registrations_draws_the_example_week() -> None:
    """Minggong's registrations.csv is the draw of seed 2043 from its own ledger."""
    minggong = load_scenario(example_path())
    rows = generate_registrations(
        minggong.activities,
        minggong.households,
        start=WEEK,
        end=WEEK.add(days=7),
        demand=DEMAND,
        seed=SEED,
        calendar=minggong.venues[0].opening,
    )
    assert list(minggong.registrations) == rows


# --- Minggong, loaded and populated ------------------------------------------------------------


@pytest.fixture(scope="module")
def minggong() -> tuple[Scenario, Store, LoadReport]:
    """Return Minggong loaded with its households, a memory store filled with it, the report."""
    scenario = load_scenario(example_path(), households=True)
    store = open_store("memory://", scheme=scenario.scheme)
    return scenario, store, populate(store, scenario)


def fill(store: Store, series_id: str, start: pendulum.DateTime) -> tuple[int, int]:
    """Return (confirmed, waitlisted) of an occurrence."""
    with store() as uow:
        found = uow.registrations.for_occurrence(occurrence_id(series_id, start))
    return (
        sum(1 for r in found if r.state is RegistrationState.CONFIRMED),
        sum(1 for r in found if r.state is RegistrationState.WAITLISTED),
    )


def test_minggong_stores_its_programme(minggong: tuple[Scenario, Store, LoadReport]) -> None:
    """Five series and all 91 registrations are stored."""
    scenario, store, report = minggong
    with store() as uow:
        stored = [uow.series.get(s.id).id for s in scenario.activities]
    expected_ids = [
        "autism-painting",
        "picture-books",
        "party-lesson",
        "legal-education",
        "science-day-clinic",
    ]
    assert (5, 91, 91, expected_ids) == (
        report.series,
        report.registrations,
        len(scenario.registrations),
        stored,
    )


@pytest.mark.parametrize(
    ("series_id", "start", "expected"),
    [
        ("science-day-clinic", pendulum.datetime(2026, 12, 2, 14, 30, tz=TZ), (20, 6)),
        ("autism-painting", pendulum.datetime(2026, 12, 2, 9, 30, tz=TZ), (8, 2)),
        ("picture-books", pendulum.datetime(2026, 11, 28, 10, tz=TZ), (13, 0)),
    ],
)
def test_minggong_fills_and_waitlists(
    minggong: tuple[Scenario, Store, LoadReport],
    series_id: str,
    start: pendulum.DateTime,
    expected: tuple[int, int],
) -> None:
    """The clinic's queue: 20 places and 6 waiting; painting 8 and 2; picture books fit."""
    assert expected == fill(minggong[1], series_id, start)


def test_minggong_volunteer_hours_of_the_cleaner(
    minggong: tuple[Scenario, Store, LoadReport],
) -> None:
    """The 75-year-old volunteer cleaned three times in November: 4.5 hours."""
    scenario, store, _ = minggong
    cleaner = next(
        Facts.of(m, h, AS_OF).age
        for h in scenario.households
        for m in h.members
        if m.id == "h000931-1"
    )
    with store() as uow:
        hours = volunteer_hours(
            uow,
            ["h000931-1", "h000056-1"],
            since=pendulum.datetime(2026, 11, 1, tz=TZ),
            until=pendulum.datetime(2026, 12, 1, tz=TZ),
        )
    # h000056-1 signed up on the 20th and did not come.
    assert (75, {"h000931-1": 4.5, "h000056-1": 0.0}) == (cleaner, hours)


# --- scenario files with a programme --------------------------------------------------------------

COMMUNITY = "610102003006"
SCENARIO_TOML = f"""
[scenario]
name = "programme"

[calendar]
years = 2026
holidays = ["2026-10-01/2026-10-07"]

[[cells]]
code = "610102"
name = "新城区"
level = "district"

[[cells]]
code = "610102003"
name = "自强路街道"
level = "street"
parent_code = "610102"

[[cells]]
code = "{COMMUNITY}"
name = "明宫社区"
level = "community"
parent_code = "610102003"

[[cells]]
code = "{COMMUNITY}001"
name = "铁一村网格"
level = "grid"
parent_code = "{COMMUNITY}"

[[households]]
id = "h1"
cell_code = "{COMMUNITY}001"
address = {{ line = "铁一村1号楼" }}
members = [{{ id = "h1-1", name = "王建国" }}]
"""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MON_TO_SAT = ", ".join(f'{day} = ["09:00-12:00"]' for day in WEEKDAYS)


def venue_toml(hours: str = MON_TO_SAT) -> str:
    """Return a ``[[venues]]`` table with ``hours``."""
    return f"""
[[venues]]
id = "hui"
name = "明宫HUI客厅"
cell_code = "{COMMUNITY}"
hours = {{ {hours} }}
spaces = [{{ id = "painting", name = "生活共绘", capacity = 12 }}]
"""


def activity_toml(sid: str, start: str) -> str:
    """Return an ``[[activities]]`` table: one hour in the painting space at ``start``."""
    return f"""
[[activities]]
id = "{sid}"
title = "活动{sid}"
organiser = "明宫社区"
venue_id = "hui"
space_id = "painting"
start = {start}
minutes = 60
"""


def shift_toml(volunteers: Sequence[str]) -> str:
    """Return a ``[[shifts]]`` table with ``volunteers``."""
    names = ", ".join(f'"{v}"' for v in volunteers)
    return f"""
[[shifts]]
id = "clean"
venue_id = "hui"
title = "社区卫生清扫"
start = 2026-12-04T08:30:00+08:00
end = 2026-12-04T10:00:00+08:00
required = 2
volunteers = [{names}]
"""


def write_scenario(folder: Path, extra: str) -> Path:
    """Write scenario.toml with ``extra`` tables and return the folder."""
    (folder / "scenario.toml").write_text(SCENARIO_TOML + extra, encoding="utf-8")
    return folder


def populate_error(folder: Path) -> ValidationError:
    """Load and populate the scenario in ``folder``; check it fails and stores nothing."""
    store = open_store("memory://")
    with pytest.raises(ValidationError) as info:
        populate(store, load_scenario(folder))
    with store() as uow:
        assert 0 == len(uow.cells.tree())
    return info.value


def test_scenario_with_a_programme_populates(tmp_path: Path) -> None:
    """A venue, an activity and a shift with a resident volunteer are stored."""
    folder = write_scenario(
        tmp_path,
        venue_toml()
        + activity_toml("a", "2026-12-02T09:00:00+08:00")
        + activity_toml("b", "2026-12-02T10:00:00+08:00")
        + shift_toml(["h1-1"]),
    )
    store = open_store("memory://")
    report = populate(store, load_scenario(folder))
    with store() as uow:
        volunteers = [s.resident_id for s in uow.signups.for_shift("clean")]
    assert (2, 0, ["h1-1"]) == (report.series, report.registrations, volunteers)


def test_scenario_with_two_clashing_activities_names_the_second(tmp_path: Path) -> None:
    """An activity clashing with an earlier one is a ValidationError on activities[1]."""
    folder = write_scenario(
        tmp_path,
        venue_toml()
        + activity_toml("a", "2026-12-02T09:00:00+08:00")
        + activity_toml("b", "2026-12-02T09:30:00+08:00"),
    )
    err = populate_error(folder)
    assert ("activities[1]", True) == (err.path, "clashes" in err.problem)


def test_scenario_activity_outside_the_venue_hours_names_it(tmp_path: Path) -> None:
    """An activity in the afternoon of a morning-only venue is a ValidationError on it."""
    folder = write_scenario(
        tmp_path, venue_toml() + activity_toml("a", "2026-12-02T14:30:00+08:00")
    )
    assert "activities[0]" == populate_error(folder).path


def test_scenario_venue_hours_with_a_bad_period_name_the_period(tmp_path: Path) -> None:
    """A period ending before it starts is a ValidationError on venues[0].hours.monday[0]."""
    folder = write_scenario(tmp_path, venue_toml('monday = ["12:00-09:00"]'))
    with pytest.raises(ValidationError) as info:
        load_scenario(folder)
    assert ("venues[0].hours.monday[0]", "scenario.toml") == (
        info.value.path,
        info.value.source,
    )


def test_scenario_venue_closed_on_mondays_loads(tmp_path: Path) -> None:
    """A venue open Tuesday to Sunday (closed on Mondays, as many are) loads."""
    days = ("tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    hours = ", ".join(f'{day} = ["09:00-12:00"]' for day in days)
    scenario = load_scenario(write_scenario(tmp_path, venue_toml(hours)))
    venue = scenario.venues[0]
    monday = pendulum.datetime(2026, 11, 30, 9, 30, tz=TZ)
    assert (False, True) == (
        venue.is_open(monday, monday.add(hours=1)),
        venue.is_open(monday.add(days=1), monday.add(days=1, hours=1)),
    )


def test_scenario_shift_volunteer_who_is_not_a_resident_names_the_shift(tmp_path: Path) -> None:
    """A volunteer missing from the ledger is a ValidationError under shifts[0]."""
    folder = write_scenario(tmp_path, venue_toml() + shift_toml(["h1-1", "nobody"]))
    err = populate_error(folder)
    assert ("shifts[0].resident_id", "unknown resident") == (err.path, err.problem)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('space_id = "painting"', 'space_id = "pottery"'),
            ("activities[0].space_id", "the venue has no such space"),
        ),
        (
            ('venue_id = "hui"\nspace_id', 'venue_id = "nowhere"\nspace_id'),
            ("activities[0]", "refers to an unknown venue 'nowhere'"),
        ),
    ],
    ids=["unknown-space", "unknown-venue"],
)
def test_an_activity_the_store_refuses_is_named_with_its_field(
    tmp_path: Path, change: tuple[str, str], expected: tuple[str, str]
) -> None:
    """What storing an activity refuses keeps the scenario's path to it and to the field."""
    activity = activity_toml("a", "2026-12-02T09:00:00+08:00").replace(*change)
    err = populate_error(write_scenario(tmp_path, venue_toml() + activity))
    assert expected == (err.path, err.problem)


def test_a_shift_at_an_unknown_venue_is_named(tmp_path: Path) -> None:
    """A shift whose venue is not stored is a ValidationError at shifts[i]."""
    shift = shift_toml([]).replace('venue_id = "hui"', 'venue_id = "nowhere"')
    err = populate_error(write_scenario(tmp_path, venue_toml() + shift))
    assert ("shifts[0]", "refers to an unknown venue 'nowhere'") == (err.path, err.problem)
