"""Tests for gridgov.scenarios: scenario files, the households CSV, populate and the summary."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov import open_store
from gridgov.access import Redaction
from gridgov.codes import NationalId, id_check_character
from gridgov.errors import NotFoundError, ValidationError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import (
    Address,
    EmergencyContact,
    ForwardingContact,
    Household,
    HouseholdStatus,
    Resident,
    Sex,
    Tag,
)
from gridgov.ports import Store
from gridgov.scenarios import (
    CSV_COLUMNS,
    GridSummary,
    LoadReport,
    Scenario,
    example_path,
    ledger_summary,
    load_scenario,
    populate,
    read_households_csv,
    summary_total,
    write_households_csv,
)
from gridgov.scenarios.synthetic import generate_households, relocate

AS_OF = pendulum.Date(2026, 11, 28)
COMMUNITY = "610102003006"
GRID = "610102003006001"
BUILDING = "610102003006001001"
BODY = "61010219550312001"  # born 1955-03-12, sequence 001: male
VALID_ID = BODY + id_check_character(BODY)
BAD_ID = BODY + ("0" if VALID_ID[-1] != "0" else "1")

CELLS_TOML = f"""
[scenario]
name = "测试 test"
as_of = 2026-11-28

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
code = "{GRID}"
name = "铁一村网格"
level = "grid"
parent_code = "{COMMUNITY}"

[[cells]]
code = "{BUILDING}"
name = "铁一村1号楼"
level = "building"
parent_code = "{GRID}"
"""

WORKER_TOML = f"""
[[workers]]
id = "grid-01"
name = "张静"
roles = ["grid_worker"]
assignments = [{{ cell_code = "{GRID}", start = 2023-03-01 }}]
"""


def row(**changes: str) -> dict[str, str]:
    """Return a CSV row for an elder living alone in household h1, with ``changes``."""
    values = dict.fromkeys(CSV_COLUMNS, "")
    values.update(
        household_id="h1",
        cell_code=BUILDING,
        address="铁一村1号楼",
        unit="1",
        room="101",
        status="resident",
        resident_id="h1-1",
        name="王建国",
        national_id=VALID_ID,
        phone="13800000001",
        relationship="户主",
        living_arrangement="alone",
        tags="living_alone",
        emergency_name="王浩",
        emergency_phone="13900000002",
        emergency_relationship="儿子",
    )
    values.update(changes)
    return values


def write_csv(path: Path, rows: Sequence[Mapping[str, str]]) -> None:
    """Write ``rows`` under every column as a UTF-8 CSV file."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def scenario_dir(
    folder: Path,
    rows: Sequence[Mapping[str, str]] | None = None,
    *,
    toml: str = CELLS_TOML,
    extra: str = "",
) -> Path:
    """Write a scenario (with a households.csv when ``rows`` are given) and return its folder."""
    top = 'households_csv = ["households.csv"]\n' if rows is not None else ""
    (folder / "scenario.toml").write_text(top + toml + extra, encoding="utf-8")
    if rows is not None:
        write_csv(folder / "households.csv", rows)
    return folder


def load_error(folder: Path) -> ValidationError:
    """Load and store the scenario in ``folder``; check it fails and stores nothing."""
    store = open_store("memory://")
    with pytest.raises(ValidationError) as info:
        populate(store, load_scenario(folder))
    assert_empty(store)
    return info.value


def assert_empty(store: Store) -> None:
    """Check that ``store`` holds no cell and no household."""
    with store() as uow:
        assert 0 == len(uow.cells.tree())
        with pytest.raises(NotFoundError):
            uow.households.in_subtree(COMMUNITY)


@pytest.fixture(scope="module")
def minggong() -> Scenario:
    """Return the Minggong example scenario, loaded once."""
    return load_scenario(example_path())


# --- the example ---------------------------------------------------------------------------


