"""The classification trees: major and minor categories, the hotline's mapping, TOML and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridgov.cases import DEFAULT_CATALOGUE, Category, ServiceCatalogue, Stage
from gridgov.cases.classification import ClassificationTree
from gridgov.errors import ValidationError
from gridgov.scenarios import load_scenario
from gridgov.serialization import structure, unstructure

EVENT = ClassificationTree.EVENT
HOTLINE = ClassificationTree.HOTLINE_12345


def test_default_event_tree_is_the_jiyuan_standards_major_01() -> None:
    """Event major 01 (市容环境) holds the Jiyuan minors 01-05 with their limits and departments."""
    expected = {
        "0101": ("违法搭建", "15 working days", "urban_management", "拆除 (demolished)"),
        "0102": ("暴露垃圾", "1 working day", "sanitation", "清除 (removed)"),
        "0103": ("积存垃圾渣土", "4 working days", "sanitation", "清除 (removed)"),
        "0104": ("道路不洁", "5 working hours", "sanitation", "清除 (cleaned)"),
        "0105": ("水域不洁", "15 working days", "water", "清除 (cleared)"),
    }
    actual = {
        c.standard_code: (
            c.label_zh,
            str(c.limit(Stage.HANDLING)),
            c.department,
            c.closing_condition,
        )
        for c in DEFAULT_CATALOGUE.minors(EVENT, "01")
    }
    assert expected == actual


def test_every_default_tree_category_cites_its_source_or_says_it_is_a_proposal() -> None:
    """Each default minor category names the Jiyuan standard or CJ/T 214, or is a proposal."""
    tree = [c for c in DEFAULT_CATALOGUE.categories if c.tree is not None]
    expected = [True] * len(tree)
    actual = [
        ("济源市" in c.source or c.source.startswith("CJ/T 214"))
        != c.source.startswith("proposal:")
        for c in tree
    ]
    assert expected == actual


def test_hotline_categories_map_to_the_standard_events() -> None:
    """Each default 12345 category resolves to the event whose rules apply to its tickets."""
    expected = {
        "hotline_illegal_building": "illegal_building",
        "hotline_rubbish": "exposed_rubbish",
        "hotline_street_cleaning": "dirty_road",
        "hotline_waterway": "dirty_waterway",
    }
    actual = {
        c.code: DEFAULT_CATALOGUE.standard(c.code).code for c in DEFAULT_CATALOGUE.minors(HOTLINE)
    }
    assert expected == actual


@given(st.sampled_from(DEFAULT_CATALOGUE.minors(HOTLINE)))
def test_a_hotline_category_takes_its_standard_categorys_limits(category: Category) -> None:
    """A hotline category is counted with the limits of the event it maps to."""
    expected = DEFAULT_CATALOGUE.standard(category.code).limits
    assert expected == category.limits


def test_a_category_outside_the_trees_is_its_own_standard() -> None:
    """A service category (complaint) resolves to itself and has no standard code."""
    complaint = DEFAULT_CATALOGUE.get("complaint")
    assert (complaint, "") == (DEFAULT_CATALOGUE.standard("complaint"), complaint.standard_code)


@given(st.integers(1, 99), st.integers(1, 99))
def test_a_minor_category_is_found_by_its_standard_code(major: int, minor: int) -> None:
    """A minor category placed at any major and minor code is found by the four digits."""
    tree = ServiceCatalogue.from_mapping(
        {
            "majors": [
                {"tree": "component", "code": f"{major:02}", "label_en": "M", "label_zh": "大类"}
            ],
            "categories": [
                {
                    "code": "lamp",
                    "extends": "complaint",
                    "label_en": "Street lamp",
                    "label_zh": "路灯",
                    "tree": "component",
                    "major": f"{major:02}",
                    "minor": f"{minor:02}",
                }
            ],
        }
    )
    expected = "lamp"
    actual = tree.by_standard_code(ClassificationTree.COMPONENT, f"{major:02}{minor:02}").code
    assert expected == actual


def test_toml_tree_adds_to_the_default_catalogue() -> None:
    """A deployment's majors and minors join the defaults; a hotline minor takes its limits."""
    catalogue = ServiceCatalogue.from_mapping(
        {
            "majors": [
                {"tree": "event", "code": "02", "label_en": "Advertising", "label_zh": "宣传广告"}
            ],
            "categories": [
                {
                    "code": "flyposting",
                    "label_en": "Fly-posting",
                    "label_zh": "非法小广告",
                    "tree": "event",
                    "major": "02",
                    "minor": "01",
                    "filing_condition": "张贴、涂写、刻画的非法小广告",
                    "closing_condition": "清除",
                    "department": "urban_management",
                    "limits": {
                        "registration": "1 working_hours",
                        "dispatch": "1 working_hours",
                        "handling": "2 working_days",
                        "verification": "1 working_hours",
                    },
                },
                {
                    "code": "hotline_flyposting",
                    "label_en": "Fly-posting reported",
                    "label_zh": "小广告",
                    "tree": "hotline_12345",
                    "major": "01",
                    "minor": "09",
                    "maps_to": "flyposting",
                },
            ],
        },
        base=DEFAULT_CATALOGUE,
    )
    expected = (
        "非法小广告",
        "2 working days",
        "宣传广告",
        len(DEFAULT_CATALOGUE.categories) + 2,
    )
    actual = (
        catalogue.standard("hotline_flyposting").label_zh,
        str(catalogue.get("hotline_flyposting").limit(Stage.HANDLING)),
        catalogue.major(EVENT, "02").label_zh,
        len(catalogue.categories),
    )
    assert expected == actual


