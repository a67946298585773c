"""The API reference (docs/api/, built by ``mkdocs build --strict`` in CI) covers the package."""

from __future__ import annotations

import re
from pathlib import Path

import gridgov

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api"
_DIRECTIVE = re.compile(r"^::: ([\w.]+)$", re.MULTILINE)


def public_modules() -> list[str]:
    """Return the dotted names of gridgov's public modules, none of whose parts begins with _."""
    src = Path(gridgov.__file__).resolve().parent.parent
    found = []
    for path in sorted((src / "gridgov").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(part.startswith("_") for part in parts):
            found.append(".".join(parts))
    return found


def test_every_public_module_has_its_place_in_the_reference() -> None:
    """Each public module is rendered once, on the page of its part; the command has cli.md."""
    rendered = {
        name: page.stem
        for page in sorted(API.glob("*.md"))
        for name in _DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }
    expected = {
        name: name.split(".")[1]
        for name in public_modules()
        if name != "gridgov" and not name.startswith("gridgov.cli")
    }
    assert expected == rendered


def test_the_reference_index_lists_every_page() -> None:
    """docs/api/index.md links to each page of the reference, in order."""
    index = (API / "index.md").read_text(encoding="utf-8")
    expected = sorted(p.name for p in API.glob("*.md") if p.name != "index.md")
    assert expected == re.findall(r"\]\(([\w.]+\.md)\)", index.split("\n- ", 1)[1])