def test_minggong_example_loads(minggong: Scenario) -> None:
    """The example has its cells, its workers and 2,043 households, as of 2026-11-28."""
    assert ("明宫社区 Minggong", AS_OF) == (minggong.name, minggong.as_of)
    assert (39, 8, 2043) == (len(minggong.cells), len(minggong.workers), len(minggong.households))
    grids = minggong.tree().at_level(GridLevel.GRID)
    assert 7 == len(grids)
    assert all(g.boundary is not None for g in grids)
    assert (
        "Scenario(name='明宫社区 Minggong', cells=39, workers=8, households=2043, contacts=8313)"
        == repr(minggong)
    )


def test_minggong_demolition_areas_are_mostly_relocated(minggong: Scenario) -> None:
    """The two demolition grids' households have mostly moved away, with forwarding contacts."""
    areas = [g.code for g in minggong.tree().at_level(GridLevel.GRID) if "拆迁" in g.name]
    assert 2 == len(areas)
    in_areas = [h for h in minggong.households if h.cell_code.startswith(tuple(areas))]
    relocated = [h for h in in_areas if h.status is HouseholdStatus.RELOCATED]
    assert len(relocated) > 0.7 * len(in_areas)
    assert all(h.forwarding is not None for h in relocated)
    others = [h for h in minggong.households if h not in in_areas]
    assert [] == [h for h in others if h.status is HouseholdStatus.RELOCATED]


def test_populate_stores_the_scenario(minggong: Scenario) -> None:
    """Cells, workers and households all land in the store, progress is reported."""
    store = open_store("memory://", scheme=minggong.scheme)
    seen: list[int] = []
    report = populate(store, minggong, progress=seen.append)
    residents = sum(len(h.members) for h in minggong.households)
    expected = LoadReport(
        39,
        8,
        2043,
        residents,
        contacts=8313,
        tasks=report.tasks,
        cases=3,
        series=5,
        registrations=91,
    )
    assert expected == report
    assert report.tasks > 0
    assert 2043 == seen[-1]
    with store() as uow:
        assert 39 == len(uow.cells.tree())
        assert ["grid-01"] == [w.id for w in uow.workers.assigned_to(f"{COMMUNITY}001", on=AS_OF)]
        assert ["secretary"] == [w.id for w in uow.workers.assigned_to(COMMUNITY, on=AS_OF)]
        first = minggong.households[0]
        assert attrs.evolve(first, version=1) == uow.households.get(first.id)


def test_failed_populate_stores_nothing() -> None:
    """A household the store rejects rolls back the cells and workers stored before it."""
    cells = (
        GridCell("610102", "新城区", GridLevel.DISTRICT),
        GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
        GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
        GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
    )
    good = Household("h1", GRID, Address("铁一村1号楼"))
    lost = Household("h2", f"{COMMUNITY}999", Address("无此网格"))
    store = open_store("memory://")
    with pytest.raises(ValidationError) as info:
        populate(store, Scenario("s", cells=cells, households=(good, lost)))
    assert "cell_code" == info.value.path
    assert_empty(store)


SHORT_SCHEME_TOML = """
[scenario]
name = "short codes"

[[scenario.code_scheme.segments]]
level = "community"
width = 3

[[scenario.code_scheme.segments]]
level = "grid"
width = 2

[[cells]]
code = "006"
name = "明宫社区"
level = "community"

[[cells]]
code = "00601"
name = "铁一村网格"
level = "grid"
parent_code = "006"
"""


def test_custom_code_scheme(tmp_path: Path) -> None:
    """A scheme in the scenario file (its name left out) governs the cell codes."""
    scenario = load_scenario(scenario_dir(tmp_path, toml=SHORT_SCHEME_TOML))
    assert ("scenario", (3, 2)) == (
        scenario.scheme.name,
        tuple(s.width for s in scenario.scheme.segments),
    )
    store = open_store("memory://", scheme=scenario.scheme)
    assert LoadReport(2, 0, 0, 0) == populate(store, scenario)