_MINOR = {"code": "x", "label_en": "X", "label_zh": "某", "extends": "complaint"}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (
            {"categories": [{**_MINOR, "tree": "events", "major": "01", "minor": "09"}]},
            "categories[0].tree",
        ),
        (
            {"categories": [{**_MINOR, "tree": "event", "major": "01", "minor": "9"}]},
            "categories[0].minor",
        ),
        (
            {"categories": [{**_MINOR, "tree": "event", "major": "07", "minor": "01"}]},
            "categories[0].major",
        ),
        (
            {"categories": [{**_MINOR, "tree": "event", "major": "01", "minor": "02"}]},
            "categories[0].minor",
        ),
        ({"categories": [{**_MINOR, "major": "01"}]}, "categories[0].major"),
        (
            {
                "categories": [
                    {
                        **_MINOR,
                        "tree": "hotline_12345",
                        "major": "01",
                        "minor": "09",
                        "maps_to": "complaint",
                    }
                ]
            },
            "categories[0].maps_to",
        ),
        (
            {
                "categories": [
                    {
                        **_MINOR,
                        "tree": "event",
                        "major": "01",
                        "minor": "09",
                        "maps_to": "dirty_road",
                    }
                ]
            },
            "categories[0].maps_to",
        ),
        ({"categories": [{**_MINOR, "department": "環 衛"}]}, "categories[0].department"),
        (
            {
                "categories": [],
                "majors": [{"tree": "event", "code": "1", "label_en": "A", "label_zh": "甲"}],
            },
            "majors[0].code",
        ),
        (
            {"categories": [], "majors": [{"tree": "event", "code": "03", "label_en": "A"}]},
            "majors[0].label_zh",
        ),
        (
            {
                "categories": [],
                "majors": [
                    {"tree": "event", "code": "01", "label_en": "A", "label_zh": "甲", "colour": 1}
                ],
            },
            "majors[0].colour",
        ),
        (
            {
                "categories": [],
                "majors": [{"tree": "event", "code": "01", "label_en": "A", "label_zh": "甲"}] * 2,
            },
            "majors[1].code",
        ),
    ],
)
def test_bad_tree_input_names_the_field(data: dict[str, object], path: str) -> None:
    """Each bad value of a tree is refused with the path of its field."""
    with pytest.raises(ValidationError) as caught:
        ServiceCatalogue.from_mapping(data, base=DEFAULT_CATALOGUE)
    assert path == caught.value.path


