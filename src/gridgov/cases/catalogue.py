"""The service catalogue (服务目录): case categories and their time limits per stage.

The default catalogue follows the sourced limits in DOMAIN.md: the Guangdong 12345 rules count
from receipt (consultation 2 working days; help request or suggestion 10; complaint or report
15), Beijing 12345 gives emergencies 2 hours and water, power, gas and heating 24 hours, and
digital urban management registers and dispatches urgent cases within 10 minutes and others
within one working hour.

The catalogue also holds the classification trees (:mod:`gridgov.cases.classification`): minor
categories with CJ/T 214 codes, filing and closing conditions and a responsible department. The
default ships event major 01 (市容环境) of the Jiyuan standard, and a proposed 12345 tree mapped
to it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
from gridgov.cases.classification import ClassificationTree, MajorCategory, is_code
from gridgov.clock import ensure_aware
from gridgov.errors import NotFoundError, ValidationError

__all__ = [
    "DEFAULT_CATALOGUE",
    "Category",
    "ServiceCatalogue",
    "Stage",
    "TimeLimit",
    "TimeUnit",
]


class TimeUnit(enum.Enum):
    """How a time limit is counted: on the clock, or on the working calendar."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WORKING_HOURS = "working_hours"
    WORKING_DAYS = "working_days"

    @property
    def on_calendar(self) -> bool:
        """Return whether the unit counts business time only."""
        return self in (TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS)


_UNIT_EN = {
    TimeUnit.MINUTES: "minute",
    TimeUnit.HOURS: "hour",
    TimeUnit.DAYS: "day",
    TimeUnit.WORKING_HOURS: "working hour",
    TimeUnit.WORKING_DAYS: "working day",
}
_UNIT_ZH = {
    TimeUnit.MINUTES: "分钟",
    TimeUnit.HOURS: "小时",
    TimeUnit.DAYS: "天",
    TimeUnit.WORKING_HOURS: "个工作小时",
    TimeUnit.WORKING_DAYS: "个工作日",
}
_LIMIT_TEXT = re.compile(r"\s*(\d{1,6})\s+([a-z_ ]+?)s?\s*")


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100_000:
        raise ValidationError(attribute.name, "expected a whole number from 1 to 100000")


@attrs.frozen
class TimeLimit:
    """A time limit such as 15 working days or 2 hours.

    Args:
        amount: How many units, at least 1.
        unit: What is counted.
    """

    amount: int = attrs.field(validator=_positive)
    unit: TimeUnit = attrs.field(validator=v.instance_of(TimeUnit))

    @classmethod
    def parse(cls, text: str) -> TimeLimit:
        """Parse ``"15 working_days"``, ``"2 hours"``, ``"1 working day"`` and the like.

        Raises:
            ValidationError: If the text is not a count and a unit.
        """
        m = _LIMIT_TEXT.fullmatch(text) if isinstance(text, str) else None
        if m is None:
            raise ValidationError("", "expected a count and a unit, e.g. '15 working_days'")
        name = m.group(2).replace(" ", "_")
        unit = next((u for u in TimeUnit if u.value in (name, name + "s")), None)
        if unit is None:
            units = ", ".join(u.value for u in TimeUnit)
            raise ValidationError("", f"unknown unit {name!r}; expected one of {units}")
        return cls(int(m.group(1)), unit)

    def due(self, start: pendulum.DateTime, calendar: WorkCalendar) -> pendulum.DateTime:
        """Return when this limit runs out for a clock started at ``start``.

        Working days run to the close of business of the Nth working day after the day of
        ``start`` (the day of receipt does not count); working hours count business time only.

        Raises:
            ValidationError: On a naive instant.
            CalendarCoverageError: If the count needs a year the calendar does not cover.
        """
        start = ensure_aware(start, "start")
        match self.unit:
            case TimeUnit.MINUTES:
                return start.add(minutes=self.amount)
            case TimeUnit.HOURS:
                return start.add(hours=self.amount)
            case TimeUnit.DAYS:
                return start.add(days=self.amount)
            case TimeUnit.WORKING_HOURS:
                return calendar.add_working_time(start, pendulum.duration(hours=self.amount))
            case TimeUnit.WORKING_DAYS:
                return calendar.add_working_days(start, self.amount)

    def __str__(self) -> str:
        name = _UNIT_EN[self.unit]
        return f"{self.amount} {name}{'' if self.amount == 1 else 's'}"

    @property
    def label_zh(self) -> str:
        """Return the limit in Chinese, e.g. ``"15个工作日"``."""
        return f"{self.amount}{_UNIT_ZH[self.unit]}"


