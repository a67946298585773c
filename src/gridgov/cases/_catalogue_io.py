"""Reading a service catalogue from TOML-shaped tables and CSV rows, with errors by row and field.

Kept apart from :mod:`gridgov.cases.catalogue` so that the catalogue's records and defaults stay
short; the catalogue's constructors import this module when called (it imports them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from gridgov.cases.catalogue import (
    DEFAULT_CATALOGUE,
    Category,
    ServiceCatalogue,
    Stage,
    TimeLimit,
)
from gridgov.cases.classification import ClassificationTree, MajorCategory, read_category_rows
from gridgov.errors import NotFoundError, ValidationError

__all__ = ["build", "from_csv", "from_mapping"]


def from_mapping(
    cls: type[ServiceCatalogue], data: Mapping[str, object], base: ServiceCatalogue | None
) -> ServiceCatalogue:
    """Return the catalogue of a TOML-shaped mapping; see ``ServiceCatalogue.from_mapping``."""
    if not isinstance(data, Mapping):
        raise ValidationError("", "expected a table")
    _no_unknown(data, {"categories", "majors"}, "")
    raw = data.get("categories", [] if base is not None else None)
    if not isinstance(raw, list):
        raise ValidationError("categories", "expected an array of tables")
    rows = [(f"categories[{i}]", entry) for i, entry in enumerate(raw)]
    return build(cls, rows, data.get("majors", []), base)


def from_csv(
    cls: type[ServiceCatalogue], path: Path | str, base: ServiceCatalogue | None
) -> ServiceCatalogue:
    """Return the catalogue of a categories CSV file; see ``ServiceCatalogue.from_csv``."""
    source = Path(path).name
    try:
        rows = list(read_category_rows(path))
        return build(cls, rows, [], base, csv=True)
    except ValidationError as exc:
        raise exc.from_source(source) from None
    except FileNotFoundError:
        raise NotFoundError("categories file", str(path)) from None


def build(
    cls: type[ServiceCatalogue],
    rows: Sequence[tuple[str, object]],
    raw_majors: object,
    base: ServiceCatalogue | None,
    *,
    csv: bool = False,
) -> ServiceCatalogue:
    """Return a ``cls`` of ``rows`` (each with the path errors name) and majors over ``base``.

    Raises:
        ValidationError: Naming the row's path (``categories[2]``, ``line 3``) and the field.
    """
    if not isinstance(raw_majors, list):
        raise ValidationError("majors", "expected an array of tables")
    own_majors = [_major_from(entry, f"majors[{i}]") for i, entry in enumerate(raw_majors)]
    known = {c.code: c for c in DEFAULT_CATALOGUE.categories}
    if base is not None:
        known.update((c.code, c) for c in base.categories)
    built: list[Category] = []
    for path, entry in rows:
        try:
            category = _category_from(entry, known, path)
        except ValidationError as exc:
            if csv:  # a CSV row has the stage as its own column
                exc = ValidationError(exc.path.replace(".limits.", "."), exc.problem)
            raise exc from None
        known[category.code] = category
        built.append(category)
    codes = {c.code for c in built}
    keys = {(m.tree, m.code) for m in own_majors}
    kept = [c for c in base.categories if c.code not in codes] if base is not None else []
    majors = [m for m in base.majors if (m.tree, m.code) not in keys] if base else []
    try:
        return cls((*kept, *built), majors=(*majors, *own_majors))
    except ValidationError as exc:
        raise _as_listed(exc, rows, len(kept), len(majors)) from None


_AT_INDEX = re.compile(r"(categories|majors)\[(\d+)\](.*)")


def _as_listed(
    exc: ValidationError, rows: Sequence[tuple[str, object]], kept: int, kept_majors: int
) -> ValidationError:
    """Name a problem of the merged catalogue by the row the caller listed, not the merge."""
    m = _AT_INDEX.fullmatch(exc.path)
    if m is None:
        return exc
    index = int(m[2]) - (kept if m[1] == "categories" else kept_majors)
    if index < 0:  # the base's own entry: keep the merged path
        return exc
    where = rows[index][0] if m[1] == "categories" else f"majors[{index}]"
    return ValidationError(f"{where}{m[3]}", exc.problem)


def _major_from(entry: object, path: str) -> MajorCategory:
    if not isinstance(entry, Mapping):
        raise ValidationError(path, "expected a table")
    _no_unknown(entry, {"tree", "code", "label_en", "label_zh", "source"}, path)
    fields = dict(entry)
    tree = next((t for t in ClassificationTree if t.value == fields.get("tree")), None)
    if tree is None:
        trees = ", ".join(t.value for t in ClassificationTree)
        raise ValidationError(f"{path}.tree", f"expected one of {trees}")
    fields["tree"] = tree
    try:
        return MajorCategory(**fields)
    except ValidationError as exc:
        raise exc.within(path) from None
    except TypeError:
        missing = sorted({"code", "label_en", "label_zh"} - set(fields))
        raise ValidationError(f"{path}.{missing[0] if missing else ''}", "missing") from None


_CATEGORY_KEYS = {
    "code",
    "label_en",
    "label_zh",
    "source",
    "emergency",
    "limits",
    "extends",
    "tree",
    "major",
    "minor",
    "filing_condition",
    "closing_condition",
    "department",
    "maps_to",
}


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
    target_code = entry.get("maps_to")
    if target_code is not None:
        if not isinstance(target_code, str) or target_code not in known:
            raise ValidationError(f"{path}.maps_to", "no such category (list it before)")
        if "limits" not in entry:
            fields["limits"].update(known[target_code].limits)
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
    if "tree" in entry:
        tree = next((t for t in ClassificationTree if t.value == entry["tree"]), None)
        if tree is None:
            trees = ", ".join(t.value for t in ClassificationTree)
            raise ValidationError(f"{path}.tree", f"expected one of {trees}")
        fields["tree"] = tree
    try:
        return Category(**fields)
    except ValidationError as exc:
        raise exc.within(path) from None
    except TypeError:
        missing = sorted({"code", "label_en", "label_zh"} - set(fields))
        raise ValidationError(f"{path}.{missing[0] if missing else ''}", "missing") from None