def test_populate_checks_codes_against_the_store_scheme(tmp_path: Path) -> None:
    """Cells that do not fit the store's code scheme are refused before anything is written."""
    scenario = load_scenario(scenario_dir(tmp_path, toml=SHORT_SCHEME_TOML))
    store = open_store("memory://")
    with pytest.raises(ValidationError) as info:
        populate(store, scenario)
    assert "cells[0].code" == info.value.path
    with store() as uow:
        assert 0 == len(uow.cells.tree())


# --- loading: paths, files, options ---------------------------------------------------------


def test_load_accepts_the_file_or_its_folder(tmp_path: Path) -> None:
    """A scenario directory and its scenario.toml load the same scenario."""
    folder = scenario_dir(tmp_path, [row()], extra=WORKER_TOML)
    assert load_scenario(folder) == load_scenario(folder / "scenario.toml")
    assert load_scenario(str(folder)) == load_scenario(folder)


def test_loaded_scenario_reads_csv_and_workers(tmp_path: Path) -> None:
    """The CSV's household, with its resident's fields, and the worker are loaded."""
    scenario = load_scenario(scenario_dir(tmp_path, [row()], extra=WORKER_TOML))
    (household,) = scenario.households
    (resident,) = household.members
    assert (BUILDING, "铁一村1号楼 1单元 101室") == (household.cell_code, str(household.address))
    assert (pendulum.Date(1955, 3, 12), Sex.MALE) == (resident.birth_date, resident.sex)
    assert frozenset({Tag.LIVING_ALONE}) == resident.tags
    assert (EmergencyContact("王浩", "13900000002", "儿子"),) == resident.emergency_contacts
    assert ["grid-01"] == [w.id for w in scenario.workers]


def test_households_can_be_skipped(tmp_path: Path) -> None:
    """Without households, a scenario loads even before its CSV exists."""
    folder = scenario_dir(tmp_path, [row()])
    (folder / "households.csv").unlink()
    scenario = load_scenario(folder, households=False)
    assert (5, ()) == (len(scenario.cells), scenario.households)


def test_missing_scenario_is_not_found(tmp_path: Path) -> None:
    """A path without a scenario file raises NotFoundError."""
    with pytest.raises(NotFoundError):
        load_scenario(tmp_path)


@pytest.mark.parametrize("name", ["../secrets.csv", "/etc/passwd", "link.csv"])
def test_a_file_outside_the_scenario_folder_is_refused(tmp_path: Path, name: str) -> None:
    """A scenario cannot name a file outside its folder, by path or through a link."""
    (tmp_path / "scenario").mkdir()
    folder = scenario_dir(tmp_path / "scenario", [row()])
    (tmp_path / "secrets.csv").write_text("id\n", encoding="utf-8")
    (folder / "link.csv").symlink_to(tmp_path / "secrets.csv")
    toml = (folder / "scenario.toml").read_text(encoding="utf-8")
    (folder / "scenario.toml").write_text(
        toml.replace('households_csv = ["households.csv"]', f"households_csv = [{name!r}]"),
        encoding="utf-8",
    )
    err = load_error(folder)
    expected = "scenario.toml: households_csv[0]: a file in the scenario's folder or below it"
    assert expected == str(err)


def test_missing_csv_file_names_the_key(tmp_path: Path) -> None:
    """A households_csv entry without a file is an error at that key."""
    folder = scenario_dir(tmp_path, [row()])
    (folder / "households.csv").unlink()
    err = load_error(folder)
    assert "scenario.toml: households_csv[0]: file not found next to the scenario file" == str(err)


def test_inline_households_are_loaded_with_csv_ones(tmp_path: Path) -> None:
    """[[households]] tables and CSV rows both end up in the scenario, inline ones first."""
    inline = f"""
[[households]]
id = "h0"
cell_code = "{GRID}"
status = "vacant"
address = {{ line = "铁一村2号楼" }}
"""
    scenario = load_scenario(scenario_dir(tmp_path, [row()], extra=inline))
    assert ["h0", "h1"] == [h.id for h in scenario.households]


