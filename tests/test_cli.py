"""Tests for the gridgov command: ``gridgov demo`` and its error handling."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pendulum
import pytest

from gridgov.cli import main
from gridgov.clock import SystemClock
from gridgov.codes import id_check_character

BODY = "61010219460312001"  # born 1946-03-12: 80 on 2026-11-28
ELDER_ID = BODY + id_check_character(BODY)
BAD_ID = BODY + ("0" if ELDER_ID[-1] != "0" else "1")

SMALL_TOML = """\
households_csv = ["households.csv"]

[scenario]
name = "小区 small"
{as_of}
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
code = "610102003006"
name = "明宫社区"
level = "community"
parent_code = "610102003"

[[cells]]
code = "610102003006001"
name = "铁一村网格"
level = "grid"
parent_code = "610102003006"
"""
SMALL_CSV = """\
household_id,cell_code,address,status,resident_id,name,national_id,tags
h1,610102003006001,铁一村1号楼,resident,r1,王建国,{id},living_alone;advanced_age
h2,610102003006001,铁一村2号楼,vacant,,,,
"""


def small_scenario(
    folder: Path, *, as_of: str = "as_of = 2026-11-28", national_id: str = ELDER_ID
) -> Path:
    """Write a one-grid scenario with an 80-year-old living alone and a vacant flat."""
    (folder / "scenario.toml").write_text(SMALL_TOML.format(as_of=as_of), encoding="utf-8")
    (folder / "households.csv").write_text(SMALL_CSV.format(id=national_id), encoding="utf-8")
    return folder


def run(*argv: str) -> tuple[int, str, str]:
    """Run ``gridgov`` in-process; return the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def tables(output: str) -> list[list[list[str]]]:
    """Return the tables of the demo's output: rows of cells, the header row first."""
    found: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in output.splitlines():
        if line.startswith("网格 "):
            current = [line.split()]
            found.append(current)
        elif not line.strip():
            current = None
        elif current is not None:
            current.append(line.split())
    return found


@pytest.fixture(autouse=True)
def _private_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the demo's default store out of the user's data directory."""
    monkeypatch.setenv("GRIDGOV_DB", f"sqlite:///{tmp_path / 'demo.db'}")


@pytest.fixture(scope="module")
def minggong_output() -> str:
    """Return the demo's output for Minggong on 2026-11-28, run once."""
    code, out, err = run("demo", "--today", "2026-11-28", "--db", "memory://")
    assert 0 == code
    assert err.startswith("loaded 明宫社区 Minggong into memory://: 39 cells, 8 workers, 2043 hou")
    return out


def test_demo_totals_2043_households(minggong_output: str) -> None:
    """The households table ends with a total row of 2,043 households."""
    population = tables(minggong_output)[0]
    assert ["网格", "户数", "在住", "拆迁外迁", "空置", "迁出", "居民"] == population[0][:7]
    assert ["合计", "2043"] == population[-1][:2]
    assert 7 + 2 == len(population)  # header, seven grids, total


def test_demo_grid_rows_sum_to_the_totals(minggong_output: str) -> None:
    """In every table, each column of the grid rows adds up to the total row."""
    found = tables(minggong_output)
    assert 4 == len(found)  # households, two of key populations, coverage
    for table in found[:3]:
        grids, total = table[1:-1], table[-1]
        assert "合计" == total[0]
        sums = [sum(int(r[i]) for r in grids) for i in range(1, len(total))]
        assert [int(x) for x in total[1:]] == sums


def test_demo_prints_open_cases_by_level_after_the_morning_sweep(minggong_output: str) -> None:
    """The escalated complaint is at the community; the overdue emergency still in its grid."""
    section = minggong_output.split("在办事件", 1)[1].split("今日督办", 1)[0].splitlines()
    rows = [line.split() for line in section[2:6]]
    expected = [
        ["网格级", "grid", "1", "1"],
        ["社区级", "community", "1", "0"],
        ["街道级", "street", "0", "0"],
        ["区级", "district", "0", "0"],
    ]
    assert expected == rows
    assert [
        "mg-2026-1102 投诉 处置中 明宫社区 办理时限 2026-12-17 17:30",
        "mg-2026-1103 紧急：危及生命财产安全 处置中 铁一村网格 办理时限 2026-11-28 08:40 "
        "超期 overdue",
    ] == [line.strip() for line in section[6:8]]


