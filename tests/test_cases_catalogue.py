"""Tests for the service catalogue and time limits."""

from __future__ import annotations

import attrs
import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.calendar import WorkCalendar
from gridgov.cases import DEFAULT_CATALOGUE, Category, ServiceCatalogue, Stage, TimeLimit, TimeUnit
from gridgov.errors import CalendarCoverageError, NotFoundError, ValidationError
from gridgov.serialization import structure, unstructure

TZ = "Asia/Shanghai"
CAL = WorkCalendar.china()


def test_default_catalogue_holds_the_sourced_handling_limits() -> None:
    """The default handling limits are those of the Guangdong and Beijing 12345 rules."""
    expected = {
        "consultation": "2 working days",
        "help": "10 working days",
        "suggestion": "10 working days",
        "complaint": "15 working days",
        "report": "15 working days",
        "emergency": "2 hours",
        "utilities": "24 hours",
        "proxy_service": "10 working days",
        # The Jiyuan standard's event major 01, and the hotline categories mapped to it.
        "illegal_building": "15 working days",
        "exposed_rubbish": "1 working day",
        "accumulated_debris": "4 working days",
        "dirty_road": "5 working hours",
        "dirty_waterway": "15 working days",
        "hotline_illegal_building": "15 working days",
        "hotline_rubbish": "1 working day",
        "hotline_street_cleaning": "5 working hours",
        "hotline_waterway": "15 working days",
        # Component categories (CJ/T 214 component majors): urban management's proposal.
        "supply_water_cover": "1 working day",
        "street_lamp": "1 working day",
        "litter_bin": "1 working day",
        "public_toilet": "1 working day",
    }
    actual = {c.code: str(c.limit(Stage.HANDLING)) for c in DEFAULT_CATALOGUE.categories}
    assert expected == actual


def test_working_days_count_from_the_day_after_receipt_and_skip_national_day() -> None:
    """A consultation received on 30 September 2026 is due at the close of 9 October."""
    received = pendulum.datetime(2026, 9, 30, 16, tz=TZ)
    expected = pendulum.datetime(2026, 10, 9, 17, 30, tz=TZ)
    actual = TimeLimit(2, TimeUnit.WORKING_DAYS).due(received, CAL)
    assert expected == actual


def test_calendar_hours_ignore_the_working_calendar() -> None:
    """An emergency received on a Saturday night is due two clock hours later."""
    received = pendulum.datetime(2026, 11, 28, 23, tz=TZ)
    expected = pendulum.datetime(2026, 11, 29, 1, tz=TZ)
    assert expected == TimeLimit(2, TimeUnit.HOURS).due(received, CAL)


def test_working_hours_wait_for_the_office_to_open() -> None:
    """One working hour from Friday 17:00 ends on Monday at 09:30."""
    received = pendulum.datetime(2026, 11, 27, 17, tz=TZ)
    expected = pendulum.datetime(2026, 11, 30, 9, 30, tz=TZ)
    assert expected == TimeLimit(1, TimeUnit.WORKING_HOURS).due(received, CAL)


def test_deadline_in_an_uncovered_year_raises_coverage_error() -> None:
    """In strict mode a limit counted into a year without an announcement is refused."""
    received = pendulum.datetime(2026, 12, 28, 10, tz=TZ)
    with pytest.raises(CalendarCoverageError):
        TimeLimit(15, TimeUnit.WORKING_DAYS).due(received, attrs.evolve(CAL, beyond="refuse"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15 working_days", TimeLimit(15, TimeUnit.WORKING_DAYS)),
        ("1 working day", TimeLimit(1, TimeUnit.WORKING_DAYS)),
        ("2 hours", TimeLimit(2, TimeUnit.HOURS)),
        ("10 minutes", TimeLimit(10, TimeUnit.MINUTES)),
        ("3 working hours", TimeLimit(3, TimeUnit.WORKING_HOURS)),
    ],
)
def test_time_limits_parse_from_text(text: str, expected: TimeLimit) -> None:
    """Limits are written as a count and a unit."""
    assert expected == TimeLimit.parse(text)


