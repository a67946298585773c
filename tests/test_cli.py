"""Tests for the gridgov command: its subcommands, their JSON output and their exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pendulum
import pytest

from gridgov.cli import main
from gridgov.clock import SystemClock
from gridgov.codes import id_check_character
from gridgov.ports import UnitOfWork

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


def test_missing_scenario_exits_3(tmp_path: Path) -> None:
    """A scenario path without a scenario file is a not-found error: exit code 3."""
    code, _, err = run("demo", "--scenario", str(tmp_path / "nowhere"))
    assert 3 == code
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
    """A store that holds another scenario's cells is not mixed with this one: exit 4."""
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
    assert 4 == code
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


# --- the subcommands over a loaded store ---------------------------------------------------------

NINE = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Load Minggong once into a SQLite file with ``gridgov load --json``; return it and stdout.

    Tests that only read use this file; tests that write use a copy (``ledger``).
    """
    path = tmp_path_factory.mktemp("ledger") / "minggong.db"
    code, out, _ = run("load", "--db", f"sqlite:///{path}", "--json", "--quiet")
    assert 0 == code
    return path, out


@pytest.fixture
def shared(loaded: tuple[Path, str]) -> str:
    """Return the URL of the loaded Minggong store, for tests that do not write."""
    return f"sqlite:///{loaded[0]}"


@pytest.fixture
def ledger(loaded: tuple[Path, str], tmp_path: Path) -> str:
    """Return the URL of a private copy of the loaded Minggong store, for tests that write."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(loaded[0], copy)
    return f"sqlite:///{copy}"


@contextlib.contextmanager
def opened(url: str) -> Iterator[UnitOfWork]:
    """Open a unit of work on the store at ``url`` (Minggong's code scheme)."""
    from gridgov.bootstrap import open_store
    from gridgov.scenarios import example_path, load_scenario

    store = open_store(url, scheme=load_scenario(example_path(), households=False).scheme)
    try:
        with store() as uow:
            yield uow
    finally:
        store.close()


def rows(text: str) -> list[list[str]]:
    """Return the lines of a table as cells: columns are two or more spaces apart."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def test_load_prints_what_it_stored_as_json(loaded: tuple[Path, str]) -> None:
    """``gridgov load --json`` reports every record the Minggong example stored."""
    path, out = loaded
    expected = {
        "scenario": "明宫社区 Minggong",
        "store": f"sqlite:///{path}",
        "loaded": True,
        "counts": {
            "cells": 39,
            "workers": 8,
            "households": 2043,
            "residents": 4686,
            "contacts": 8313,
            "tasks": 1522,
            "cases": 3,
            "series": 5,
            "registrations": 91,
        },
    }
    assert expected == json.loads(out)


def test_json_output_is_sorted_indented_and_keeps_chinese(loaded: tuple[Path, str]) -> None:
    """JSON documents have sorted keys, two-space indents and Chinese as is."""
    out = loaded[1]
    expected = json.dumps(json.loads(out), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    assert expected == out
    assert "明宫社区" in out


def test_load_again_keeps_the_store(shared: str) -> None:
    """A second load into a store holding the scenario stores nothing and says so."""
    code, out, err = run("load", "--db", shared, "--json")
    assert (0, False, None) == (code, json.loads(out)["loaded"], json.loads(out)["counts"])
    assert f"using 明宫社区 Minggong already in {shared}\n" == err


def test_load_refuses_a_store_holding_other_data(tmp_path: Path) -> None:
    """Loading Minggong into a store holding another scenario exits with 4 (conflict)."""
    db = f"sqlite:///{tmp_path / 'small.db'}"
    assert 0 == run("load", str(small_scenario(tmp_path)), "--db", db)[0]
    code, out, err = run("load", "--db", db)
    assert (4, "") == (code, out)
    assert (
        f"gridgov: error: the store at {db} holds other data than 明宫社区 Minggong; choose "
        "another --db, or delete that store to start over; a retry will not help\n"
    ) == err


def test_load_shows_no_progress_bar_off_a_terminal(tmp_path: Path) -> None:
    """Without a terminal on stderr, load prints its status line and no progress bar."""
    db = f"sqlite:///{tmp_path / 'small.db'}"
    code, out, err = run("load", str(small_scenario(tmp_path)), "--db", db)
    assert (0, "", False) == (code, out, "\r" in err)
    assert [
        f"loaded 小区 small into {db}: 4 cells, 0 workers, 2 households, 1 residents, "
        "0 contacts, 0 cases, 0 activity series, 0 registrations"
    ] == err.splitlines()


def test_load_progress_forces_the_bar_and_quiet_silences_all(tmp_path: Path) -> None:
    """``--progress`` draws the households bar on stderr anyway; ``--quiet`` prints nothing."""
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    db = f"sqlite:///{tmp_path / 'a.db'}"
    _, _, err = run("load", str(small_scenario(first)), "--db", db, "--progress")
    bar = err.split("\n")[0]
    assert bar.startswith("\rhouseholds [..............................] 0/2\r")
    assert bar.endswith("\rhouseholds [##############################] 2/2")
    quiet = run(
        "load", str(small_scenario(second)), "--db", f"sqlite:///{tmp_path / 'b.db'}", "--quiet"
    )
    assert (0, "", "") == quiet


def test_worklist_json_matches_the_service(ledger: str) -> None:
    """The worklist's JSON lists the tasks the worklist service gives, in route order."""
    from gridgov.services.care import worklist

    code, out, _ = run(
        "worklist", "--db", ledger, "--worker", "grid-02", "--date", "2026-11-28", "--json"
    )
    doc = json.loads(out)
    with opened(ledger) as uow:
        work = worklist(uow, "grid-02", on=NINE.date(), now=NINE)
    listed = [e["task"]["id"] for s in doc["stops"] for h in s["households"] for e in h["entries"]]
    assert (0, len(work), len(work)) == (code, doc["tasks"], len(listed))
    assert [e.task.id for e in work.entries] == listed
    assert ("grid-02", "2026-11-28", "2026-11-28T09:00:00+08:00") == (
        doc["worker_id"],
        doc["on"],
        doc["at"],
    )


