"""The area hierarchy: grid cells, the tree they form, and the workers assigned to them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._levels import GridLevel
from gridgov._vocab import Term
from gridgov.codes import DEFAULT_SCHEME, CodeScheme, PhoneNumber, as_optional_phone, mask_name
from gridgov.errors import NotFoundError, ValidationError

__all__ = [
    "ALL_DUTIES",
    "MAX_MANAGEMENT_GRADE",
    "Assignment",
    "Boundary",
    "Duty",
    "GridCell",
    "GridLevel",
    "GridTree",
    "LandUse",
    "Worker",
    "WorkerRole",
]

Position = tuple[float, float]
Ring = tuple[Position, ...]
Polygon = tuple[Ring, ...]


class Duty(Term):
    """A functional network merged into a comprehensive grid (多网合一), e.g. elder care."""

    SAFETY: ClassVar[Duty]
    SANITATION: ClassVar[Duty]
    ELDER_CARE: ClassVar[Duty]
    PUBLIC_SERVICE: ClassVar[Duty]
    DISPUTE_MEDIATION: ClassVar[Duty]
    FIRE_SAFETY: ClassVar[Duty]
    EPIDEMIC_PREVENTION: ClassVar[Duty]
    PARTY_BUILDING: ClassVar[Duty]


Duty.SAFETY = Duty.builtin("safety", "public safety", "平安")
Duty.SANITATION = Duty.builtin("sanitation", "sanitation and environment", "环境卫生")
Duty.ELDER_CARE = Duty.builtin("elder_care", "elder care", "养老关爱")
Duty.PUBLIC_SERVICE = Duty.builtin("public_service", "public services", "便民服务")
Duty.DISPUTE_MEDIATION = Duty.builtin("dispute_mediation", "dispute mediation", "矛盾调解")
Duty.FIRE_SAFETY = Duty.builtin("fire_safety", "fire safety", "消防安全")
Duty.EPIDEMIC_PREVENTION = Duty.builtin("epidemic_prevention", "epidemic prevention", "疫情防控")
Duty.PARTY_BUILDING = Duty.builtin("party_building", "party building", "党建")


class LandUse(Term):
    """What a cell's land is used for (用地性质), an attribute of a unit grid.

    Beijing's unit-grid standard (DB11/T 2157-2023, §6.3.2) codes a grid's land-use category by
    its own table C.1; the built-ins here are the first-level classes of the national land-use
    classification GB/T 21010-2017 that table builds on. A deployment adds its own codes (any
    snake_case code is accepted).
    """

    CROPLAND: ClassVar[LandUse]
    GARDEN: ClassVar[LandUse]
    FOREST: ClassVar[LandUse]
    GRASSLAND: ClassVar[LandUse]
    COMMERCIAL: ClassVar[LandUse]
    INDUSTRIAL: ClassVar[LandUse]
    RESIDENTIAL: ClassVar[LandUse]
    PUBLIC_SERVICE: ClassVar[LandUse]
    SPECIAL: ClassVar[LandUse]
    TRANSPORT: ClassVar[LandUse]
    WATER: ClassVar[LandUse]
    OTHER: ClassVar[LandUse]


# GB/T 21010-2017 first-level classes 01 to 12, in the standard's order.
LandUse.CROPLAND = LandUse.builtin("cropland", "cropland", "耕地")
LandUse.GARDEN = LandUse.builtin("garden", "garden land", "园地")
LandUse.FOREST = LandUse.builtin("forest", "forest land", "林地")
LandUse.GRASSLAND = LandUse.builtin("grassland", "grassland", "草地")
LandUse.COMMERCIAL = LandUse.builtin("commercial", "commercial and service", "商服用地")
LandUse.INDUSTRIAL = LandUse.builtin("industrial", "industrial and storage", "工矿仓储用地")
LandUse.RESIDENTIAL = LandUse.builtin("residential", "residential", "住宅用地")
LandUse.PUBLIC_SERVICE = LandUse.builtin(
    "public_service", "public administration and services", "公共管理与公共服务用地"
)
LandUse.SPECIAL = LandUse.builtin("special", "special use", "特殊用地")
LandUse.TRANSPORT = LandUse.builtin("transport", "transport", "交通运输用地")
LandUse.WATER = LandUse.builtin("water", "water and water works", "水域及水利设施用地")
LandUse.OTHER = LandUse.builtin("other", "other land", "其他土地")

MAX_MANAGEMENT_GRADE = 9
"""The highest management grade a cell may carry (grades run from 1)."""


def _grade(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(attribute.name, f"expected an integer, got {type(value).__name__}")
    if not 1 <= value <= MAX_MANAGEMENT_GRADE:
        raise ValidationError(attribute.name, f"a grade runs from 1 to {MAX_MANAGEMENT_GRADE}")


def _duties(value: Iterable[Duty]) -> frozenset[Duty]:
    return v.to_frozenset(value)


ALL_DUTIES = frozenset(Duty.builtins())
"""The duties of a comprehensive grid (全科网格) that takes on every network."""


def _check_position(path: str, pos: object) -> Position:
    if not isinstance(pos, tuple | list) or len(pos) != 2:
        raise ValidationError(path, "a position is [longitude, latitude]")
    lon, lat = pos
    for name, x, bound in (("longitude", lon, 180.0), ("latitude", lat, 90.0)):
        if not isinstance(x, int | float) or isinstance(x, bool) or not math.isfinite(x):
            raise ValidationError(path, f"{name} is not a finite number")
        if abs(x) > bound:
            raise ValidationError(path, f"{name} out of range ±{bound:g}")
    return (float(lon), float(lat))


def _to_polygons(value: object) -> tuple[Polygon, ...]:
    if not isinstance(value, tuple | list):
        return value  # type: ignore[return-value]  # the validator reports it
    try:
        return tuple(tuple(tuple(tuple(p) for p in ring) for ring in poly) for poly in value)
    except TypeError:
        raise ValidationError(
            "polygons", "expected polygons of rings of [longitude, latitude] positions"
        ) from None


@attrs.frozen
class Boundary:
    """The outline of a cell: one or more polygons of WGS 84 ``(longitude, latitude)`` rings.

    Each ring is closed (first position equals last) and has at least four positions; the first
    ring of a polygon is its exterior, the others are holes, as in GeoJSON (RFC 7946).

    Args:
        polygons: The polygons.

    Raises:
        ValidationError: If a ring is open, too short or has a position out of range.
    """

    polygons: tuple[Polygon, ...] = attrs.field(converter=_to_polygons)

    @polygons.validator
    def _check(self, _attr: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple) or not value:
            raise ValidationError("polygons", "a boundary has at least one polygon")
        for i, poly in enumerate(value):
            if not poly:
                raise ValidationError(f"polygons[{i}]", "a polygon has at least one ring")
            for j, ring in enumerate(poly):
                path = f"polygons[{i}][{j}]"
                if len(ring) < 4:
                    raise ValidationError(path, "a ring has at least four positions")
                for k, pos in enumerate(ring):
                    _check_position(f"{path}[{k}]", pos)
                if ring[0] != ring[-1]:
                    raise ValidationError(path, "a ring must be closed (first == last)")

    @classmethod
    def from_geojson(cls, geometry: Mapping[str, object]) -> Boundary:
        """Build a boundary from a GeoJSON ``Polygon`` or ``MultiPolygon`` geometry.

        Raises:
            ValidationError: If the geometry is of another type or malformed.
        """
        if not isinstance(geometry, Mapping):
            raise ValidationError("", "a GeoJSON geometry is an object")
        kind = geometry.get("type")
        coords = geometry.get("coordinates")
        if not isinstance(coords, list | tuple):
            raise ValidationError("coordinates", "a GeoJSON geometry needs a coordinates array")
        if kind == "Polygon":
            return cls(_to_polygons([coords]))
        if kind == "MultiPolygon":
            return cls(_to_polygons(coords))
        raise ValidationError("type", "a boundary is a GeoJSON Polygon or MultiPolygon")

    def to_geojson(self) -> dict[str, object]:
        """Return the boundary as a GeoJSON geometry (``Polygon`` when there is one)."""
        as_lists = [[[list(p) for p in ring] for ring in poly] for poly in self.polygons]
        if len(as_lists) == 1:
            return {"type": "Polygon", "coordinates": as_lists[0]}
        return {"type": "MultiPolygon", "coordinates": as_lists}


def _level(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, GridLevel):
        raise ValidationError(attribute.name, "expected a GridLevel")


@attrs.frozen
class GridCell:
    """One node of the area hierarchy: a district, street, community, grid or building.

    Args:
        code: The cell's code under the deployment's :class:`~gridgov.codes.CodeScheme`.
        name: Its name, e.g. ``"明宫社区"``.
        level: Its level.
        parent_code: The code of the enclosing cell, ``None`` for a root.
        boundary: Its outline, if mapped.
        duties: The functional networks this cell's worker covers (多网合一).
        management_grade: Its management grade (管理等级), 1 (most demanding) to
            :data:`MAX_MANAGEMENT_GRADE`, as a deployment grades its unit grids; ``None`` if
            ungraded.
        land_use: What its land is used for (用地性质), if recorded.
        responsible_body: Who answers for it (责任主体): a unit's name or id; empty when the
            area falls to the community by default (属地兜底).
        valid_from: The first day it exists; ``None``: since before records began.
        valid_to: The last day it exists, inclusive; ``None`` while it lasts. A retired cell
            stays stored, so its past cases and contacts keep their cell.
        version: The stored version, managed by repositories (0: never stored).

    Raises:
        ValidationError: If it is its own parent, or ``valid_to`` is before ``valid_from``.
    """

    code: str = attrs.field(validator=v.text(64))
    name: str = attrs.field(validator=v.text(100))
    level: GridLevel = attrs.field(validator=_level)
    parent_code: str | None = attrs.field(default=None, validator=v.optional(v.text(64)))
    boundary: Boundary | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(Boundary))
    )
    duties: frozenset[Duty] = attrs.field(
        default=frozenset(), converter=_duties, validator=v.collection_of(Duty)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)
    management_grade: int | None = attrs.field(default=None, validator=_grade)
    land_use: LandUse | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(LandUse))
    )
    responsible_body: str = attrs.field(default="", validator=v.text(100, allow_empty=True))
    valid_from: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.date))
    valid_to: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.date))

    def __attrs_post_init__(self) -> None:
        if self.parent_code == self.code:
            raise ValidationError("parent_code", "a cell cannot be its own parent")
        if (
            self.valid_from is not None
            and self.valid_to is not None
            and self.valid_to < self.valid_from
        ):
            raise ValidationError("valid_to", "the cell ends before it begins")

    def active_on(self, day: pendulum.Date) -> bool:
        """Return whether the cell exists on ``day`` (from ``valid_from`` to ``valid_to``)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    def check_code(self, scheme: CodeScheme = DEFAULT_SCHEME) -> None:
        """Check the cell's codes against ``scheme``.

        Only the scheme's top level may be a root: a cell further down must name its parent,
        or a subtree (all codes under a prefix) could hold cells the tree does not link.

        Raises:
            ValidationError: If the code does not fit the level, does not extend the parent's, or
                a cell below the top level has no parent.
        """
        if self.level not in scheme.levels:
            raise ValidationError("level", f"the code scheme {scheme.name!r} has no such level")
        try:
            scheme.check(self.code, self.level)
        except ValidationError as exc:
            raise exc.within("code") from None
        if self.parent_code is None and self.level is not scheme.levels[0]:
            raise ValidationError(
                "parent_code",
                f"a {self.level.value} needs its parent: only a {scheme.levels[0].value} "
                f"is a root under scheme {scheme.name!r}",
            )
        if self.parent_code is not None and not scheme.extends(self.parent_code, self.code):
            raise ValidationError(
                "code", f"does not extend its parent's code under scheme {scheme.name!r}"
            )