@pytest.mark.parametrize("text", ["", "working days", "0 days", "3 fortnights", "-1 hours"])
def test_malformed_time_limits_are_refused(text: str) -> None:
    """A limit without a positive count or with an unknown unit is a ValidationError."""
    with pytest.raises(ValidationError):
        TimeLimit.parse(text)


@given(st.integers(1, 1000), st.sampled_from(list(TimeUnit)))
def test_time_limit_text_round_trips(amount: int, unit: TimeUnit) -> None:
    """A limit's text parses back to the same limit."""
    limit = TimeLimit(amount, unit)
    assert limit == TimeLimit.parse(str(limit))


def test_catalogue_from_mapping_extends_a_default_category() -> None:
    """A platform category can extend a default one and override one stage."""
    data = {
        "categories": [
            {
                "code": "elevator",
                "extends": "utilities",
                "label_en": "Lift breakdown",
                "label_zh": "电梯故障",
                "limits": {"handling": "12 hours"},
            }
        ]
    }
    catalogue = ServiceCatalogue.from_mapping(data)
    elevator = catalogue.get("elevator")
    expected = (
        TimeLimit(12, TimeUnit.HOURS),
        TimeLimit(10, TimeUnit.MINUTES),
        "电梯故障",
    )
    actual = (elevator.limit(Stage.HANDLING), elevator.limit(Stage.DISPATCH), elevator.label_zh)
    assert expected == actual


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"categories": [{"code": "x", "label_en": "X", "label_zh": "X"}]}, "categories[0].limits"),
        ({"categories": [{"code": "x", "extends": "nope"}]}, "categories[0].extends"),
        (
            {"categories": [{"code": "x", "extends": "help", "limits": {"handling": "soon"}}]},
            "categories[0].limits.handling",
        ),
        (
            {"categories": [{"code": "x", "extends": "help", "limits": {"closing": "1 hours"}}]},
            "categories[0].limits.closing",
        ),
        (
            {"categories": [{"code": "x", "extends": "help", "colour": "red"}]},
            "categories[0].colour",
        ),
        ({"categories": "help"}, "categories"),
        ({"kinds": []}, "kinds"),
        (
            {"categories": [{"code": "Bad Code", "extends": "help"}]},
            "categories[0].code",
        ),
    ],
)
def test_bad_catalogue_data_names_the_field(data: dict[str, object], path: str) -> None:
    """Malformed catalogue data raises a ValidationError whose path names the bad field."""
    with pytest.raises(ValidationError) as info:
        ServiceCatalogue.from_mapping(data)
    assert path == info.value.path


def test_duplicate_category_codes_are_refused() -> None:
    """Two categories with one code make no catalogue."""
    help_ = DEFAULT_CATALOGUE.get("help")
    with pytest.raises(ValidationError) as info:
        ServiceCatalogue((help_, help_))
    assert "categories[1].code" == info.value.path


def test_unknown_category_is_not_found() -> None:
    """Asking the catalogue for a category it lacks raises NotFoundError."""
    with pytest.raises(NotFoundError):
        DEFAULT_CATALOGUE.get("astrology")


def test_catalogue_round_trips_through_serialization() -> None:
    """The default catalogue survives unstructure and structure unchanged."""
    assert DEFAULT_CATALOGUE == structure(unstructure(DEFAULT_CATALOGUE), ServiceCatalogue)


def test_category_needs_every_stage_limit() -> None:
    """A category missing a stage's limit is refused, naming the stages missing."""
    with pytest.raises(ValidationError) as info:
        Category("x", "X", "X", {Stage.HANDLING: TimeLimit(1, TimeUnit.DAYS)})
    assert "limits" == info.value.path
