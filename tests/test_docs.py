r"""The README and the docs tell the truth: their code runs, shows real output, links resolve.

Each page runs on its own, from the top, in a fresh temporary directory that is also its data
directory (``XDG_DATA_HOME``, with ``GRIDGOV_DB`` unset): a relative path such as ``out`` or
``sqlite:///minggong.db``, and the default store of ``gridgov demo``, are the page's own. Its
```python blocks and its shell blocks run in the order the page gives them, the Python blocks in
one namespace per page.

How to write a shell block so that it is checked:

- A ```console block is a terminal session. A line beginning with ``$ `` is a command; the lines
  after it, up to the next command, are its output as a terminal shows it (stdout and stderr in
  the order they were printed, a progress bar as its last state). A command shown without output
  lines is run, its output not compared.
- A ```sh block holds commands only, one a line (``\`` continues a line, ``#`` starts a
  comment); they run, their output is not compared.
- Only ``gridgov ...`` and ``python -m gridgov ...`` commands run (in process, through
  ``gridgov.cli.main``); other commands (``pip install``, a browser) are shown, not run.
- In the output, a line that is only ``...`` (indented or not) stands for any number of lines, and
  ``...`` inside a line for any text in it: use them for what varies (a path, a generated id) or
  what the page leaves out.
- A command must exit with 0, unless its output shows ``gridgov: error:`` or a ``usage:`` line;
  ``$ echo $?`` after a command shows its exit code, and is compared.
- ``> FILE`` after a command writes its stdout to FILE; ``|| ...`` after it is not run (the
  command must succeed).
- A command over a store at a server (``postgresql://``, ``mysql://``, ``mariadb://``) is not run
  here: ``test_server_commands_are_skipped`` lists each as skipped, with the reason. A command that
  fails for want of an extra that is not installed skips the rest of its page, naming the extra.
- Other fences (```text, ```toml, ```json) are not run.
"""

from __future__ import annotations

import difflib
import importlib.util
import io
import re
import shlex
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from gridgov.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
_SERVERS = {"postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL", "mariadb": "MariaDB/MySQL"}
_EXTRAS = {
    "cn": ("chinese_calendar", "holidays"),
    "postgres": ("psycopg",),
    "mysql": ("pymysql",),
    "xlsx": ("python_calamine", "openpyxl"),
}
_FAILED = re.compile(r"^(gridgov: error:|usage: )", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: its language, its text and the line its text starts on."""

    lang: str
    text: str
    line: int


@dataclass(frozen=True)
class Step:
    """A command of a shell block, and the output the page shows for it (None: not compared)."""

    command: str
    shown: tuple[str, ...] | None
    line: int


def blocks(text: str) -> list[Block]:
    """Return the fenced blocks of a page's text, in order."""
    return [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start(2)) + 1)
        for m in _FENCE.finditer(text)
    ]


def steps(block: Block) -> list[Step]:
    """Return the commands of a ```console or ```sh block with the output shown for each."""
    if block.lang == "console":
        found: list[Step] = []
        command: str | None = None
        shown: list[str] = []
        start = block.line
        for n, line in enumerate(block.text.splitlines(), block.line):
            if line.startswith("$ "):
                if command is not None:
                    found.append(Step(command, tuple(shown) if shown else None, start))
                command, shown, start = line[2:], [], n
            elif command is not None:
                shown.append(line)
            elif line.strip():
                raise ValueError(f"line {n}: a console block begins with a `$ ` command")
        if command is not None:
            found.append(Step(command, tuple(shown) if shown else None, start))
        return found
    joined = block.text.replace("\\\n", " ")
    return [
        Step(line.strip(), None, block.line + i)
        for i, line in enumerate(joined.splitlines())
        if line.strip() and not line.strip().startswith("#")
    ]