class GridTree:
    """An immutable, validated area hierarchy built from cells.

    Args:
        cells: The cells; parents may come after their children.
        scheme: The code scheme the codes follow.

    Raises:
        ValidationError: On a duplicate code, an unknown parent, a cycle, a child not exactly one
            level below its parent, or a code that does not extend its parent's; the path names
            the cell as ``cells[i]``.
    """

    __slots__ = ("_by_code", "_children", "_roots", "_scheme")

    def __init__(self, cells: Iterable[GridCell], scheme: CodeScheme = DEFAULT_SCHEME) -> None:
        self._scheme = scheme
        cell_list = list(cells)
        by_code: dict[str, GridCell] = {}
        index: dict[str, int] = {}
        for i, cell in enumerate(cell_list):
            if not isinstance(cell, GridCell):
                raise ValidationError(f"cells[{i}]", "expected a GridCell")
            if cell.code in by_code:
                raise ValidationError(f"cells[{i}].code", "duplicate cell code")
            by_code[cell.code] = cell
            index[cell.code] = i
        children: dict[str, list[str]] = {}
        roots: list[str] = []
        for cell in cell_list:
            where = f"cells[{index[cell.code]}]"
            if cell.parent_code is None:
                roots.append(cell.code)
            else:
                parent = by_code.get(cell.parent_code)
                if parent is None:
                    raise ValidationError(f"{where}.parent_code", "unknown parent cell")
                if parent.level.child() is not cell.level:
                    raise ValidationError(
                        f"{where}.level",
                        f"a {cell.level.value} cannot sit directly under a {parent.level.value}",
                    )
                children.setdefault(cell.parent_code, []).append(cell.code)
            try:
                cell.check_code(scheme)
            except ValidationError as exc:
                raise exc.within(where) from None
        self._check_acyclic(by_code, index)
        self._by_code = by_code
        self._children = {k: tuple(sorted(c)) for k, c in children.items()}
        self._roots = tuple(sorted(roots))

    @staticmethod
    def _check_acyclic(by_code: Mapping[str, GridCell], index: Mapping[str, int]) -> None:
        # Levels strictly increase down every edge, so a cycle is impossible once levels are
        # checked; this walk guards the invariant should that rule ever be relaxed.
        done: set[str] = set()
        for code in by_code:
            seen: list[str] = []
            current: str | None = code
            while current is not None and current not in done:
                if current in seen:
                    raise ValidationError(f"cells[{index[current]}].parent_code", "cycle")
                seen.append(current)
                current = by_code[current].parent_code
            done.update(seen)

    @property
    def scheme(self) -> CodeScheme:
        """Return the code scheme."""
        return self._scheme

    @property
    def roots(self) -> tuple[GridCell, ...]:
        """Return the top cells, ordered by code."""
        return tuple(self._by_code[c] for c in self._roots)

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[GridCell]:
        """Iterate over every cell, depth first, parents before children, by code."""
        stack = list(reversed(self._roots))
        while stack:
            code = stack.pop()
            yield self._by_code[code]
            stack.extend(reversed(self._children.get(code, ())))

    def __repr__(self) -> str:
        return f"GridTree({len(self)} cells, scheme={self._scheme.name!r})"

    def get(self, code: str) -> GridCell:
        """Return the cell with ``code``.

        Raises:
            NotFoundError: If there is none.
        """
        try:
            return self._by_code[code]
        except (KeyError, TypeError):
            raise NotFoundError("cell", str(code)) from None

    def parent(self, code: str) -> GridCell | None:
        """Return the parent of the cell ``code``, ``None`` for a root."""
        parent_code = self.get(code).parent_code
        return None if parent_code is None else self._by_code[parent_code]

    def children(self, code: str) -> tuple[GridCell, ...]:
        """Return the direct children of the cell ``code``, by code."""
        self.get(code)
        return tuple(self._by_code[c] for c in self._children.get(code, ()))

    def ancestors(self, code: str) -> tuple[GridCell, ...]:
        """Return the cells above ``code``, nearest first, up to its root."""
        out: list[GridCell] = []
        parent = self.parent(code)
        while parent is not None:
            out.append(parent)
            parent = self.parent(parent.code)
        return tuple(out)

    def descendants(self, code: str) -> tuple[GridCell, ...]:
        """Return every cell below ``code``, depth first, by code."""
        self.get(code)
        out: list[GridCell] = []
        stack = list(reversed(self._children.get(code, ())))
        while stack:
            c = stack.pop()
            out.append(self._by_code[c])
            stack.extend(reversed(self._children.get(c, ())))
        return tuple(out)

    def contains(self, outer: str, inner: str) -> bool:
        """Return whether cell ``inner`` is ``outer`` or lies below it."""
        self.get(outer)
        code: str | None = self.get(inner).code
        while code is not None:
            if code == outer:
                return True
            code = self._by_code[code].parent_code
        return False

    def at_level(self, level: GridLevel) -> tuple[GridCell, ...]:
        """Return every cell of ``level``, by code."""
        return tuple(sorted((c for c in self._by_code.values() if c.level is level), key=_code))

    def path(self, code: str) -> tuple[GridCell, ...]:
        """Return the cells from the root down to ``code`` inclusive."""
        return (*reversed(self.ancestors(code)), self.get(code))

    def active_on(self, day: pendulum.Date) -> GridTree:
        """Return the tree of the cells that exist on ``day``: retired and future cells left out.

        A cell whose parent does not exist that day is left out too, with its subtree.
        """
        kept: dict[str, GridCell] = {}
        for cell in self:  # parents come first
            if cell.active_on(day) and (cell.parent_code is None or cell.parent_code in kept):
                kept[cell.code] = cell
        # The cells passed this tree's checks already: no need to check them again.
        tree = object.__new__(GridTree)
        tree._scheme = self._scheme
        tree._by_code = kept
        tree._children = {
            parent: kids
            for parent, children in self._children.items()
            if parent in kept and (kids := tuple(c for c in children if c in kept))
        }
        tree._roots = tuple(c for c in self._roots if c in kept)
        return tree