# --- loading: errors name the file, the path and the problem -------------------------------


def test_bad_national_id_in_csv(tmp_path: Path) -> None:
    """A bad check character fails the whole load, naming the file, line and column."""
    rows = [row(), row(household_id="h2", resident_id="h2-1", national_id=BAD_ID, room="102")]
    err = load_error(scenario_dir(tmp_path, rows))
    assert (
        "households.csv: line 3.national_id: the check character does not match (GB 11643 MOD 11-2)"
    ) == str(err)
    assert ("households.csv", "line 3.national_id") == (err.source, err.path)
    assert BAD_ID not in str(err)


def test_bad_national_id_inline(tmp_path: Path) -> None:
    """An inline household's bad ID number is named by its TOML path."""
    inline = f"""
[[households]]
id = "h0"
cell_code = "{GRID}"
address = {{ line = "铁一村2号楼" }}
members = [{{ id = "r0", name = "王建国", national_id = "{BAD_ID}" }}]
"""
    err = load_error(scenario_dir(tmp_path, extra=inline))
    assert "scenario.toml" == err.source
    assert "households[0].members[0].national_id" == err.path
    assert BAD_ID not in str(err)


def test_unknown_key_in_toml(tmp_path: Path) -> None:
    """An unknown key is rejected with its path."""
    toml = CELLS_TOML.replace('name = "新城区"\n', 'name = "新城区"\ncolour = "red"\n')
    err = load_error(scenario_dir(tmp_path, toml=toml))
    assert "scenario.toml: cells[0].colour: unknown key" == str(err)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    """A misspelt top-level key is rejected too."""
    err = load_error(scenario_dir(tmp_path, toml='household_csv = ["x.csv"]\n' + CELLS_TOML))
    assert "scenario.toml: household_csv: unknown key" == str(err)


def test_cell_with_unknown_parent(tmp_path: Path) -> None:
    """A cell whose parent is not in the scenario is rejected by the tree check."""
    toml = CELLS_TOML.replace(f'parent_code = "{GRID}"', 'parent_code = "610102003006009"')
    err = load_error(scenario_dir(tmp_path, toml=toml))
    assert "scenario.toml: cells[4].parent_code: unknown parent cell" == str(err)


def test_toml_syntax_error(tmp_path: Path) -> None:
    """A TOML syntax error is a ValidationError naming the file and the line."""
    err = load_error(scenario_dir(tmp_path, toml='[scenario]\nname = "x\n'))
    assert ("scenario.toml", "line 2") == (err.source, err.path)
    assert str(err).startswith("scenario.toml: line 2: TOML syntax error: ")


def test_non_utf8_toml(tmp_path: Path) -> None:
    """A scenario file in another encoding is reported as such."""
    (tmp_path / "scenario.toml").write_bytes('[scenario]\nname = "明宫"\n'.encode("gbk"))
    assert "scenario.toml: not UTF-8 text" == str(load_error(tmp_path))


def test_worker_assigned_to_unknown_cell(tmp_path: Path) -> None:
    """A worker's assignment must name a cell of the scenario."""
    err = load_error(scenario_dir(tmp_path, extra=WORKER_TOML.replace(GRID, f"{COMMUNITY}009")))
    assert "scenario.toml: workers[0].assignments[0].cell_code: unknown cell" == str(err)


def test_duplicate_worker(tmp_path: Path) -> None:
    """Two workers with one id are rejected."""
    err = load_error(scenario_dir(tmp_path, extra=WORKER_TOML + WORKER_TOML))
    assert "scenario.toml: workers[1].id: duplicate worker id" == str(err)


