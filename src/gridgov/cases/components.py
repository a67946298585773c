"""Components (部件): the coded things of the public realm a case may be about.

Digital urban management registers every manhole cover, street lamp, litter bin and bench as a
component with an identification code (部件标识码) in the structure of CJ/T 214: the 6-digit
code of the county-level division it lies in (GB/T 2260), the component's 2-digit major and
2-digit minor category, and a 6-digit sequence number, 16 digits in all; for example
``3205080101000001`` is supply-water manhole cover (上水井盖, component 01 01) number 1 of
Gusu district (320508). The major and minor codes are those of a component category of the
classification tree (:class:`~gridgov.cases.classification.ClassificationTree.COMPONENT`).

A component lies in a cell (optionally at a point) and is owned (maintained) by a functional
department (:mod:`gridgov.cases.departments`). A case may name the component it is about
(:attr:`gridgov.cases.model.Case.component_id`); two open reports of the same component are
possible duplicates (:mod:`gridgov.cases.duplicates`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from gridgov import _validation as v
from gridgov.cases.catalogue import ServiceCatalogue
from gridgov.cases.classification import ClassificationTree
from gridgov.cases.departments import Department
from gridgov.cases.model import _point, _to_point
from gridgov.errors import ValidationError

__all__ = ["COMPONENT_CODE", "Component", "check_component"]

COMPONENT_CODE = re.compile(r"(\d{6})(\d\d)(\d\d)(\d{6})")
"""A component identification code: county (6), major (2), minor (2), sequence (6)."""


def _code(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    match = COMPONENT_CODE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValidationError(
            attribute.name,
            "expected a 16-digit component code: county (6), major (2), minor (2), sequence (6)",
        )
    county, major, minor, sequence = match.groups()
    if "00" in (major, minor) or county.endswith("00") or sequence == "000000":
        raise ValidationError(
            attribute.name, "a county code, major, minor and sequence number are never zero"
        )


@attrs.frozen(repr=False)
class Component:
    """A registered component (部件).

    Args:
        id: Its identification code (部件标识码), 16 digits in CJ/T 214's structure.
        category: The code of its component category in the service catalogue (a minor
            category of the component tree, whose major and minor codes ``id`` repeats).
        name: What it is called on the ground (``"明宫路12号门前上水井盖"``).
        cell_code: The cell it lies in.
        point: ``(longitude, latitude)`` in WGS 84 degrees, if surveyed.
        department: The id of the functional department that owns and maintains it, if any.
        version: The stored version, managed by repositories.
    """

    id: str = attrs.field(validator=_code)
    category: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(200))
    cell_code: str = attrs.field(validator=v.text(64))
    point: tuple[float, float] | None = attrs.field(
        default=None, converter=_to_point, validator=_point
    )
    department: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    @property
    def county(self) -> str:
        """Return the 6-digit code of the county-level division it lies in."""
        return self.id[:6]

    @property
    def major(self) -> str:
        """Return its major category's two-digit code."""
        return self.id[6:8]

    @property
    def minor(self) -> str:
        """Return its minor category's two-digit code."""
        return self.id[8:10]

    def __repr__(self) -> str:
        return f"Component(id={self.id!r}, category={self.category!r}, cell={self.cell_code!r})"


def check_component(
    component: Component, catalogue: ServiceCatalogue, departments: Sequence[Department]
) -> None:
    """Check a component against a deployment's catalogue and departments.

    Raises:
        ValidationError: If its category is not a component category of the catalogue, its
            code's major and minor are not that category's, or its department is unknown.
    """
    if component.category not in catalogue:
        raise ValidationError("category", "not in the service catalogue")
    category = catalogue.get(component.category)
    if category.tree is not ClassificationTree.COMPONENT:
        raise ValidationError("category", "not a component category (tree = component)")
    if (component.major, component.minor) != (category.major, category.minor):
        raise ValidationError(
            "id", f"the code's major and minor are not its category's ({category.standard_code})"
        )
    if component.department is not None and all(d.id != component.department for d in departments):
        raise ValidationError("department", "no such department in the settings")