def test_worklist_json_is_the_masked_projection(ledger: str) -> None:
    """The command prints what gridgov.projections gives a masked role, plus what it planned."""
    from gridgov.access import Redaction
    from gridgov.projections import project
    from gridgov.services.care import worklist

    code, out, _ = run(
        "worklist", "--db", ledger, "--worker", "grid-02", "--date", "2026-11-28", "--json"
    )
    doc = json.loads(out)
    with opened(ledger) as uow:
        work = worklist(uow, "grid-02", on=NINE.date(), now=NINE)
    expected = project(work, Redaction.MASKED, tz="Asia/Shanghai")
    assert (0, expected) == (
        code,
        {k: v for k, v in doc.items() if k in ("worker_id", "on", "stops")},
    )
    assert ["at", "on", "planned", "stops", "tasks", "worker_id"] == sorted(doc)


def test_worklist_prints_every_task_in_a_table(ledger: str) -> None:
    """The text worklist has a head line and one row per task, names masked."""
    code, out, _ = run("worklist", "--db", ledger, "--worker", "grid-02", "--date", "2026-11-28")
    lines = rows(out)
    assert 0 == code
    assert [
        "今日探访清单 worklist of grid-02 on 2026-11-28 at 09:00: 135 tasks in 5 buildings"
    ] == (lines[0])
    assert ["楼栋 building", "地址 address", "状态", "对象", "方式", "截止 due", "原因 reason"] == (
        lines[1]
    )
    assert 135 == len(lines[2:])
    assert [
        "大明宫院子1号楼",
        "大明宫院子1号楼 4单元 101室",
        "逾期",
        "丁*",
        "电话问候",
        "10-06 10:55",
        "一般:每30天电话问候；上次2026-09-06",
    ] == lines[2]