def _second(**changes: str) -> dict[str, str]:
    """Return a row for a second household, h2, with ``changes`` (no ID number: not h1's)."""
    fields = {"household_id": "h2", "resident_id": "h2-1", "room": "102", "national_id": ""}
    return row(**{**fields, "birth_date": "1950-01-01", **changes})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([row(), _second(cell_code=f"{COMMUNITY}009")], "line 3.cell_code: unknown cell"),
        (
            [row(), _second(cell_code=COMMUNITY)],
            "line 3.cell_code: a household lives in a grid or building cell",
        ),
        ([row(), _second(resident_id="h1-1")], "line 3.resident_id: duplicate resident id"),
        (
            [row(), _second(national_id=VALID_ID, birth_date="")],
            "line 3.national_id: the same ID number as resident 'h1-1'",
        ),
        (
            [row(), _second(birth_date="2026-11-29")],
            "line 3.birth_date: is after the scenario's as_of date",
        ),
        (
            [row(), _second(), row(resident_id="h1-2", national_id="")],
            "line 4.household_id: rows of a household must be consecutive",
        ),
        (
            [row(), row(resident_id="h1-2", national_id="", address="铁一村2号楼")],
            "line 3.address: differs from the first row of the household",
        ),
        (
            [row(emergency_phone="12345")],
            "line 2.emergency_phone: not a mainland phone number "
            "(11-digit mobile or area code-number landline)",
        ),
        (
            [row(tags="living_alone;Empty Nest")],
            "line 2.tags: a code is 1-48 lower-case letters, digits or '_'",
        ),
        (
            [row(status="relocated")],
            "line 2.forwarding_address: a relocated household needs a forwarding contact",
        ),
        ([row(status="vacant")], "line 2.resident_id: a vacant household has no members"),
        (
            [row(status="gone")],
            "line 2.status: not one of 'resident', 'relocated', 'vacant', 'moved_out'",
        ),
        (
            [row(birth_date="1955-03-13")],
            "line 2.birth_date: does not match the birth date in national_id",
        ),
        (
            [row(), row(**dict.fromkeys(CSV_COLUMNS[8:], ""))],
            "line 3.resident_id: a row without a resident in a household with residents",
        ),
        ([row(name="")], "line 2.name: must not be empty"),
        (
            [row(), row(resident_id="h1-2", national_id="", phone="123")],
            "line 3.phone: not a mainland phone number "
            "(11-digit mobile or area code-number landline)",
        ),
    ],
)
def test_csv_errors_name_line_and_column(
    tmp_path: Path, rows: list[dict[str, str]], message: str
) -> None:
    """Each kind of bad row fails the load with the line and column of the problem."""
    assert f"households.csv: {message}" == str(load_error(scenario_dir(tmp_path, rows)))


def test_csv_errors_are_all_collected(tmp_path: Path) -> None:
    """Problems on several rows come in one error that counts them all."""
    rows = [row(national_id=BAD_ID), _second(phone="12"), _second(household_id="h3", room="x" * 30)]
    err = load_error(scenario_dir(tmp_path, rows))
    assert ["line 2.national_id", "line 3.phone", "line 4.room"] == [p for p, _ in err.problems]
    assert str(err).endswith("(and 2 more problem(s))")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: empty file: expected a header row"),
        ("household_id,cell_code,address,colour\n", "line 1: column 4 has an unknown name"),
        ("household_id,address\n", "line 1.cell_code: required column missing"),
        (
            "household_id,cell_code,address,address\n",
            "line 1.address: duplicate column",
        ),
        (
            f"household_id,cell_code,address\nh1,{BUILDING}\n",
            "line 2: 2 fields where the header has 3",
        ),
    ],
)
def test_csv_structure_errors(tmp_path: Path, text: str, message: str) -> None:
    """Header and row-shape problems are reported at their line."""
    folder = scenario_dir(tmp_path, [])
    (folder / "households.csv").write_text(text, encoding="utf-8")
    assert f"households.csv: {message}" == str(load_error(folder))