class Stage(enum.Enum):
    """A stage of a case that runs against a time limit."""

    REGISTRATION = "registration"
    DISPATCH = "dispatch"
    HANDLING = "handling"
    VERIFICATION = "verification"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {
            "registration": "立案",
            "dispatch": "派遣",
            "handling": "办理",
            "verification": "核查",
        }[self.value]


def _limits(value: Mapping[Stage, TimeLimit]) -> dict[Stage, TimeLimit]:
    return dict(value) if isinstance(value, Mapping) else value


def _check_limits(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError(attribute.name, "expected a mapping of stage to time limit")
    for stage, limit in value.items():
        if not isinstance(stage, Stage):
            raise ValidationError(attribute.name, "keys are stages")
        if not isinstance(limit, TimeLimit):
            raise ValidationError(f"{attribute.name}.{stage.value}", "expected a TimeLimit")
    missing = [s.value for s in Stage if s not in value]
    if missing:
        raise ValidationError(attribute.name, f"missing a limit for {', '.join(missing)}")


def _check_place(inst: Category, _attr: attrs.Attribute[Any], _value: object) -> None:
    """Check the tree fields together: a minor category has both codes, others neither."""
    if inst.tree is None:
        for name in ("major", "minor", "maps_to"):
            if getattr(inst, name):
                raise ValidationError(name, "only a category of a classification tree has one")
        return
    for name in ("major", "minor"):
        if not is_code(getattr(inst, name)):
            raise ValidationError(name, "expected a two-digit code from 01 to 99")
    if inst.maps_to is not None and inst.tree.standard:
        raise ValidationError("maps_to", "only a 12345 hotline category maps to another")


@attrs.frozen
class Category:
    """A kind of case with its time limit for every stage.

    Args:
        code: The category's key, e.g. ``"complaint"``.
        label_en: Its English name.
        label_zh: Its Chinese name.
        limits: The time limit of each stage. Handling counts from receipt, as the 12345 rules
            do; the other stages count from when the case entered them.
        source: Where the limits come from (a rule's citation), shown in explanations.
        emergency: Whether cases of this category are emergencies (risk to life or property).
        tree: For a minor category of a classification tree (大类/小类), its tree.
        major: Its major category's two-digit code, in that tree.
        minor: Its own two-digit code within the major category.
        filing_condition: When a problem is filed in it (立案条件).
        closing_condition: When a case of it may be closed (结案条件).
        department: The id of the functional department responsible for it
            (:mod:`gridgov.cases.departments`); cases are routed to it when dispatched.
        maps_to: For a 12345 hotline category, the standard (event or component) category it
            maps to, whose conditions and department then apply.
    """

    code: str = attrs.field(validator=v.identifier)
    label_en: str = attrs.field(validator=v.text(100))
    label_zh: str = attrs.field(validator=v.text(100))
    limits: dict[Stage, TimeLimit] = attrs.field(
        converter=_limits, validator=_check_limits, hash=False
    )
    source: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    emergency: bool = attrs.field(default=False, validator=v.instance_of(bool))
    tree: ClassificationTree | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(ClassificationTree))
    )
    major: str = attrs.field(default="", validator=v.text(2, allow_empty=True))
    minor: str = attrs.field(default="", validator=v.text(2, allow_empty=True))
    filing_condition: str = attrs.field(default="", validator=v.text(500, allow_empty=True))
    closing_condition: str = attrs.field(default="", validator=v.text(500, allow_empty=True))
    department: str | None = attrs.field(default=None, validator=v.optional(v.identifier))
    maps_to: str | None = attrs.field(
        default=None, validator=[v.optional(v.identifier), _check_place]
    )

    def limit(self, stage: Stage) -> TimeLimit:
        """Return the time limit of ``stage``."""
        return self.limits[stage]

    @property
    def standard_code(self) -> str:
        """Return the major and minor codes together, e.g. ``"0102"``; empty outside a tree."""
        return f"{self.major}{self.minor}"