def gridgov_argv(command: str) -> tuple[list[str], str | None] | None:
    """Return a ``gridgov`` command's arguments and its ``> FILE``, or None for another command.

    Raises:
        ValueError: If the command uses shell syntax that the harness does not run.
    """
    words = shlex.split(command, comments=True)
    if words[:1] == ["gridgov"]:
        words = words[1:]
    elif words[:3] in (["python", "-m", "gridgov"], ["python3", "-m", "gridgov"]):
        words = words[3:]
    else:
        return None
    if "||" in words:
        words = words[: words.index("||")]
    out = None
    if ">" in words:
        at = words.index(">")
        out, words = words[at + 1], words[:at] + words[at + 2 :]
    unsupported = {"|", "&&", ";", "<", ">>", "2>", "&"} & set(words)
    if unsupported:
        raise ValueError(f"{command!r}: the docs harness does not run {sorted(unsupported)}")
    return words, out


def server_of(argv: list[str]) -> str | None:
    """Return the kind of server a command's ``--db`` URL needs, or None."""
    for i, word in enumerate(argv):
        url = argv[i + 1] if word == "--db" and i + 1 < len(argv) else word.partition("=")[2]
        if word.startswith("--db"):
            scheme = url.partition("://")[0].partition("+")[0]
            if scheme in _SERVERS:
                return _SERVERS[scheme]
    return None


def screen(text: str) -> list[str]:
    r"""Return the lines a terminal shows for ``text``: each line as its last ``\r`` left it."""
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(shown: tuple[str, ...] | list[str], actual: list[str]) -> bool:
    """Return whether the output ``actual`` is what the page ``shown``, ``...`` standing for any."""
    patterns = [line.rstrip() for line in shown]

    @cache
    def from_(i: int, j: int) -> bool:
        if i == len(patterns):
            return j == len(actual)
        if patterns[i].strip() == "...":
            return any(from_(i + 1, k) for k in range(j, len(actual) + 1))
        return j < len(actual) and _line_matches(patterns[i], actual[j]) and from_(i + 1, j + 1)

    return from_(0, 0)


def _line_matches(pattern: str, line: str) -> bool:
    if "..." not in pattern:
        return pattern == line
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


class _Stream(io.StringIO):
    """One of a command's streams: kept on its own and, in print order, on the shared screen."""

    def __init__(self, terminal: io.StringIO | None) -> None:
        super().__init__()
        self._terminal = terminal

    def write(self, s: str) -> int:
        if self._terminal is not None:
            self._terminal.write(s)
        return super().write(s)

    def isatty(self) -> bool:
        return self._terminal is not None


def run_gridgov(argv: list[str], out: str | None) -> tuple[int, str]:
    """Run ``gridgov`` in process as on a terminal; return its exit code and what the screen shows.

    With ``out``, stdout goes to that file instead of the screen.
    """
    terminal = io.StringIO()
    stdout = _Stream(None if out else terminal)
    with redirect_stdout(stdout), redirect_stderr(_Stream(terminal)):
        code = main(argv)
    if out:
        Path(out).write_text(stdout.getvalue(), encoding="utf-8")
    return code, terminal.getvalue()


def _missing_extra(output: str) -> str | None:
    """Return the extra that ``output`` asks for if it is not installed, else None."""
    for extra, modules in _EXTRAS.items():
        if f"`{extra}` extra" in output or f"gridgov[{extra}]" in output:
            absent = [m for m in modules if importlib.util.find_spec(m) is None]
            if absent:
                return f"the {extra} extra ({', '.join(absent)} not installed)"
    return None