def test_scenario_file_with_a_bad_tree_names_the_file_and_field(tmp_path: Path) -> None:
    """A scenario's bad minor code is reported with the file and ``case_catalogue...minor``."""
    (tmp_path / "scenario.toml").write_text(
        """
[scenario]
name = "t"

[[case_catalogue.categories]]
code = "x"
extends = "complaint"
tree = "event"
major = "01"
minor = "123"
""",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as caught:
        load_scenario(tmp_path)
    assert ("case_catalogue.categories[0].minor", "scenario.toml") == (
        caught.value.path,
        caught.value.source,
    )


CSV = (
    "code,tree,major,minor,label_en,label_zh,department,filing_condition,closing_condition,"
    "registration,dispatch,handling,verification,maps_to,source\n"
    'manhole,component,01,02,Sewage manhole cover,污水井盖,water,"井盖缺失、破损",修复,'
    "10 minutes,10 minutes,4 working_hours,1 working_hours,,proposal\n"
    "hotline_manhole,hotline_12345,01,08,Manhole reported,井盖,,,,,,,,manhole,proposal\n"
)
# The default catalogue has CJ/T 214's component majors: the rows join major 01.


def test_catalogue_from_csv_reads_one_category_a_row(tmp_path: Path) -> None:
    """A CSV row is a minor category; an empty cell takes what the row maps to or extends."""
    path = tmp_path / "categories.csv"
    path.write_text(CSV, encoding="utf-8")
    base = DEFAULT_CATALOGUE
    catalogue = ServiceCatalogue.from_csv(path, base=base)
    expected = ("0102", "water", "4 working hours", "manhole")
    hotline = catalogue.get("hotline_manhole")
    actual = (
        catalogue.get("manhole").standard_code,
        catalogue.standard("hotline_manhole").department,
        str(hotline.limit(Stage.HANDLING)),
        hotline.maps_to,
    )
    assert expected == actual


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (CSV.replace("4 working_hours", "4 workin_hours"), "line 2.handling"),
        (CSV.replace(",manhole,proposal", ",lamp,proposal"), "line 3.maps_to"),
        (CSV.replace("source\n", "source,colour\n", 1), "line 1.colour"),
        (CSV.replace("code,", "key,", 1), "line 1.key"),
        (CSV.replace(",01,02,", ",01,2,", 1), "line 2.minor"),
    ],
)
def test_bad_csv_names_the_line_and_column(tmp_path: Path, text: str, path: str) -> None:
    """A bad categories CSV names the file, the line and the column."""
    file = tmp_path / "categories.csv"
    file.write_text(text, encoding="utf-8")
    base = DEFAULT_CATALOGUE
    with pytest.raises(ValidationError) as caught:
        ServiceCatalogue.from_csv(file, base=base)
    assert (path, "categories.csv") == (caught.value.path, caught.value.source)


def test_catalogue_with_trees_round_trips_through_the_converter() -> None:
    """The default catalogue, trees and all, structures back from its unstructured form."""
    assert DEFAULT_CATALOGUE == structure(unstructure(DEFAULT_CATALOGUE), ServiceCatalogue)


def test_category_document_of_an_older_version_decodes() -> None:
    """A stored catalogue without the trees' fields (gridgov before the trees) still decodes."""
    data = unstructure(ServiceCatalogue(c for c in DEFAULT_CATALOGUE.categories if c.tree is None))
    assert isinstance(data, dict)
    del data["majors"]
    new_keys = ("tree", "major", "minor", "filing_condition", "closing_condition", "department")
    for entry in data["categories"]:
        for key in (*new_keys, "maps_to"):
            del entry[key]
    expected = ServiceCatalogue(c for c in DEFAULT_CATALOGUE.categories if c.tree is None)
    assert expected == structure(data, ServiceCatalogue)
