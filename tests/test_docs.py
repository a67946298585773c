"""The README and the docs tell the truth: their Python blocks run and their links resolve."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md")])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _ids(pages: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in pages]


@pytest.mark.parametrize("page", PAGES, ids=_ids(PAGES))
def test_python_blocks_run(page: Path) -> None:
    """Every ```python block of a page runs, in order, in one namespace per page."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for i, block in enumerate(_BLOCK.findall(page.read_text(encoding="utf-8"))):
        code = compile(block, f"{page.name}[block {i}]", "exec")
        exec(code, namespace)


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


def test_readme_has_exactly_two_setup_commands() -> None:
    """The README's set-up section holds two commands: the main job and the tests."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^```(?:sh|bash|console)\n(.*?)^```", section, re.M | re.S)
    lines = [line for block in commands for line in block.splitlines() if line.strip()]
    assert 2 == len(lines)
    assert "gridgov demo" in lines[0]
    assert "pytest" in lines[1]
