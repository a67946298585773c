"""The classification trees of cases: major and minor categories (大类/小类) with standard codes.

Digital urban management codes its problems by CJ/T 214: events (事件) and components (部件)
each have two-digit major categories and two-digit minor categories within them, so that
``"0102"`` is event major 01 (市容环境), minor 02 (暴露垃圾). The 12345 hotline files its
tickets in a tree of its own; each of its minor categories maps to a minor category of the
standard trees, whose filing and closing conditions, department and time limits then apply.

A minor category is a :class:`~gridgov.cases.catalogue.Category` of the service catalogue
that names its tree, major and minor codes; the major categories are
:class:`MajorCategory` records of the same catalogue. :func:`read_catalogue_csv` reads minor
categories from a spreadsheet's CSV export.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from gridgov import _validation as v
from gridgov.errors import ValidationError

__all__ = [
    "CSV_COLUMNS",
    "ClassificationTree",
    "MajorCategory",
    "is_code",
    "read_category_rows",
    "two_digits",
]

_TWO_DIGITS = re.compile(r"\d\d")


class ClassificationTree(enum.Enum):
    """Which tree a category belongs to."""

    EVENT = "event"
    COMPONENT = "component"
    HOTLINE_12345 = "hotline_12345"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return {"event": "事件", "component": "部件", "hotline_12345": "12345热线"}[self.value]

    @property
    def standard(self) -> bool:
        """Return whether this is a tree of the standard (CJ/T 214), not the hotline's."""
        return self is not ClassificationTree.HOTLINE_12345


def is_code(value: object) -> bool:
    """Return whether ``value`` is a two-digit code from ``"01"`` to ``"99"``, as CJ/T 214's."""
    return isinstance(value, str) and bool(_TWO_DIGITS.fullmatch(value)) and value != "00"


def two_digits(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    """Require a two-digit code such as ``"01"``, as CJ/T 214 gives majors and minors."""
    if not is_code(value):
        raise ValidationError(attribute.name, "expected a two-digit code from 01 to 99")


@attrs.frozen
class MajorCategory:
    """A major category (大类) of a classification tree.

    Args:
        tree: The tree it belongs to.
        code: Its two-digit code, e.g. ``"01"``.
        label_en: Its English name.
        label_zh: Its Chinese name.
        source: Where it comes from.
    """

    tree: ClassificationTree = attrs.field(validator=v.instance_of(ClassificationTree))
    code: str = attrs.field(validator=two_digits)
    label_en: str = attrs.field(validator=v.text(100))
    label_zh: str = attrs.field(validator=v.text(100))
    source: str = attrs.field(default="", validator=v.text(300, allow_empty=True))


CSV_COLUMNS = (
    "code",
    "tree",
    "major",
    "minor",
    "label_en",
    "label_zh",
    "department",
    "filing_condition",
    "closing_condition",
    "registration",
    "dispatch",
    "handling",
    "verification",
    "maps_to",
    "extends",
    "source",
)
"""The columns of a categories CSV file; only ``code`` is required (see ``read_category_rows``)."""

_STAGES = ("registration", "dispatch", "handling", "verification")


def read_category_rows(path: Path | str) -> Iterator[tuple[str, dict[str, object]]]:
    """Read a categories CSV file into TOML-shaped category tables, each with its row's path.

    Empty cells are left out, so a row may ``extends`` another category or map to one
    (``maps_to``) and take its limits. The four stage columns hold limits such as
    ``"4 working_hours"``. Give the tables to
    :meth:`~gridgov.cases.catalogue.ServiceCatalogue.from_mapping` (or use
    :meth:`~gridgov.cases.catalogue.ServiceCatalogue.from_csv`).

    Yields:
        ``("line 3", {...})`` for each data row.

    Raises:
        ValidationError: On an unknown or missing column, naming it, or a file that is not
            UTF-8 text.
    """
    file = Path(path)
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ValidationError("line 1", "no header row")
            names = [h.strip() for h in header]
            unknown = [n for n in names if n not in CSV_COLUMNS]
            if unknown:
                raise ValidationError(f"line 1.{unknown[0]}", "unknown column")
            if "code" not in names:
                raise ValidationError("line 1.code", "missing column")
            for number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(names):
                    raise ValidationError(f"line {number}", f"expected {len(names)} cells")
                table: dict[str, object] = {}
                limits: dict[str, object] = {}
                for name, cell in zip(names, row, strict=True):
                    if not cell.strip():
                        continue
                    if name in _STAGES:
                        limits[name] = cell.strip()
                    else:
                        table[name] = cell.strip()
                if limits:
                    table["limits"] = limits
                yield f"line {number}", table
    except UnicodeDecodeError:
        raise ValidationError("", "not UTF-8 text") from None