def _categories(value: Iterable[Category]) -> tuple[Category, ...]:
    return v.to_tuple(value)


def _unique_codes(_inst: Any, attribute: attrs.Attribute[Any], value: tuple[Category, ...]) -> None:
    seen: set[str] = set()
    for i, category in enumerate(value):
        if not isinstance(category, Category):
            raise ValidationError(f"{attribute.name}[{i}]", "expected a Category")
        if category.code in seen:
            raise ValidationError(f"{attribute.name}[{i}].code", "duplicate category code")
        seen.add(category.code)
    if not value:
        raise ValidationError(attribute.name, "a catalogue needs at least one category")


def _majors(value: Iterable[MajorCategory]) -> tuple[MajorCategory, ...]:
    return v.to_tuple(value)


def _check_tree(inst: ServiceCatalogue, attribute: attrs.Attribute[Any], value: object) -> None:
    """Check the trees: known majors, unique codes, hotline categories mapped to standard ones."""
    if not isinstance(value, tuple):
        raise ValidationError(attribute.name, "expected a list of major categories")
    majors: set[tuple[ClassificationTree, str]] = set()
    for i, major in enumerate(value):
        if not isinstance(major, MajorCategory):
            raise ValidationError(f"majors[{i}]", "expected a MajorCategory")
        if (major.tree, major.code) in majors:
            raise ValidationError(f"majors[{i}].code", "duplicate major category in its tree")
        majors.add((major.tree, major.code))
    places: set[tuple[ClassificationTree, str, str]] = set()
    by_code = {c.code: c for c in inst.categories}
    for i, category in enumerate(inst.categories):
        if category.tree is None:
            continue
        if (category.tree, category.major) not in majors:
            raise ValidationError(f"categories[{i}].major", "no such major category in its tree")
        place = (category.tree, category.major, category.minor)
        if place in places:
            raise ValidationError(f"categories[{i}].minor", "duplicate minor category")
        places.add(place)
        if category.maps_to is not None:
            target = by_code.get(category.maps_to)
            if target is None or target.tree is None or not target.tree.standard:
                raise ValidationError(
                    f"categories[{i}].maps_to", "no such event or component category"
                )