def run_session(page: Path, found: list[Step]) -> None:
    """Run a shell block's commands in order and compare each with the output the page shows."""
    code: int | None = None
    for step in found:
        where = f"{page.name}:{step.line}: $ {step.command}"
        if step.command.strip() == "echo $?":
            assert step.shown is not None, f"{where}: show the exit code"
            assert [str(code)] == list(step.shown), f"{where}: the exit code"
            continue
        parsed = gridgov_argv(step.command)
        if parsed is None or server_of(parsed[0]):
            code = None  # not run here: another program, or a server
            continue
        argv, out = parsed
        code, output = run_gridgov(argv, out)
        actual = screen(output)
        extra = _missing_extra(output) if code else None
        if extra:
            pytest.skip(f"{where} and the rest of the page need {extra}")
        failing = step.shown is not None and _FAILED.search("\n".join(step.shown)) is not None
        assert (code != 0) == failing, f"{where}: exit code {code}\n{output}"
        if step.shown is not None and not matches(step.shown, actual):
            diff = "\n".join(
                difflib.unified_diff(list(step.shown), actual, "page", "run", lineterm="")
            )
            pytest.fail(f"{where}: the output differs from the page\n{diff}", pytrace=False)


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in pages]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's Python and shell blocks run in order in a fresh directory, with the output shown."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("GRIDGOV_DB", raising=False)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for block in blocks(page.read_text(encoding="utf-8")):
        if block.lang == "python":
            exec(compile(block.text, f"{page.name}:{block.line}", "exec"), namespace)
        elif block.lang in ("console", "sh") and page.name != "CHANGELOG.md":
            run_session(page, steps(block))


def _server_commands() -> list[tuple[str, list[str], str]]:
    found = []
    for page in PAGES:
        for block in blocks(page.read_text(encoding="utf-8")):
            if block.lang not in ("console", "sh"):
                continue
            for step in steps(block):
                parsed = gridgov_argv(step.command)
                server = parsed and server_of(parsed[0])
                if parsed and server:
                    found.append((f"{page.relative_to(ROOT)}:{step.line}", parsed[0], server))
    return found


_SERVER_FIXTURES = {"PostgreSQL": "postgres_schema", "MariaDB/MySQL": "mysql_database"}