def _code(cell: GridCell) -> str:
    return cell.code


class WorkerRole(Term):
    """A role a worker holds in the grid system."""

    GRID_WORKER: ClassVar[WorkerRole]
    GRID_LEADER: ClassVar[WorkerRole]
    COMMUNITY_STAFF: ClassVar[WorkerRole]
    COMMUNITY_SECRETARY: ClassVar[WorkerRole]
    STREET_SUPERVISOR: ClassVar[WorkerRole]
    DISTRICT_SUPERVISOR: ClassVar[WorkerRole]
    VOLUNTEER: ClassVar[WorkerRole]


WorkerRole.GRID_WORKER = WorkerRole.builtin("grid_worker", "grid worker", "网格员")
WorkerRole.GRID_LEADER = WorkerRole.builtin("grid_leader", "grid leader", "网格长")
WorkerRole.COMMUNITY_STAFF = WorkerRole.builtin("community_staff", "community staff", "社区工作者")
WorkerRole.COMMUNITY_SECRETARY = WorkerRole.builtin(
    "community_secretary", "community party secretary", "社区党委书记"
)
WorkerRole.STREET_SUPERVISOR = WorkerRole.builtin(
    "street_supervisor", "street supervisor", "街道督导"
)
WorkerRole.DISTRICT_SUPERVISOR = WorkerRole.builtin(
    "district_supervisor", "district supervisor", "区级督导"
)
WorkerRole.VOLUNTEER = WorkerRole.builtin("volunteer", "volunteer", "志愿者")