@attrs.frozen
class ServiceCatalogue:
    """The categories a platform accepts cases in, and the classification trees they form.

    Args:
        categories: The categories, in display order; those with a ``tree`` are the minor
            categories of the classification trees.
        version: The stored version, managed by repositories.
        majors: The major categories of the trees.
    """

    categories: tuple[Category, ...] = attrs.field(converter=_categories, validator=_unique_codes)
    version: int = attrs.field(default=0, validator=v.non_negative_int)
    majors: tuple[MajorCategory, ...] = attrs.field(
        default=(), converter=_majors, validator=_check_tree, kw_only=True
    )

    def get(self, code: str) -> Category:
        """Return the category ``code``.

        Raises:
            NotFoundError: If the catalogue has no such category.
        """
        for category in self.categories:
            if category.code == code:
                return category
        raise NotFoundError("category", str(code))

    def __contains__(self, code: object) -> bool:
        return any(c.code == code for c in self.categories)

    def major(self, tree: ClassificationTree, code: str) -> MajorCategory:
        """Return the major category ``code`` of ``tree``.

        Raises:
            NotFoundError: If there is none.
        """
        for major in self.majors:
            if major.tree is tree and major.code == code:
                return major
        raise NotFoundError("major category", f"{tree.value}:{code}")

    def minors(self, tree: ClassificationTree, major: str | None = None) -> tuple[Category, ...]:
        """Return the minor categories of ``tree`` (of one major category if given), in order."""
        return tuple(
            c for c in self.categories if c.tree is tree and (major is None or c.major == major)
        )

    def by_standard_code(self, tree: ClassificationTree, code: str) -> Category:
        """Return the minor category of ``tree`` coded ``code``, e.g. ``"0102"``.

        Raises:
            NotFoundError: If there is none.
        """
        for category in self.minors(tree):
            if category.standard_code == code:
                return category
        raise NotFoundError("category", f"{tree.value}:{code}")

    def standard(self, code: str) -> Category:
        """Return the category whose rules apply to cases in ``code``.

        A 12345 hotline category gives the standard category it maps to; any other category
        gives itself.

        Raises:
            NotFoundError: If the catalogue has no such category.
        """
        category = self.get(code)
        return self.get(category.maps_to) if category.maps_to is not None else category

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, object], *, base: ServiceCatalogue | None = None
    ) -> ServiceCatalogue:
        """Build a catalogue from a TOML-shaped mapping.

        The shape is ``{"majors": [{"tree", "code", "label_en", "label_zh", "source"?}, ...],
        "categories": [{"code", "label_en", "label_zh", "source"?, "emergency"?, "tree"?,
        "major"?, "minor"?, "filing_condition"?, "closing_condition"?, "department"?,
        "maps_to"?, "limits": {"registration": "1 working_hours", ...}}, ...]}``. A category
        that names ``extends = "complaint"`` (a default category or one listed before it)
        copies that category's fields and overrides what it lists; a hotline category that
        ``maps_to`` a category and lists no limits takes that category's.

        Args:
            data: The mapping.
            base: A catalogue the mapping adds to: its categories and majors are kept unless
                the mapping redefines their codes. Without one, the result holds only what
                the mapping lists.

        Raises:
            ValidationError: Naming the path of the first bad field.
        """
        from gridgov.cases import _catalogue_io  # it imports this module: import when called

        return _catalogue_io.from_mapping(cls, data, base)

    @classmethod
    def from_csv(
        cls, path: Path | str, *, base: ServiceCatalogue | None = None
    ) -> ServiceCatalogue:
        """Build a catalogue from a categories CSV file, one category a row.

        The columns are :data:`~gridgov.cases.classification.CSV_COLUMNS`; the major
        categories come from ``base`` (their labels do not fit one row per minor category).

        Raises:
            ValidationError: Naming the file, the line and the column of the first problem.
        """
        from gridgov.cases import _catalogue_io  # it imports this module: import when called

        return _catalogue_io.from_csv(cls, path, base)


def _limits_of(
    registration: str, dispatch: str, handling: str, verification: str
) -> dict[Stage, TimeLimit]:
    return {
        Stage.REGISTRATION: TimeLimit.parse(registration),
        Stage.DISPATCH: TimeLimit.parse(dispatch),
        Stage.HANDLING: TimeLimit.parse(handling),
        Stage.VERIFICATION: TimeLimit.parse(verification),
    }


_GD = "Guangdong 12345 rules (2022), from receipt"
_BJ = "Beijing 12345 rules (2021 draft)"
_ORDINARY = ("1 working_hours", "1 working_hours")
_VERIFY = "1 working_days"  # proposal: the 1 h of urban management is for street-level problems

_SERVICE_CATEGORIES = (
    Category(
        "consultation",
        "Consultation",
        "咨询",
        _limits_of(*_ORDINARY, "2 working_days", _VERIFY),
        _GD,
    ),
    Category(
        "help", "Help request", "求助", _limits_of(*_ORDINARY, "10 working_days", _VERIFY), _GD
    ),
    Category(
        "suggestion",
        "Suggestion",
        "建议",
        _limits_of(*_ORDINARY, "10 working_days", _VERIFY),
        _GD,
    ),
    Category(
        "complaint",
        "Complaint",
        "投诉",
        _limits_of(*_ORDINARY, "15 working_days", _VERIFY),
        _GD,
    ),
    Category("report", "Report", "举报", _limits_of(*_ORDINARY, "15 working_days", _VERIFY), _GD),
    Category(
        "emergency",
        "Emergency: risk to life or property",
        "紧急：危及生命财产安全",
        _limits_of("10 minutes", "10 minutes", "2 hours", "1 hours"),
        f"{_BJ}; urban management: urgent cases registered and dispatched within 10 min",
        emergency=True,
    ),
    Category(
        "utilities",
        "Water, power, gas or heating",
        "水电气热",
        _limits_of("10 minutes", "10 minutes", "24 hours", "1 hours"),
        _BJ,
    ),
    Category(
        "proxy_service",
        "Proxy service request",
        "代办服务",
        _limits_of(*_ORDINARY, "10 working_days", _VERIFY),
        f"proposal: the help-request limit of the {_GD}",
    ),
)

