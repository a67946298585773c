"""Functional departments (职能部门): who handles a case beside the area that owns it.

A city's problems are handled by departments (sanitation, urban management, water ...) as well
as by the streets and communities of the area hierarchy. A first-level department (a bureau)
has second-level ones (its teams for parts of the city); each serves some cells (and their
subtrees) and has supervisors. A minor category of the catalogue names the department
responsible for it, and :func:`route` picks the one of its units that serves the case's
location. A case dispatched to a department that is not responsible comes back with a return
(退回), which counts against that department's accurate dispatch
(:mod:`gridgov.services.kpis`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from gridgov import _validation as v
from gridgov.cases.catalogue import ServiceCatalogue
from gridgov.errors import NotFoundError, ValidationError

__all__ = ["Department", "Routing", "check_departments", "department", "route"]


def _level(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in (1, 2) or isinstance(value, bool):
        raise ValidationError(attribute.name, "expected 1 (a bureau) or 2 (one of its units)")


def _codes(value: Iterable[str]) -> tuple[str, ...]:
    return v.to_tuple(value)


def _parent(inst: Department, attribute: attrs.Attribute[Any], value: object) -> None:
    if (inst.level == 2) != (value is not None):
        raise ValidationError(attribute.name, "a second-level department has a parent, only it")


@attrs.frozen
class Department:
    """A functional department.

    Args:
        id: Its key, e.g. ``"sanitation"``.
        name_zh: Its Chinese name.
        name_en: Its English name.
        level: 1 for a first-level department (a bureau), 2 for one of its units.
        parent: For a second-level department, the id of its first-level one.
        cells: The cells it serves, each with its subtree; empty for all of its parent's
            (or, at the first level, everywhere).
        supervisors: The ids of the workers who supervise its cases.
    """

    id: str = attrs.field(validator=v.identifier)
    name_zh: str = attrs.field(validator=v.text(100))
    name_en: str = attrs.field(validator=v.text(100))
    level: int = attrs.field(default=1, validator=_level)
    parent: str | None = attrs.field(default=None, validator=[v.optional(v.identifier), _parent])
    cells: tuple[str, ...] = attrs.field(
        default=(), converter=_codes, validator=v.collection_of(str)
    )
    supervisors: tuple[str, ...] = attrs.field(
        default=(), converter=_codes, validator=v.collection_of(str)
    )

    def serves(self, cell_path: Sequence[str]) -> int | None:
        """Return how near its cell is to a location, or ``None`` if it does not serve it.

        Args:
            cell_path: The location's cell code followed by its ancestors' codes.

        Returns:
            The index in ``cell_path`` of the nearest cell it serves (0 is the location's own
            cell); ``len(cell_path)`` when it serves everywhere.
        """
        if not self.cells:
            return len(cell_path)
        return next((i for i, code in enumerate(cell_path) if code in self.cells), None)


def check_departments(departments: Sequence[Department]) -> None:
    """Check a deployment's departments: unique ids, parents that are first-level departments.

    Raises:
        ValidationError: Naming ``departments[i]`` and the bad field.
    """
    ids = {d.id: d for d in departments if isinstance(d, Department)}
    seen: set[str] = set()
    for i, department in enumerate(departments):
        if not isinstance(department, Department):
            raise ValidationError(f"departments[{i}]", "expected a Department")
        if department.id in seen:
            raise ValidationError(f"departments[{i}].id", "duplicate department id")
        seen.add(department.id)
        if department.parent is not None:
            parent = ids.get(department.parent)
            if parent is None or parent.level != 1:
                raise ValidationError(f"departments[{i}].parent", "no such first-level department")


@attrs.frozen
class Routing:
    """Where a case goes, and why.

    Args:
        department: The department it is routed to.
        rule: What decided it, e.g. ``"catalogue:exposed_rubbish:department"``.
        reason_en: Why, in English.
        reason_zh: Why, in Chinese.
    """

    department: Department
    rule: str
    reason_en: str
    reason_zh: str


def route(
    catalogue: ServiceCatalogue,
    departments: Sequence[Department],
    category: str,
    cell_path: Sequence[str],
) -> Routing | None:
    """Return the department responsible for a case of ``category`` at a location.

    The category (for a 12345 hotline category, the standard one it maps to) names a
    department. Of that department's second-level units, the one serving the cell nearest the
    location takes the case; if none serves it, the named department does when it serves the
    location itself.

    Args:
        catalogue: The service catalogue.
        departments: The deployment's departments.
        category: The case's category code.
        cell_path: The case's cell code followed by its ancestors' codes.

    Returns:
        The routing, or ``None`` when the category names no department or none of the
        deployment's serves the location: the area hierarchy keeps the case (属地管理).

    Raises:
        NotFoundError: If the catalogue has no such category.
    """
    standard = catalogue.standard(category)
    named = next((d for d in departments if d.id == standard.department), None)
    if named is None:
        return None
    candidates = [d for d in departments if d.parent == named.id] + [named]
    served = [(d.serves(cell_path), i, d) for i, d in enumerate(candidates)]
    # The nearest cell wins; at the same distance a unit goes before its bureau.
    ranked = sorted((n, i, d) for n, i, d in served if n is not None)
    if not ranked:
        return None
    chosen = ranked[0][2]
    where = "everywhere" if not chosen.cells else f"cell {cell_path[ranked[0][0]]}"
    return Routing(
        chosen,
        f"catalogue:{standard.code}:department",
        f"{standard.label_en} is handled by {chosen.name_en}, which serves {where}",
        f"{standard.label_zh}由{chosen.name_zh}负责处置",
    )


def department(departments: Sequence[Department], department_id: str) -> Department:
    """Return the department ``department_id``.

    Raises:
        NotFoundError: If there is none.
    """
    for d in departments:
        if d.id == department_id:
            return d
    raise NotFoundError("department", str(department_id))