def test_demo_prints_todays_escalations(minggong_output: str) -> None:
    """The sweep at 09:00 raised the complaint and reminded and marked the emergency."""
    lines = minggong_output.split("今日督办", 1)[1].splitlines()
    assert " escalations on 2026-11-28: 3" == lines[0]
    assert [
        "09:00 mg-2026-1102 上提一级 建强路网格 → 明宫社区:",
        "09:00 mg-2026-1103 提醒:",
        "09:00 mg-2026-1103 超期:",
    ] == [line.strip().split(": ")[0] + ":" for line in lines[1:4]]


def test_demo_adds_cases_and_programme_to_a_store_loaded_before_them(tmp_path: Path) -> None:
    """A demo store from before cases and activities existed gets them on the next run."""
    import attrs

    from gridgov.bootstrap import open_store
    from gridgov.scenarios import example_path, load_scenario, populate

    db = f"sqlite:///{tmp_path / 'old.db'}"
    scenario = load_scenario(example_path())
    older = attrs.evolve(scenario, cases=(), venues=(), activities=(), shifts=(), registrations=())
    store = open_store(db, scheme=scenario.scheme)
    populate(store, older)
    store.close()
    code, out, err = run("demo", "--db", db)
    assert 0 == code
    assert "added 3 cases and 5 activity series, 91 registrations of 明宫社区 Minggong" in err
    assert "mg-2026-1102 投诉 处置中 明宫社区" in out
    assert "自闭症儿童绘画课" in out


def test_demo_household_statuses_add_up(minggong_output: str) -> None:
    """Each grid's households are its resident, relocated, vacant and moved-out ones."""
    for r in tables(minggong_output)[0][1:]:
        assert int(r[1]) == sum(int(x) for x in r[2:6])


def test_demo_shows_the_key_population_labels(minggong_output: str) -> None:
    """Every built-in tag appears with its Chinese label."""
    headers = [cell for table in tables(minggong_output)[1:3] for cell in table[0][1:]]
    assert [
        "独居",
        "空巢",
        "留守",
        "高龄",
        "失能",
        "失智",
        "重残",
        "计生特殊家庭",
        "特困供养",
    ] == headers[:9]
    assert ["低保", "党员", "志愿者", "退役军人", "退休干部", "自闭症儿童家庭"] == headers[9:]


def test_demo_prints_a_worklist_and_each_grids_coverage(minggong_output: str) -> None:
    """After the ledger, the demo shows one worker's tasks and the month's coverage per grid."""
    lines = minggong_output.splitlines()
    head = next(line for line in lines if line.startswith("今日探访清单 worklist of grid-"))
    assert head.endswith("buildings")
    coverage = tables(minggong_output)[3]
    assert ["网格", "探访对象", "已联系", "联系率", "按频次", "达标率", "未达标"] == coverage[0]
    assert 1 + 7 == len(coverage)
    for row in coverage[1:]:
        covered, contacted, on_cadence, missed = int(row[1]), int(row[2]), int(row[4]), int(row[6])
        assert covered == on_cadence + missed
        assert contacted <= covered


def test_python_m_gridgov_demo_matches(minggong_output: str) -> None:
    """``python -m gridgov demo`` prints the same as the in-process run."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-m", "gridgov", "demo", "--today", "2026-11-28", "--db", "memory://"],
        capture_output=True,
        encoding="utf-8",
        env=env,
        check=False,
        timeout=120,
    )
    assert (0, minggong_output) == (result.returncode, result.stdout)


def test_demo_defaults_to_the_scenario_date(tmp_path: Path) -> None:
    """Without --today, the scenario's as_of is the summary's date."""
    code, out, _ = run("demo", "--scenario", str(small_scenario(tmp_path)))
    assert 0 == code
    assert "小区 small: 台账汇总 ledger summary on 2026-11-28" == out.splitlines()[0]
    population = tables(out)[0]
    assert ["铁一村网格", "2", "1", "0", "1", "0", "1", "0", "0", "1"] == population[1]


def test_demo_without_as_of_uses_today(tmp_path: Path) -> None:
    """A scenario without as_of is summarised on the system clock's date."""
    code, out, _ = run("demo", "--scenario", str(small_scenario(tmp_path, as_of="")))
    assert 0 == code
    assert out.splitlines()[0].endswith(SystemClock().today().isoformat())