# The classification trees' default subset. Each limit, condition and responsible unit is the
# Jiyuan standard's; the department ids are functional names a deployment declares (its own
# departments' ids replace them), and the other stages take urban management's general limits.
_JIYUAN = (
    "《济源市数字化城市管理城市事件信息采集、立案、处置与结案标准》, event {code}, "
    "responsible: {units} (https://ishare.iask.com/f/2gaIATvprR5.html)"
)
_URBAN_STAGES = ("1 working_hours", "1 working_hours")  # Taiyuan, Fuzhou (DOMAIN.md)
_URBAN_VERIFY = "1 working_hours"  # verification within 1 h in town (Taiyuan, Fuzhou)
_CITY_UNITS = "市住建局、市交通运输局、各街道(办事处)、各产业集聚区"


def _event(
    code: str,
    minor: str,
    label_en: str,
    label_zh: str,
    handling: str,
    filing: str,
    closing: str,
    department: str,
    units: str,
) -> Category:
    return Category(
        code,
        label_en,
        label_zh,
        _limits_of(*_URBAN_STAGES, handling, _URBAN_VERIFY),
        _JIYUAN.format(code=f"01{minor}", units=units),
        tree=ClassificationTree.EVENT,
        major="01",
        minor=minor,
        filing_condition=filing,
        closing_condition=closing,
        department=department,
    )


_EVENTS = (
    _event(
        "illegal_building",
        "01",
        "Illegal construction",
        "违法搭建",
        "15 working_days",
        "违法搭建的建筑物、构筑物 (a building or structure put up without permission)",
        "拆除 (demolished)",
        "urban_management",
        "市城乡规划管理局、市住建局、各街道(办事处)、各产业集聚区",
    ),
    _event(
        "exposed_rubbish",
        "02",
        "Exposed rubbish",
        "暴露垃圾",
        "1 working_days",
        "成堆、成片的垃圾 (rubbish in heaps or patches)",
        "清除 (removed)",
        "sanitation",
        _CITY_UNITS,
    ),
    _event(
        "accumulated_debris",
        "03",
        "Accumulated construction waste or muck",
        "积存垃圾渣土",
        "4 working_days",
        "超过临时堆放时限的建筑垃圾及堆积的渣土 (construction waste or muck left beyond its "
        "permitted time)",
        "清除 (removed)",
        "sanitation",
        "市住建局、各街道(办事处)、各产业集聚区",
    ),
    _event(
        "dirty_road",
        "04",
        "Road not clean",
        "道路不洁",
        "5 working_hours",
        "未按规定及时处理的道路保洁问题 (road cleaning not done as the rules require)",
        "清除 (cleaned)",
        "sanitation",
        _CITY_UNITS,
    ),
    _event(
        "dirty_waterway",
        "05",
        "Waterway not clean",
        "水域不洁",
        "15 working_days",
        "河道、沟渠淤积、堵塞，有漂浮物、大面积油污 (a river or ditch silted, blocked, with "
        "floating litter or a large oil slick)",
        "清除 (cleared)",
        "water",
        "市住建局、市水利局",
    ),
)
_HOTLINE_SOURCE = (
    "proposal: a 12345 content category mapped to the standard event it reports; no published "
    "hotline classification was found, so the codes are gridgov's"
)


def _hotline(code: str, minor: str, label_en: str, label_zh: str, maps_to: Category) -> Category:
    return Category(
        code,
        label_en,
        label_zh,
        maps_to.limits,
        _HOTLINE_SOURCE,
        tree=ClassificationTree.HOTLINE_12345,
        major="01",
        minor=minor,
        maps_to=maps_to.code,
    )


