"""The service catalogue (服务目录): case categories and their time limits per stage.

The default catalogue follows the sourced limits in DOMAIN.md: the Guangdong 12345 rules count
from receipt (consultation 2 working days; help request or suggestion 10; complaint or report
15), Beijing 12345 gives emergencies 2 hours and water, power, gas and heating 24 hours, and
digital urban management registers and dispatches urgent cases within 10 minutes and others
within one working hour.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.calendar import WorkCalendar
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
    """

    code: str = attrs.field(validator=v.identifier)
    label_en: str = attrs.field(validator=v.text(100))
    label_zh: str = attrs.field(validator=v.text(100))
    limits: dict[Stage, TimeLimit] = attrs.field(
        converter=_limits, validator=_check_limits, hash=False
    )
    source: str = attrs.field(default="", validator=v.text(300, allow_empty=True))
    emergency: bool = attrs.field(default=False, validator=v.instance_of(bool))

    def limit(self, stage: Stage) -> TimeLimit:
        """Return the time limit of ``stage``."""
        return self.limits[stage]


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


@attrs.frozen
class ServiceCatalogue:
    """The categories a platform accepts cases in.

    Args:
        categories: The categories, in display order.
        version: The stored version, managed by repositories.
    """

    categories: tuple[Category, ...] = attrs.field(converter=_categories, validator=_unique_codes)
    version: int = attrs.field(default=0, validator=v.non_negative_int)

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

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ServiceCatalogue:
        """Build a catalogue from a TOML-shaped mapping.

        The shape is ``{"categories": [{"code", "label_en", "label_zh", "source"?, "emergency"?,
        "limits": {"registration": "1 working_hours", ...}}, ...]}``. A category that names
        ``extends = "complaint"`` (a default category or one listed before it) copies that
        category's labels and limits and overrides what it lists.

        Raises:
            ValidationError: Naming the path of the first bad field.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("", "expected a table")
        _no_unknown(data, {"categories"}, "")
        raw = data.get("categories")
        if not isinstance(raw, list):
            raise ValidationError("categories", "expected an array of tables")
        known = {c.code: c for c in DEFAULT_CATALOGUE.categories}
        built: list[Category] = []
        for i, entry in enumerate(raw):
            category = _category_from(entry, known, f"categories[{i}]")
            known[category.code] = category
            built.append(category)
        return cls(built)


_CATEGORY_KEYS = {"code", "label_en", "label_zh", "source", "emergency", "limits", "extends"}


def _no_unknown(data: Mapping[str, object], allowed: set[str], path: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise ValidationError(f"{path}.{unknown[0]}" if path else unknown[0], "unknown key")


def _category_from(entry: object, known: Mapping[str, Category], path: str) -> Category:
    if not isinstance(entry, Mapping):
        raise ValidationError(path, "expected a table")
    _no_unknown(entry, _CATEGORY_KEYS, path)
    fields: dict[str, Any] = {}
    base_code = entry.get("extends")
    if base_code is not None:
        base = known.get(base_code) if isinstance(base_code, str) else None
        if base is None:
            raise ValidationError(f"{path}.extends", "no such category")
        fields = attrs.asdict(base, recurse=False)
        fields["limits"] = dict(base.limits)
    else:
        fields["limits"] = {}
    own = entry.get("limits", {})
    if not isinstance(own, Mapping):
        raise ValidationError(f"{path}.limits", "expected a table")
    for name, text in own.items():
        stage = next((s for s in Stage if s.value == name), None)
        if stage is None:
            raise ValidationError(f"{path}.limits.{name}", "unknown stage")
        try:
            fields["limits"][stage] = TimeLimit.parse(text)
        except ValidationError as exc:
            raise exc.within(f"{path}.limits.{name}") from None
    fields.update({k: val for k, val in entry.items() if k not in ("limits", "extends")})
    try:
        return Category(**fields)
    except ValidationError as exc:
        raise exc.within(path) from None
    except TypeError:
        missing = sorted({"code", "label_en", "label_zh"} - set(fields))
        raise ValidationError(f"{path}.{missing[0] if missing else ''}", "missing") from None


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

DEFAULT_CATALOGUE = ServiceCatalogue(
    (
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
        Category(
            "report", "Report", "举报", _limits_of(*_ORDINARY, "15 working_days", _VERIFY), _GD
        ),
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
)