def test_cases_lists_the_open_cases_with_deadlines(shared: str) -> None:
    """``gridgov cases`` shows the open cases at 09:00 of the scenario's day, overdue flagged."""
    code, out, _ = run("cases", "--db", shared)
    expected = [
        ["事件 open cases in 新城区 at 2026-11-28 09:00: 2"],
        ["编号 case", "类别", "状态", "层级 level", "承办 owner", "时限 deadline", "超期"],
        ["mg-2026-1102", "投诉", "处置中", "网格级", "建强路网格", "办理 2026-12-17 17:30"],
        [
            "mg-2026-1103",
            "紧急：危及生命财产安全",
            "处置中",
            "网格级",
            "铁一村网格",
            "办理 2026-11-28 08:40",
            "超期 overdue",
        ],
    ]
    assert (0, expected) == (code, rows(out))


def test_cases_all_json_matches_the_store(shared: str) -> None:
    """``--all --json`` lists every case the store holds, open and closed, by report time."""
    code, out, _ = run("cases", "--db", shared, "--all", "--json")
    doc = json.loads(out)
    with opened(shared) as uow:
        stored = uow.cases.reported_in_subtree(
            "610102", since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
    assert 0 == code
    assert [c.id for c in stored] == [c["id"] for c in doc["cases"]]
    assert ["evaluated", "in_progress", "in_progress"] == [c["state"] for c in doc["cases"]]
    assert [False, False, True] == [c["overdue"] for c in doc["cases"]]
    assert (None, False) == (doc["cell"], doc["open_only"])


def test_cases_of_one_grid(shared: str) -> None:
    """``--cell`` narrows the list to a subtree."""
    code, out, _ = run("cases", "--db", shared, "--cell", "610102003006001", "--json")
    assert (0, ["mg-2026-1103"]) == (code, [c["id"] for c in json.loads(out)["cases"]])


def test_sweep_prints_the_escalations_it_carried_out(ledger: str) -> None:
    """The sweep at 09:00 raises the complaint, reminds and marks the emergency; once only."""
    code, out, _ = run("sweep", "--db", ledger, "--at", "2026-11-28T09:00+08:00")
    expected = [
        ["督办 escalations at 2026-11-28 09:00: 3"],
        ["编号 case", "动作 action", "到期 due", "承办 owner", "原因 reason"],
        [
            "mg-2026-1102",
            "上提一级",
            "2026-11-27 17:30",
            "建强路网格 → 明宫社区",
            "小事不出网格：网格一个工作日内未办结，上提社区",
        ],
        ["mg-2026-1103", "提醒", "2026-11-28 08:10", "铁一村网格", "办理时限已过四分之三"],
        ["mg-2026-1103", "超期", "2026-11-28 08:40", "铁一村网格", "办理超期"],
    ]
    assert (0, expected) == (code, rows(out))
    again = run("sweep", "--db", ledger, "--at", "2026-11-28T01:00Z", "--json")
    assert (0, {"at": "2026-11-28T09:00:00+08:00", "escalations": []}) == (
        again[0],
        json.loads(again[1]),
    )


def test_sweep_json_matches_the_cases_afterwards(ledger: str) -> None:
    """Each escalation in the JSON is recorded in its case's history, the raise moves the owner."""
    code, out, _ = run("sweep", "--db", ledger, "--at", "2026-11-28T09:00+08:00", "--json")
    fired = json.loads(out)["escalations"]
    with opened(ledger) as uow:
        raised = uow.cases.get("mg-2026-1102")
    assert 0 == code
    assert ["raise_level", "remind", "deadline_missed"] == [e["kind"] for e in fired]
    assert (fired[0]["to_cell"], "community") == (raised.owner_cell, raised.owner_level.value)


def test_sweep_of_care_marks_each_overdue_task_once(ledger: str) -> None:
    """``--what care`` marks the open tasks past due at 09:00 and records each once; not again."""
    code, out, _ = run(
        "sweep", "--db", ledger, "--at", "2026-11-28T09:00+08:00", "--what", "care", "--json"
    )
    marked = json.loads(out)["overdue"]
    again = run(
        "sweep", "--db", ledger, "--at", "2026-11-28T09:00+08:00", "--what", "all", "--json"
    )
    with opened(ledger) as uow:
        stored = {
            e["task_id"]: (
                uow.care_tasks.get(e["task_id"]).overdue_at,
                [ev.type for ev in uow.outbox.for_aggregate("care_task", e["task_id"])][-1],
            )
            for e in marked
        }
    at = pendulum.datetime(2026, 11, 28, 9, tz="Asia/Shanghai")
    assert (0, True, dict.fromkeys(stored, (at, "care.task_overdue"))) == (
        code,
        len(marked) > 0 and len(stored) == len(marked),
        stored,
    )
    assert (0, {"at": "2026-11-28T09:00:00+08:00", "overdue": []}) == (
        again[0],
        {k: v for k, v in json.loads(again[1]).items() if k != "escalations"},
    )


def test_sweep_of_care_prints_the_tasks_it_marked(ledger: str) -> None:
    """The table names each task, its kind, due time, building and resident reference."""
    code, out, _ = run("sweep", "--db", ledger, "--at", "2026-11-28T09:00+08:00", "--what", "care")
    found = rows(out)
    assert (0, ["任务 task", "类别 kind", "到期 due", "网格 cell", "居民 resident"]) == (
        code,
        found[1],
    )
    assert found[0][0].startswith("逾期 overdue care tasks at 2026-11-28 09:00: ")


def test_schedule_json_matches_the_service(shared: str) -> None:
    """The week's JSON gives the fill and waitlist week_schedule counts for each occurrence."""
    from gridgov.services.scheduling import week_schedule

    code, out, _ = run("schedule", "--db", shared, "--week", "2026-11-28", "--json")
    doc = json.loads(out)
    start = pendulum.datetime(2026, 11, 28, tz="Asia/Shanghai")
    with opened(shared) as uow:
        week = week_schedule(uow, "hui", start=start)
    expected = [
        (e.occurrence.id, e.confirmed, e.waitlisted) for es in week.by_space.values() for e in es
    ]
    listed = [
        (o["occurrence"]["id"], o["confirmed"], o["waitlisted"])
        for s in doc["venues"][0]["spaces"]
        for o in s["occurrences"]
    ]
    assert (0, expected) == (code, listed)
    assert ("2026-11-28T00:00:00+08:00", "2026-12-05T00:00:00+08:00") == (doc["start"], doc["end"])


def test_schedule_prints_each_space_with_fill_and_waitlist(shared: str) -> None:
    """The text week shows the full free clinic with six people waiting."""
    code, out, _ = run("schedule", "--db", shared, "--week", "2026-11-28", "--venue", "hui")
    assert 0 == code
    assert "本周活动 programme of 明宫HUI客厅, 2026-11-28 to 2026-12-04" == out.splitlines()[0]
    assert ["服务惠民", "12-02 周三", "14:30-17:00", "科普向未来·健康义诊", "20/20", "6"] in rows(
        out
    )


def test_report_json_matches_the_coverage_service(shared: str) -> None:
    """Each grid's coverage in the report is what the coverage service measures."""
    from gridgov.services.care import coverage

    code, out, _ = run("report", "--db", shared, "--on", "2026-11-28", "--json")
    doc = json.loads(out)
    with opened(shared) as uow:
        measured = [
            coverage(
                uow,
                g["code"],
                start=pendulum.Date(2026, 11, 1),
                end=pendulum.Date(2026, 11, 29),
            ).covered
            for g in doc["grids"]
        ]
    assert (0, 7) == (code, len(doc["grids"]))
    assert measured == [g["coverage"]["covered"] for g in doc["grids"]]
    assert [1, 0, 1, 0, 0, 1, 0] == [g["cases"]["reported"] for g in doc["grids"]]
    assert ("2026-11-01", None) == (doc["coverage_since"], doc["html"])


def test_report_json_holds_the_standard_indicators_per_level(shared: str) -> None:
    """``--json`` has the standard indicators per grid, department and post, as the page does."""
    code, out, _ = run("report", "--db", shared, "--on", "2026-11-28", "--json", "--min-cases", "1")
    standard = json.loads(out)["standard"]
    grids = {row["key"]: row for row in standard["cells"]}
    names = [i["name"] for i in standard["indicators"]]
    assert (0, 1, 7) == (code, standard["min_cases"], len(grids))
    assert [g["cases"]["reported"] for g in json.loads(out)["grids"]] == [
        grids[g["code"]]["reported"] for g in json.loads(out)["grids"]
    ]
    assert ["closure_rate", "on_time_rate"] == names[:2]
    assert {"key", "name", "rank", "score", "indicators"} <= set(standard["workers"][0])


def test_report_refuses_a_minimum_of_no_cases(shared: str) -> None:
    """``--min-cases 0`` is a usage error naming min_cases."""
    code, _, err = run("report", "--db", shared, "--min-cases", "0")
    assert (2, True) == (code, "min_cases" in err)


def test_report_prints_a_row_per_grid_and_a_total(shared: str) -> None:
    """The text report's total row adds up the grids: 818 covered elders, 3 cases."""
    code, out, _ = run("report", "--db", shared)
    table = rows(out.split("\n\n")[0])[1:]  # the targets table follows
    assert 0 == code
    assert [
        "网格",
        "探访对象",
        "联系率",
        "达标率",
        "事件",
        "办结",
        "办结率",
        "按时办结",
        "督办",
    ] == (table[0])
    assert ["合计", "818", "89%", "85%", "3", "1", "33%", "100%", "0"] == table[-1]
    assert 7 + 2 == len(table)


def test_report_html_writes_the_page(shared: str, tmp_path: Path) -> None:
    """``--html DIR`` writes the HTML report there and says where on stderr."""
    code, out, err = run("report", "--db", shared, "--html", str(tmp_path / "html"), "--json")
    page = tmp_path / "html" / "index.html"
    assert (0, str(page)) == (code, json.loads(out)["html"])
    assert f"wrote the HTML report to {page}\n" == err
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_export_open311_is_masked_by_default(shared: str) -> None:
    """The requests of every case, without addresses, on stdout."""
    from gridgov.interop.open311 import dumps_requests

    code, out, err = run("export", "open311", "--db", shared)
    requests = json.loads(out)
    with opened(shared) as uow:
        cases = uow.cases.reported_in_subtree(
            "610102", since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
        catalogue = uow.settings.get().catalogue
    assert (0, "") == (code, err)
    assert json.loads(dumps_requests(cases, catalogue)) == requests
    assert all("address" not in r for r in requests)


def test_export_open311_services_lists_the_catalogue(shared: str) -> None:
    """``--services`` gives one service per category of the store's catalogue."""
    code, out, _ = run("export", "open311", "--services", "--lang", "en", "--db", shared)
    with opened(shared) as uow:
        catalogue = uow.settings.get().catalogue
    services = json.loads(out)
    assert (0, [c.code for c in catalogue.categories]) == (
        code,
        [s["service_code"] for s in services],
    )
    assert "Complaint" in [s["service_name"] for s in services]


def test_export_full_as_a_grid_worker_warns_and_is_audited(ledger: str, tmp_path: Path) -> None:
    """A full export writes the addresses, warns on stderr and is recorded in the audit trail."""
    from gridgov.access import AuditKind

    out_file = tmp_path / "requests.json"
    code, out, err = run(
        "export",
        "open311",
        "--db",
        ledger,
        "--full",
        "--as-worker",
        "secretary",
        "--out",
        str(out_file),
        "--json",
    )
    expected = {"format": "open311.requests", "out": str(out_file), "count": 3, "redaction": "full"}
    assert (0, expected) == (code, json.loads(out))
    assert "gridgov: warning: --full: this export holds personal data, unmasked" in err
    assert any("address" in r for r in json.loads(out_file.read_text(encoding="utf-8")))
    with opened(ledger) as uow:
        trail = uow.audit.between(
            since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
    assert [(AuditKind.EXPORTED, "query:open311.requests", "secretary")] == [
        (e.kind, e.subject, e.principal_id) for e in trail
    ]


def test_a_grid_workers_export_holds_their_grid_only(ledger: str, tmp_path: Path) -> None:
    """Acting as a grid worker (from GRIDGOV_PRINCIPAL), the export has their grid's cases."""
    out_file = tmp_path / "mine.json"
    env = {"GRIDGOV_PRINCIPAL": "grid-06"}
    with mock.patch.dict(os.environ, env):
        code, _, _ = run("export", "open311", "--db", ledger, "--full", "--out", str(out_file))
    exported = json.loads(out_file.read_text(encoding="utf-8"))
    with opened(ledger) as uow:
        grid = uow.workers.get("grid-06").assignments[0].cell_code
        mine = uow.cases.reported_in_subtree(
            grid, since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
    assert (0, True, len(mine)) == (code, 0 < len(mine) < 3, len(exported))


def test_a_supervisors_export_is_masked_at_the_read(ledger: str, tmp_path: Path) -> None:
    """A street supervisor's export holds no reporter's name or phone, and --full is refused."""
    from gridgov.grid import Assignment, Worker, WorkerRole

    with opened(ledger) as uow:
        uow.workers.add(
            Worker(
                "sup-1",
                "督导",
                {WorkerRole.STREET_SUPERVISOR},
                [Assignment("610102003006", pendulum.Date(2024, 1, 1))],
            )
        )
        uow.commit()
        cases = uow.cases.reported_in_subtree(
            "610102003006", since=pendulum.datetime(2000, 1, 1), until=pendulum.datetime(2100, 1, 1)
        ).items
    personal = {c.reporter.phone.value for c in cases if c.reporter.phone is not None}
    personal |= {c.reporter.name for c in cases if len(c.reporter.name) > 1}
    out_file = tmp_path / "requests.json"
    code, _, _ = run(
        "export", "open311", "--db", ledger, "--as-worker", "sup-1", "--out", str(out_file)
    )
    text = out_file.read_text(encoding="utf-8")
    refused, _, _ = run("export", "open311", "--db", ledger, "--as-worker", "sup-1", "--full")
    assert (0, True, len(cases), [], True) == (
        code,
        bool(personal),
        len(json.loads(text)),
        [p for p in personal if p in text],
        refused != 0,
    )


def test_export_ics_gives_the_venues_series(shared: str) -> None:
    """The venue calendar has one VEVENT per series; ``--space`` keeps that space's."""
    code, out, _ = run("export", "ics", "--db", shared)
    assert (0, "BEGIN:VCALENDAR\r\n", 5) == (code, out[:17], out.count("BEGIN:VEVENT"))
    code, out, _ = run("export", "ics", "--db", shared, "--venue", "hui", "--space", "painting")
    assert (0, ["自闭症儿童绘画课"]) == (code, re.findall(r"SUMMARY:(.*)\r", out))


def test_export_geojson_gives_every_cell(shared: str, tmp_path: Path) -> None:
    """Every cell is a Feature; the grids carry their boundary polygons."""
    target = tmp_path / "cells.geojson"
    code, out, err = run("export", "geojson", "--db", shared, "--out", str(target))
    doc = json.loads(target.read_text(encoding="utf-8"))
    grids = [f for f in doc["features"] if f["properties"]["level"] == "grid"]
    assert (0, "", f"wrote 39 cells to {target}\n") == (code, out, err)
    assert ("FeatureCollection", 39) == (doc["type"], len(doc["features"]))
    assert 7 * ["Polygon"] == [g["geometry"]["type"] for g in grids]


def test_simulate_json_matches_the_simulator() -> None:
    """``gridgov simulate --json`` prints the figures simulate() gives for the same arguments."""
    from gridgov.bootstrap import open_store
    from gridgov.scenarios import example_path, load_scenario
    from gridgov.scenarios.simulate import simulate

    code, out, err = run("simulate", "minggong", "--from", "2026-03-02", "--days", "2", "--json")
    scenario = load_scenario(example_path())
    store = open_store("memory://", scheme=scenario.scheme)
    figures = simulate(store, scenario, start=pendulum.Date(2026, 3, 2), days=2).figures()
    store.close()
    doc = json.loads(out)
    assert (0, "") == (code, err)
    assert figures == doc["figures"]
    assert ("memory://", 2043, 2) == (doc["store"], doc["seed"], doc["days"])


def test_simulate_prints_figures_and_a_bar_per_day(tmp_path: Path) -> None:
    """With --progress the bar advances once a day; the figures print as a table."""
    code, out, err = run(
        "simulate",
        "minggong",
        "--from",
        "2026-03-02",
        "--days",
        "1",
        "--progress",
        "--db",
        f"sqlite:///{tmp_path / 'sim.db'}",
    )
    assert 0 == code
    assert "\rdays [..............................] 0/1\rdays [#" in err
    assert err.endswith("1/1\n")
    assert ["days", "1"] == rows(out)[2]


@pytest.mark.parametrize(
    ("argv", "expected", "message"),
    [
        (
            ("worklist", "--db", "redis://cache", "--worker", "grid-01"),
            1,
            "unsupported store URL scheme 'redis'",
        ),
        (
            ("sweep", "--db", "{db}", "--at", "2026-11-28T09:00"),
            2,
            "--at: naive datetime: give its UTC offset, e.g. 2026-11-28T09:00+08:00",
        ),
        (("worklist", "--db", "{db}", "--worker", "grid-99"), 3, "worker 'grid-99' not found"),
        (("cases", "--db", "{db}", "--cell", "610102003006009"), 3, "cell '610102003006009'"),
        (("schedule", "--db", "{db}", "--venue", "park"), 3, "venue 'park' not found"),
        (("export", "ics", "--db", "{db}", "--space", "attic"), 3, "space 'hui/attic' not found"),
        (("worklist", "--db", "memory://", "--worker", "grid-01"), 3, "holds no data"),
        (("cases", "--db", "{db}", "--scenario", "{small}"), 4, "holds other data than 小区"),
        (
            ("simulate", "minggong", "--db", "{db}", "--from", "2026-03-02", "--days", "1"),
            4,
            "gridgov simulate needs an empty store",
        ),
        (("export", "open311", "--db", "{db}", "--full"), 5, "--full needs --as-worker"),
        (
            ("export", "open311", "--db", "{db}", "--full", "--as-worker", "nobody"),
            3,
            "worker 'nobody' not found",
        ),
        (
            ("simulate", "minggong", "--from", "2024-03-04", "--days", "1"),
            6,
            "2024 is outside the years this calendar covers (2025-2026)",
        ),
    ],
)
def test_exit_codes(
    argv: tuple[str, ...], expected: int, message: str, ledger: str, tmp_path: Path
) -> None:
    """Each kind of error prints one line and exits with its own code, nothing on stdout."""
    small = tmp_path / "small"
    small.mkdir()
    small_scenario(small)
    args = [a.format(db=ledger, small=small) for a in argv]
    code, out, err = run(*args)
    assert (expected, "") == (code, out)
    assert err.startswith("gridgov: error: ")
    assert message in err
    assert 1 == len(err.splitlines())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sweep",), "the following arguments are required: --at"),
        (("sweep", "--at", "tomorrow"), "expected an ISO 8601 date and time"),
        (("worklist", "--worker", "w", "--date", "2026-13-01"), "expected a date as YYYY-MM-DD"),
        (("load", "--quiet", "--progress"), "not allowed with argument"),
        (("cases", "--open", "--all"), "not allowed with argument"),
        (("simulate", "minggong", "--from", "2026-03-02", "--days", "0"), "at least 1"),
        (("export", "open311", "--full", "--as-role", "system"), "unrecognized arguments"),
        (("export", "csv"), "invalid choice: 'csv'"),
        (("export", "geojson", "--json"), "--json: with export, --json prints a summary"),
    ],
)
def test_invalid_input_exits_2(argv: tuple[str, ...], message: str) -> None:
    """Usage errors and invalid input exit with 2, before any store is opened."""
    code, out, err = run(*argv)
    assert (2, "") == (code, out)
    assert message in err


def test_worklist_into_a_closed_pipe_prints_no_traceback(ledger: str) -> None:
    """``gridgov worklist --json | head -1`` ends quietly, without a BrokenPipeError traceback."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        f"{sys.executable} -m gridgov worklist --worker secretary --json --db {ledger} | head -1",
        shell=True,
        capture_output=True,
        encoding="utf-8",
        env=env,
        check=False,
        timeout=120,
    )
    assert ("{\n", "") == (result.stdout, result.stderr)


def test_version() -> None:
    """``gridgov --version`` prints the installed version and exits 0."""
    from gridgov import __version__

    code, out, _ = run("--version")
    assert (0, f"gridgov {__version__}\n") == (code, out)