# Component categories (部件): CJ/T 214's six component majors, and a few minors a community
# meets every day. The code's structure (county 6, major 2, minor 2, sequence 6) and 01 01 上水井盖
# are CJ/T 214-2007's, as a city platform's component record shows it (3205080101000001, 上水井盖,
# Gusu district); the other minor codes are a proposal to check against the standard's table.
_CJT214 = "CJ/T 214-2007 component major {major} ({label})"
_COMPONENT_PROPOSAL = (
    "proposal: a CJ/T 214 component minor under major {major}; the minor code is to be checked "
    "against the standard's table; limits: urban management's, handling 1 working day"
)
_COMPONENT_MAJORS = (
    ("01", "Public utilities", "公用设施"),
    ("02", "Traffic facilities", "交通设施"),
    ("03", "City appearance and environment", "市容环境"),
    ("04", "Landscaping and greenery", "园林绿化"),
    ("05", "Buildings and land", "房屋土地"),
    ("06", "Other facilities", "其他设施"),
)


def _component(
    code: str, major: str, minor: str, label_en: str, label_zh: str, department: str, source: str
) -> Category:
    return Category(
        code,
        label_en,
        label_zh,
        _limits_of(*_URBAN_STAGES, "1 working_days", _URBAN_VERIFY),
        source,
        tree=ClassificationTree.COMPONENT,
        major=major,
        minor=minor,
        filing_condition=f"{label_zh}缺失、破损或移位 (missing, damaged or out of place)",
        closing_condition="修复或更换 (repaired or replaced)",
        department=department,
    )


_COMPONENTS = (
    _component(
        "supply_water_cover",
        "01",
        "01",
        "Supply-water manhole cover",
        "上水井盖",
        "water",
        "CJ/T 214-2007 component 0101 上水井盖 (a city platform's record: 3205080101000001); "
        "limits: urban management's, handling 1 working day (proposal)",
    ),
    _component(
        "street_lamp",
        "01",
        "17",
        "Street lamp",
        "路灯",
        "urban_management",
        _COMPONENT_PROPOSAL.format(major="01"),
    ),
    _component(
        "litter_bin",
        "03",
        "06",
        "Litter bin",
        "果皮箱",
        "sanitation",
        _COMPONENT_PROPOSAL.format(major="03"),
    ),
    _component(
        "public_toilet",
        "03",
        "01",
        "Public toilet",
        "公共厕所",
        "sanitation",
        _COMPONENT_PROPOSAL.format(major="03"),
    ),
)

_BY_CODE = {c.code: c for c in _EVENTS}
_HOTLINE = (
    _hotline(
        "hotline_illegal_building",
        "01",
        "Illegal construction reported",
        "违章建筑",
        _BY_CODE["illegal_building"],
    ),
    _hotline(
        "hotline_rubbish", "02", "Rubbish not collected", "垃圾清运", _BY_CODE["exposed_rubbish"]
    ),
    _hotline(
        "hotline_street_cleaning", "03", "Street cleaning", "道路保洁", _BY_CODE["dirty_road"]
    ),
    _hotline("hotline_waterway", "04", "River or ditch", "河道沟渠", _BY_CODE["dirty_waterway"]),
)
_MAJORS = (
    MajorCategory(
        ClassificationTree.EVENT,
        "01",
        "City appearance and environment",
        "市容环境",
        "CJ/T 214 event major 01, as the Jiyuan standard lists it",
    ),
    *(
        MajorCategory(
            ClassificationTree.COMPONENT,
            major,
            label_en,
            label_zh,
            _CJT214.format(major=major, label=label_zh),
        )
        for major, label_en, label_zh in _COMPONENT_MAJORS
    ),
    MajorCategory(
        ClassificationTree.HOTLINE_12345,
        "01",
        "Urban management",
        "城市管理",
        _HOTLINE_SOURCE,
    ),
)

DEFAULT_CATALOGUE = ServiceCatalogue(
    (*_SERVICE_CATEGORIES, *_EVENTS, *_HOTLINE, *_COMPONENTS), majors=_MAJORS
)
