"""List the project's direct dependencies as installed in this interpreter's environment.

Run by .ci/run with a job's venv: ``python .ci/deps.py`` prints each direct dependency of
``gridgov[dev]`` (the runtime ones and every extra's) with the version installed and the floor
pyproject.toml declares. With ``--floors`` it fails unless each dependency that has a floor is
installed at exactly that floor: the job that tests the floors then tests the declared ones,
and a floor that cannot be installed any more (no wheel for the Python, a conflict) shows.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version


def direct(project: dict[str, object], extras: list[str]) -> list[Requirement]:
    """Return the requirements of the project with ``extras``, self-references expanded."""
    name = canonicalize_name(str(project["name"]))
    optional = project.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    found: dict[str, Requirement] = {}
    pending = [(str(text), "") for text in project.get("dependencies", [])]
    pending += [(str(text), extra) for extra in extras for text in optional[extra]]
    seen = set(extras)
    while pending:
        text, extra = pending.pop(0)
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        if canonicalize_name(req.name) == name:
            for more in sorted(req.extras - seen):
                seen.add(more)
                pending += [(str(t), more) for t in optional[more]]
            continue
        found.setdefault(canonicalize_name(req.name), req)
    return sorted(found.values(), key=lambda r: canonicalize_name(r.name))


def main(argv: list[str]) -> int:
    """Print the table; with ``--floors``, return 1 if a dependency is not at its floor."""
    floors_only = "--floors" in argv
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wrong = []
    print(f"Python {sys.version.split()[0]}")
    for req in direct(project, ["dev"]):
        floors = [s.version for s in req.specifier if s.operator == ">="]
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            installed = "missing"
        floor = floors[0] if floors else None
        note = ""
        if installed == "missing":
            wrong.append(req.name)
            note = "  <- not installed"
        elif floors_only and floor is not None and Version(installed) != Version(floor):
            wrong.append(req.name)
            note = "  <- not the floor"
        print(f"  {req.name:24} {installed:16} (pyproject: {req.specifier or 'any'}){note}")
    if wrong:
        what = "at their declared floor" if floors_only else "installed"
        print(f"not {what}: {', '.join(wrong)}", file=sys.stderr)
        if floors_only:
            print(
                "raise the floor in pyproject.toml to the lowest version that installs here",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