def _roles(value: Iterable[WorkerRole]) -> frozenset[WorkerRole]:
    return v.to_frozenset(value)


@attrs.frozen
class Assignment:
    """A worker's assignment to a cell over a period.

    Args:
        cell_code: The cell.
        start: The first day of the assignment.
        end: The last day, inclusive; ``None`` while it lasts.
        duties: The duties taken on in that cell; empty means all of the cell's duties.

    Raises:
        ValidationError: If ``end`` is before ``start``.
    """

    cell_code: str = attrs.field(validator=v.text(64))
    start: pendulum.Date = attrs.field(validator=v.date)
    end: pendulum.Date | None = attrs.field(default=None, validator=v.optional(v.date))
    duties: frozenset[Duty] = attrs.field(
        default=frozenset(), converter=_duties, validator=v.collection_of(Duty)
    )

    def __attrs_post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise ValidationError("end", "the assignment ends before it starts")

    def active_on(self, day: pendulum.Date) -> bool:
        """Return whether the assignment covers ``day``."""
        return self.start <= day and (self.end is None or day <= self.end)

    def overlaps(self, other: Assignment) -> bool:
        """Return whether both assignments cover a common day."""
        return (self.end is None or other.start <= self.end) and (
            other.end is None or self.start <= other.end
        )