@pytest.mark.parametrize(
    ("where", "argv", "server"), _server_commands(), ids=[w for w, _, _ in _server_commands()]
)
def test_server_commands_run(
    where: str,
    argv: list[str],
    server: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A docs command over a store at a server runs on a test schema or database of its own."""
    url = request.getfixturevalue(_SERVER_FIXTURES[server])
    monkeypatch.chdir(tmp_path)
    schemes = ("postgresql://", "postgres://", "mysql://", "mariadb://")
    own = [url if a.startswith(schemes) else a for a in argv]
    code, output = run_gridgov(own, None)
    assert 0 == code, f"{where}: exit code {code}\n{output}"


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link of a page points at a file that exists."""
    links = [
        target
        for target in _LINK.findall(page.read_text(encoding="utf-8"))
        if "://" not in target and not target.startswith("mailto:")
    ]
    missing = [t for t in links if not (page.parent / t).exists()]
    assert [] == missing


# What a page's code needs from an extra, found in its blocks: Python that calls or imports it, a
# command at a server. A need that only running shows (a count past the announced years needs
# `cn`) is listed in RUN_NEEDS, as running the pages without the extras found it.
_NEEDS = {
    "cn": re.compile(r"WorkCalendar\.china\("),
    "testing": re.compile(
        r"^\s*(?:from|import) (?:hypothesis|gridgov\.testing\.(?:contracts|strategies))\b", re.M
    ),
    "xlsx": re.compile(r"^\s*(?:from|import) (?:gridgov\.ledger|openpyxl)\b", re.M),
}
_SERVER_EXTRAS = {"PostgreSQL": "postgres", "MariaDB/MySQL": "mysql"}
RUN_NEEDS = {"cli.md": {"cn"}}


def extras_needed(page: Path) -> set[str]:
    """Return the extras that the code of ``page`` needs."""
    found = set(RUN_NEEDS.get(page.name, ()))
    for block in blocks(page.read_text(encoding="utf-8")):
        if block.lang == "python":
            found |= {extra for extra, use in _NEEDS.items() if use.search(block.text)}
        elif block.lang in ("console", "sh"):
            for step in steps(block):
                parsed = gridgov_argv(step.command)
                server = parsed and server_of(parsed[0])
                if server:
                    found.add(_SERVER_EXTRAS[server])
    return found


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_a_page_that_needs_an_extra_says_so_first(page: Path) -> None:
    """Each extra a page's code needs is named (``gridgov[extra]``) before its first section."""
    text = page.read_text(encoding="utf-8")
    first_lines = re.split(r"^(?:## |```)", text, maxsplit=1, flags=re.M)[0]
    named = set(re.findall(r"gridgov\[(\w+)\]", first_lines))
    assert set() == extras_needed(page) - named


def test_readme_has_exactly_two_setup_commands() -> None:
    """The README's set-up section holds two commands: the main job and the tests."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", section, re.M | re.S)
    lines = [line for block in commands for line in block.splitlines() if line.strip()]
    assert 2 == len(lines)
    assert "gridgov demo" in lines[0]
    assert "pytest" in lines[1]


def test_elided_output_matches_and_other_output_does_not() -> None:
    """A ``...`` line stands for any lines, ``...`` in a line for any text; nothing else differs."""
    actual = ["loaded into sqlite:////tmp/x/demo.db: 39 cells", "a", "b", "end"]
    assert matches(["loaded into sqlite:///.../demo.db: 39 cells", "...", "end"], actual)
    assert matches(["...", "  ...", "end"], actual)
    assert not matches(["loaded into sqlite:///.../demo.db: 40 cells", "..."], actual)
    assert not matches(["loaded into sqlite:///.../demo.db: 39 cells", "a", "end"], actual)


def test_a_console_block_is_commands_with_their_output() -> None:
    """``$`` lines are commands, the lines up to the next one their output; ``sh`` has no output."""
    console = Block("console", "$ gridgov calendar\nyears\n$ echo $?\n0\n$ gridgov --help\n", 7)
    assert [
        Step("gridgov calendar", ("years",), 7),
        Step("echo $?", ("0",), 9),
        Step("gridgov --help", None, 11),
    ] == steps(console)
    sh = Block("sh", "# a comment\ngridgov sweep \\\n  --at X  # Thursday\n", 3)
    assert ["gridgov sweep    --at X  # Thursday"] == [s.command for s in steps(sh)]
    with pytest.raises(ValueError, match="begins with a `\\$ ` command"):
        steps(Block("console", "gridgov demo\n", 1))


def test_only_gridgov_commands_run_with_their_redirection() -> None:
    """``gridgov`` and ``python -m gridgov`` run, ``> FILE`` is kept, other programs are not run."""
    assert (["export", "ics"], "hui.ics") == gridgov_argv("gridgov export ics > hui.ics  # iCal")
    assert (["worklist"], None) == gridgov_argv('python -m gridgov worklist || echo "failed"')
    assert gridgov_argv('pip install "gridgov[cn]"') is None
    assert "PostgreSQL" == server_of(["demo", "--db", "postgresql://h/test?schema=m"])
    assert server_of(["demo", "--db=memory://"]) is None
    with pytest.raises(ValueError, match="does not run"):
        gridgov_argv("gridgov worklist --worker grid-02 | head")


def test_the_screen_shows_what_a_progress_bar_left() -> None:
    """A line redrawn with carriage returns shows its last state; trailing blank lines go."""
    assert ["days [###] 3/3", "done"] == screen("days [...] 0/3\rdays [###] 3/3\ndone\n\n")


def test_a_session_fails_on_output_or_exit_code_the_command_does_not_give(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The harness fails a page whose shown output or exit code is not what the command gives."""
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    wrong_output = [Step("gridgov calendar --year 2027", ("2027 announced", "..."), 1)]
    with pytest.raises(pytest.fail.Exception, match="the output differs from the page"):
        run_session(page, wrong_output)
    wrong_code = [Step("gridgov worklist --date 2101-01-01", ("...",), 1)]
    with pytest.raises(AssertionError, match="exit code 2"):
        run_session(page, wrong_code)
    right = [
        Step("gridgov calendar --year 2027", ("2027 暂定 provisional: ...", "..."), 1),
        Step("gridgov sweep --at 2026-11-28T09:00", ("gridgov: error: --at: ...",), 3),
        Step("echo $?", ("2",), 5),
    ]
    run_session(page, right)
