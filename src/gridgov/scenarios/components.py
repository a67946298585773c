"""Components in scenario files: ``[[components]]`` tables and ``components_csv`` files.

A component (:class:`~gridgov.cases.components.Component`) is a table of ``scenario.toml``::

    [[components]]
    id = "6101020101000001"                # CJ/T 214: county 6, major 2, minor 2, sequence 6
    category = "supply_water_cover"        # a component category of the catalogue
    name = "太华南路明宫小区东门上水井盖"
    cell_code = "610102003006001"
    point = [108.9652, 34.2993]            # optional: longitude, latitude
    department = "water"                   # optional: the owning department

or a row of a CSV file (``components_csv = ["components.csv"]``) with the columns
:data:`COMPONENT_COLUMNS`, ``longitude`` and ``latitude`` taking the point. Each is checked
against the scenario's cells, catalogue and departments.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from gridgov._spreadsheet import cell_in
from gridgov.cases.catalogue import ServiceCatalogue
from gridgov.cases.components import Component, check_component
from gridgov.cases.departments import Department
from gridgov.errors import Problem, ValidationError
from gridgov.grid import GridTree
from gridgov.scenarios._csv import opened_csv
from gridgov.serialization import structure

__all__ = ["COMPONENT_COLUMNS", "check_components", "read_components_csv"]

COMPONENT_COLUMNS = ("id", "category", "name", "cell_code", "longitude", "latitude", "department")
"""The columns of a components CSV file; ``longitude``, ``latitude`` and ``department`` may be
left out or empty."""

_REQUIRED = ("id", "category", "name", "cell_code")
_MAX_PROBLEMS = 100


def read_components_csv(path: Path | str, *, source: str | None = None) -> Iterator[Component]:
    """Read the components of a CSV file, in file order.

    Raises:
        ValidationError: Naming ``line N.column`` for every bad row (up to 100), after reading
            the whole file; nothing is yielded from a bad file.
    """
    file = Path(path)
    name = source or file.name
    components: list[Component] = []
    problems: list[Problem] = []
    with opened_csv(file, name) as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or ()]
        unknown = [h for h in header if h not in COMPONENT_COLUMNS]
        missing = [h for h in _REQUIRED if h not in header]
        if unknown or missing:
            column = (unknown or missing)[0]
            problem = "unknown column" if unknown else "missing column"
            raise ValidationError(f"line 1.{column}", problem, source=name)
        for number, row in enumerate(reader, start=2):
            cells = {k.strip(): cell_in((val or "").strip()) for k, val in row.items() if k}
            if not any(cells.values()):
                continue
            data: dict[str, object] = {
                k: cells[k] for k in ("id", "category", "name", "cell_code") if k in cells
            }
            if cells.get("department"):
                data["department"] = cells["department"]
            if cells.get("longitude") or cells.get("latitude"):
                try:
                    data["point"] = [float(cells["longitude"]), float(cells["latitude"])]
                except (KeyError, ValueError):
                    problems.append((f"line {number}.longitude", "expected two numbers"))
                    continue
            try:
                components.append(structure(data, Component))
            except ValidationError as exc:
                problems.extend((f"line {number}.{p}", m) for p, m in exc.problems)
            if len(problems) >= _MAX_PROBLEMS:
                break
    if problems:
        raise ValidationError(problems[0][0], problems[0][1], source=name, problems=problems)
    return iter(components)


def check_components(
    components: Sequence[Component],
    tree: GridTree,
    catalogue: ServiceCatalogue,
    departments: Sequence[Department],
    source: str,
) -> None:
    """Check components: unique codes, cells of the tree, the catalogue's and departments'.

    Raises:
        ValidationError: Naming ``components[i]`` and the field.
    """
    seen: set[str] = set()
    for i, component in enumerate(components):
        where = f"components[{i}]"
        if component.id in seen:
            raise ValidationError(f"{where}.id", "duplicate component code", source=source)
        seen.add(component.id)
        if component.cell_code not in tree:
            raise ValidationError(f"{where}.cell_code", "no such cell", source=source)
        try:
            check_component(component, catalogue, departments)
        except ValidationError as exc:
            raise exc.within(where).from_source(source) from None