def test_demo_today_moves_the_age_bands(tmp_path: Path) -> None:
    """Ten years earlier the 80-year-old was in the 70-79 band."""
    folder = str(small_scenario(tmp_path))
    _, out, _ = run("demo", "--scenario", folder, "--today", "2016-11-28")
    assert ["0", "1", "0"] == tables(out)[0][1][7:10]
    assert pendulum.Date(2016, 11, 28).isoformat() in out.splitlines()[0]


def test_invalid_scenario_exits_2_without_traceback(tmp_path: Path) -> None:
    """A validation error prints one line naming file, line and column, and exits with 2."""
    code, out, err = run("demo", "--scenario", str(small_scenario(tmp_path, national_id=BAD_ID)))
    assert (2, "") == (code, out)
    assert (
        "gridgov: error: households.csv: line 2.national_id: the check character does not match "
        "(GB 11643 MOD 11-2)\n"
    ) == err
    assert BAD_ID not in err


def test_missing_scenario_exits_1(tmp_path: Path) -> None:
    """A scenario path without a scenario file is a not-found error: exit code 1."""
    code, _, err = run("demo", "--scenario", str(tmp_path / "nowhere"))
    assert 1 == code
    assert err.startswith("gridgov: error: scenario file ")
    assert err.endswith(" not found\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("demo", "--today", "28/11/2026"), "expected a date as YYYY-MM-DD"),
        ((), "the following arguments are required: COMMAND"),
        (("audit",), "invalid choice: 'audit'"),
    ],
)
def test_usage_errors_exit_2(argv: tuple[str, ...], message: str) -> None:
    """Bad arguments print argparse's usage error and exit with 2."""
    code, _, err = run(*argv)
    assert 2 == code
    assert message in err


def test_demo_keeps_its_ledger_in_the_default_sqlite_file(tmp_path: Path) -> None:
    """The first demo loads the scenario into the default file; the second reuses it."""
    folder = str(small_scenario(tmp_path))
    first = run("demo", "--scenario", folder)
    second = run("demo", "--scenario", folder)
    assert (0, 0) == (first[0], second[0])
    assert first[1] == second[1]
    assert first[2].startswith("loaded 小区 small into sqlite:///")
    assert second[2].startswith("using 小区 small already in sqlite:///")
    assert (tmp_path / "demo.db").exists()


def test_default_db_url_follows_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without GRIDGOV_DB the demo's store is demo.db under $XDG_DATA_HOME/gridgov."""
    from gridgov.cli import default_db_url

    monkeypatch.delenv("GRIDGOV_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    assert f"sqlite:///{tmp_path / 'gridgov' / 'demo.db'}" == default_db_url()
    assert (tmp_path / "gridgov").is_dir()


def test_help_exits_0() -> None:
    """``--help`` prints the usage and exits with 0."""
    code, out, _ = run("demo", "--help")
    assert 0 == code
    assert "--today YYYY-MM-DD" in out


def test_demo_refuses_a_store_holding_other_data(tmp_path: Path) -> None:
    """A store that holds another scenario's cells is not mixed with this one: exit 1."""
    first = tmp_path / "first"
    first.mkdir()
    run("demo", "--scenario", str(small_scenario(first)))
    other = tmp_path / "other"
    other.mkdir()
    small_scenario(other)
    toml = other / "scenario.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("铁一村网格", "另一网格"), encoding="utf-8"
    )
    code, _, err = run("demo", "--scenario", str(other))
    assert 1 == code
    assert "holds other data than 小区 small" in err


def test_safe_url_hides_passwords() -> None:
    """Printed store URLs never show a password."""
    from gridgov.cli import safe_url

    assert "postgresql://gg:***@db:5432/ledger?schema=x" == safe_url(
        "postgresql://gg:s3cret@db:5432/ledger?schema=x"
    )
    assert "sqlite:///ledger.db" == safe_url("sqlite:///ledger.db")


def test_demo_into_a_closed_pipe_prints_no_traceback() -> None:
    """``gridgov demo | head -1`` ends quietly, without a BrokenPipeError traceback."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        f"{sys.executable} -m gridgov demo --db memory:// --today 2026-11-28 | head -1",
        shell=True,
        capture_output=True,
        encoding="utf-8",
        env=env,
        check=False,
        timeout=300,
    )
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("明宫社区 Minggong: 台账汇总")