def test_csv_in_another_encoding(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with a line number."""
    folder = scenario_dir(tmp_path, [])
    text = f"household_id,cell_code,address\nh1,{BUILDING},铁一村1号楼\n"
    (folder / "households.csv").write_bytes(text.encode("gbk"))
    assert str(load_error(folder)).startswith("households.csv: line ")


# --- the households CSV -------------------------------------------------------------------


def test_csv_accepts_bom_column_subsets_and_spaced_lists(tmp_path: Path) -> None:
    """A BOM, only some columns and spaces around ';' are fine; blank lines are skipped."""
    path = tmp_path / "h.csv"
    text = (
        "\ufeffhousehold_id,cell_code,address,resident_id,name,birth_date,tags,status\n"
        f"h1,{GRID},铁一村1号楼,r1,王芳,1940-05-06, living_alone ; advanced_age ,\n"
        "\n"
        f"h2,{GRID},铁一村2号楼,,,,,vacant\n"
    )
    path.write_text(text, encoding="utf-8")
    first, second = read_households_csv(path)
    assert frozenset({Tag.LIVING_ALONE, Tag.ADVANCED_AGE}) == first.members[0].tags
    assert (None, pendulum.Date(1940, 5, 6)) == (
        first.members[0].national_id,
        first.members[0].birth_date,
    )
    assert (HouseholdStatus.VACANT, ()) == (second.status, second.members)


def test_read_households_csv_is_lazy_and_names_the_file(tmp_path: Path) -> None:
    """Reading starts on iteration; a missing file is then NotFoundError."""
    households = read_households_csv(tmp_path / "absent.csv")
    with pytest.raises(NotFoundError):
        next(households)


def test_read_households_csv_errors_use_the_source_name(tmp_path: Path) -> None:
    """The ``source`` argument names the file in errors."""
    path = tmp_path / "h.csv"
    write_csv(path, [row(national_id=BAD_ID, cell_code=GRID)])
    with pytest.raises(ValidationError) as info:
        list(read_households_csv(path, source="upload #3"))
    assert "upload #3" == info.value.source


def _sparse_households() -> list[Household]:
    """Return households using the optional fields sparingly."""
    plain = Resident("p1", "李四", birth_date=pendulum.Date(1990, 1, 2), relationship="")
    unknown = Resident("p2", "张三")
    forwarding = ForwardingContact("未央区某安置小区3号楼")
    return [
        Household("a1", GRID, Address("铁一村1号楼"), members=(plain, unknown)),
        Household("a2", GRID, Address("铁一村2号楼", unit="3"), status=HouseholdStatus.VACANT),
        Household(
            "a3",
            BUILDING,
            Address("铁一村1号楼", room="5"),
            status=HouseholdStatus.RELOCATED,
            members=(Resident("p3", "王五", NationalId(VALID_ID), phone="029-87654321"),),
            forwarding=forwarding,
        ),
    ]


def test_csv_round_trip_of_sparse_households(tmp_path: Path) -> None:
    """Absent fields, vacant households and forwarding without phone survive write then read."""
    households = _sparse_households()
    path = tmp_path / "h.csv"
    assert 3 == write_households_csv(households, path, redaction=Redaction.FULL)
    assert households == list(read_households_csv(path))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), count=st.integers(0, 40))
def test_csv_round_trip_of_generated_households(seed: int, count: int) -> None:
    """Generated households, some relocated, read back equal to what was written."""
    cells = [GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID)]
    households = list(
        relocate(
            generate_households(cells, count, seed=seed, as_of=AS_OF),
            [BUILDING],
            seed=seed,
            share=0.5,
        )
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.csv"
        assert count == write_households_csv(households, path, redaction=Redaction.FULL)
        assert households == list(read_households_csv(path))


def _failing(households: list[Household], path: Path) -> ValidationError:
    """Write ``households`` to ``path``, check it fails and leaves no file; return the error."""
    with pytest.raises(ValidationError) as info:
        write_households_csv(households, path, redaction=Redaction.FULL)
    assert [] == list(path.parent.iterdir())
    return info.value


def test_write_refuses_a_second_emergency_contact(tmp_path: Path) -> None:
    """The format holds one contact per resident: more is an error and no file is written."""
    contacts = (EmergencyContact("王浩", "13900000002"), EmergencyContact("王敏", "13900000003"))
    elder = Resident("r1", "王建国", emergency_contacts=contacts)
    h = Household("h1", GRID, Address("铁一村1号楼"), members=(elder,))
    err = _failing([_sparse_households()[0], h], tmp_path / "h.csv")
    assert "households[1].members[0].emergency_contacts" == err.path


def test_write_refuses_a_forwarding_note(tmp_path: Path) -> None:
    """A forwarding note has no column: an error rather than a silent loss."""
    h = _sparse_households()[2].relocate(ForwardingContact("某小区", note="周末在家"))
    assert "households[0].forwarding.note" == _failing([h], tmp_path / "h.csv").path


def test_write_leaves_an_existing_file_alone_on_error(tmp_path: Path) -> None:
    """A failed write does not truncate the file it would have replaced."""
    path = tmp_path / "h.csv"
    path.write_text("old", encoding="utf-8")
    h = _sparse_households()[2].relocate(ForwardingContact("某小区", note="周末在家"))
    with pytest.raises(ValidationError):
        write_households_csv(iter([h]), path, redaction=Redaction.FULL)
    assert "old" == path.read_text(encoding="utf-8")


# --- ledger summary -----------------------------------------------------------------------


def _aged(rid: str, age: int, *tags: Tag) -> Resident:
    """Return a resident ``age`` years old on AS_OF carrying ``tags``."""
    return Resident(rid, "某人", birth_date=AS_OF.subtract(years=age), tags=frozenset(tags))


@pytest.fixture
def small_store() -> Iterator[Store]:
    """Return a store with two grids and households of every status."""
    store = open_store("memory://")
    grid2 = f"{COMMUNITY}002"
    with store() as uow:
        for cell in (
            GridCell("610102", "新城区", GridLevel.DISTRICT),
            GridCell("610102003", "自强路街道", GridLevel.STREET, "610102"),
            GridCell(COMMUNITY, "明宫社区", GridLevel.COMMUNITY, "610102003"),
            GridCell(GRID, "铁一村网格", GridLevel.GRID, COMMUNITY),
            GridCell(BUILDING, "铁一村1号楼", GridLevel.BUILDING, GRID),
            GridCell(grid2, "拆迁片区网格", GridLevel.GRID, COMMUNITY),
        ):
            uow.cells.add(cell)
        members = (_aged("a", 59), _aged("b", 60, Tag.EMPTY_NEST), _aged("c", 69, Tag.EMPTY_NEST))
        uow.households.add(Household("h1", BUILDING, Address("1号楼"), members=members))
        members = (
            _aged("d", 70, Tag.LIVING_ALONE),
            _aged("e", 79),
            _aged("f", 80, Tag.ADVANCED_AGE),
        )
        uow.households.add(Household("h2", GRID, Address("2号楼"), members=members))
        moved = Household(
            "h3", grid2, Address("3号院"), members=(_aged("g", 85, Tag.ADVANCED_AGE),)
        )
        uow.households.add(moved.relocate(ForwardingContact("安置小区")))
        uow.households.add(Household("h4", grid2, Address("4号院"), status=HouseholdStatus.VACANT))
        uow.households.add(
            Household("h5", grid2, Address("5号院"), HouseholdStatus.MOVED_OUT, (_aged("x", 90),))
        )
        uow.commit()
    yield store
    store.close()


def _counts(s: GridSummary) -> tuple[int, ...]:
    """Return a summary's numbers in table order."""
    return (
        s.households,
        s.resident_households,
        s.relocated_households,
        s.vacant_households,
        s.moved_out_households,
        s.residents,
        s.aged_60_69,
        s.aged_70_79,
        s.aged_80_plus,
    )


def test_ledger_summary_counts_households_residents_and_bands(small_store: Store) -> None:
    """Statuses, served residents, age bands at their edges and tags are counted per grid."""
    with small_store() as uow:
        grids = [uow.cells.get(GRID), uow.cells.get(f"{COMMUNITY}002")]
        first, second = ledger_summary(uow, grids, AS_OF)
    assert (GRID, "铁一村网格") == (first.code, first.name)
    assert (2, 2, 0, 0, 0, 6, 2, 2, 1) == _counts(first)
    assert (3, 0, 1, 1, 1, 1, 0, 0, 1) == _counts(second)
    assert (2, 1, 0, 1) == tuple(
        first.tag_count(t)
        for t in (Tag.EMPTY_NEST, Tag.LIVING_ALONE, Tag.LEFT_BEHIND, Tag.ADVANCED_AGE)
    )
    assert Tag.builtins() == tuple(t for t, _ in first.tags)
    assert 5 == first.elders


def test_ledger_summary_pages_through_households(small_store: Store) -> None:
    """A page of one household gives the same summary as one big page."""
    with small_store() as uow:
        cells = [uow.cells.get(COMMUNITY)]
        assert ledger_summary(uow, cells, AS_OF) == ledger_summary(uow, cells, AS_OF, page_size=1)


def test_ledger_summary_ages_on_the_given_day(small_store: Store) -> None:
    """A year later the 59-, 69- and 79-year-olds have each moved up a band."""
    with small_store() as uow:
        (later,) = ledger_summary(uow, [uow.cells.get(GRID)], AS_OF.add(years=1))
    assert (2, 2, 2) == (later.aged_60_69, later.aged_70_79, later.aged_80_plus)


def test_ledger_summary_unknown_cell(small_store: Store) -> None:
    """A cell that is not stored raises NotFoundError."""
    with small_store() as uow, pytest.raises(NotFoundError):
        ledger_summary(uow, [GridCell(f"{COMMUNITY}009", "无", GridLevel.GRID, COMMUNITY)], AS_OF)


def test_ledger_summary_needs_a_date(small_store: Store) -> None:
    """A date-time is not a date."""
    with small_store() as uow, pytest.raises(ValidationError):
        ledger_summary(uow, [], pendulum.datetime(2026, 11, 28))


def test_summary_total_adds_up(small_store: Store) -> None:
    """The total row is the sum of the rows, tag by tag, and keeps custom tags."""
    with small_store() as uow:
        rows = ledger_summary(uow, [uow.cells.get(GRID), uow.cells.get(f"{COMMUNITY}002")], AS_OF)
    extra = GridSummary("x", "x", residents=1, tags=((Tag("my_tag"), 1),))
    total = summary_total([*rows, extra])
    assert ("", "合计") == (total.code, total.name)
    assert tuple(map(sum, zip(*(_counts(r) for r in (*rows, extra)), strict=True))) == _counts(
        total
    )
    # The moved-out 90-year-old is not counted; the relocated 85-year-old is.
    assert (2, 1) == (total.tag_count(Tag.ADVANCED_AGE), total.tag_count(Tag("my_tag")))
    assert Tag("my_tag") == total.tags[-1][0]


# --- examples -----------------------------------------------------------------------------


def test_example_path_finds_minggong() -> None:
    """The Minggong example is found, with its scenario file and households."""
    folder = example_path("minggong")
    assert (folder / "scenario.toml").is_file()
    assert (folder / "households.csv").is_file()


def test_example_path_unknown() -> None:
    """An unknown example raises NotFoundError."""
    with pytest.raises(NotFoundError):
        example_path("atlantis")


def test_csv_without_header_does_not_leak_its_first_row(tmp_path: Path) -> None:
    """A file whose first row is data reports positions, not the personal values in it."""
    folder = scenario_dir(tmp_path, [])
    data_row = ",".join(row().values())
    (folder / "households.csv").write_text(data_row + "\n", encoding="utf-8")
    err = load_error(folder)
    assert "line 1" == err.path
    for value in ("王建国", VALID_ID, "13800000001"):
        assert value not in str(err)
        assert all(value not in p + m for p, m in err.problems)