def _assignments(value: Iterable[Assignment]) -> tuple[Assignment, ...]:
    return v.to_tuple(value)


@attrs.frozen(repr=False)
class Worker:
    """A staff member working in the grids (网格员, 社区工作者, ...).

    Args:
        id: The worker's key.
        name: The worker's name; masked in ``repr``.
        roles: The roles held.
        assignments: Cell assignments with effective dates.
        phone: A work phone, if any (a string is parsed).
        version: The stored version, managed by repositories.

    Raises:
        ValidationError: If one cell has two overlapping assignments.
    """

    id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(50))
    roles: frozenset[WorkerRole] = attrs.field(
        default=frozenset(), converter=_roles, validator=v.collection_of(WorkerRole)
    )
    assignments: tuple[Assignment, ...] = attrs.field(
        default=(), converter=_assignments, validator=v.collection_of(Assignment)
    )
    phone: PhoneNumber | None = attrs.field(
        default=None, converter=as_optional_phone, validator=v.optional(v.instance_of(PhoneNumber))
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __attrs_post_init__(self) -> None:
        seen: dict[str, list[Assignment]] = {}
        for i, a in enumerate(self.assignments):
            if any(a.overlaps(b) for b in seen.get(a.cell_code, ())):
                raise ValidationError(
                    f"assignments[{i}]", "overlaps another assignment to the same cell"
                )
            seen.setdefault(a.cell_code, []).append(a)

    def cells_on(self, day: pendulum.Date) -> tuple[str, ...]:
        """Return the codes of the cells the worker is assigned to on ``day``, sorted."""
        return tuple(sorted({a.cell_code for a in self.assignments if a.active_on(day)}))

    def __repr__(self) -> str:
        roles = sorted(r.code for r in self.roles)
        return (
            f"Worker(id={self.id!r}, name={mask_name(self.name)!r}, roles={roles!r}, "
            f"assignments={len(self.assignments)}, phone={self.phone!r})"
        )
