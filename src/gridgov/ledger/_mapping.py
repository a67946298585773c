"""Which column of a ledger sheet holds which field: header names, presets, mapping files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import attrs

from gridgov.errors import NotFoundError, ValidationError
from gridgov.households import Tag
from gridgov.ledger._values import CellValue, to_halfwidth

__all__ = ["FIELDS", "PRESETS", "ColumnMapping", "load_mapping"]

FIELDS = (
    "household_id",
    "resident_id",
    "cell_code",
    "address",
    "building",
    "unit",
    "room",
    "status",
    "forwarding_address",
    "forwarding_phone",
    "name",
    "national_id",
    "sex",
    "birth_date",
    "phone",
    "relationship",
    "living_arrangement",
    "tags",
    "health_flags",
    "ignore",
)
"""The fields a column can hold; ``ignore`` marks a column read by nobody (序号, 备注)."""

HOUSEHOLD_FIELDS = frozenset(
    {"household_id", "cell_code", "address", "building", "unit", "room", "status"}
    | {"forwarding_address", "forwarding_phone"}
)
RESIDENT_FIELDS = frozenset(FIELDS) - HOUSEHOLD_FIELDS - {"ignore"}

_ZH = {
    "household_id": ("户号", "户编号", "家庭编号", "户籍编号"),
    "resident_id": ("人员编号", "居民编号", "个人编号"),
    "cell_code": ("网格编码", "网格编号", "网格代码", "网格", "所属网格", "所属网格编码"),
    "address": ("地址", "住址", "家庭住址", "现住址", "居住地址", "小区", "小区名称", "院落"),
    "building": ("楼栋", "楼号", "楼栋号", "栋", "幢", "楼"),
    "unit": ("单元", "单元号"),
    "room": ("门牌号", "门牌", "房号", "房间号", "室", "户室号"),
    "status": ("居住状态", "户状态", "状态"),
    "forwarding_address": ("迁往地址", "外迁地址", "新地址"),
    "forwarding_phone": ("迁往联系电话", "外迁联系电话", "新联系电话"),
    "name": ("姓名", "居民姓名", "名字"),
    "national_id": ("身份证号", "身份证号码", "公民身份号码", "身份证", "证件号码"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "生日"),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式", "电话号码"),
    "relationship": ("与户主关系", "户主关系", "关系"),
    "living_arrangement": ("居住状况", "居住情况"),
    "tags": ("人员类别", "人员类型", "重点人群", "重点人群类别", "人群类别", "类别", "标签"),
    "health_flags": ("健康状况", "健康状态"),
    "ignore": ("序号", "备注"),
}
_EN = {
    "household_id": ("household id", "household"),
    "resident_id": ("resident id",),
    "cell_code": ("cell code", "cell", "grid"),
    "forwarding_address": ("forwarding address",),
    "forwarding_phone": ("forwarding phone",),
    "national_id": ("national id", "id number", "id card"),
    "sex": ("gender",),
    "birth_date": ("birth date", "date of birth", "birthday"),
    "phone": ("mobile", "telephone"),
    "living_arrangement": ("living arrangement",),
    "health_flags": ("health flags", "health"),
    "ignore": ("no", "no.", "note", "notes", "remarks"),
}


def header_key(value: CellValue) -> str:
    """Return a header cell as it is looked up: half-width, lower case, no spaces, no notes.

    ``* 身份证号（18位）`` and ``身份证号`` are the same header: a required-field star and a note in
    brackets are dropped, as are spaces and line breaks; ``_`` and ``-`` are spaces, so
    ``National ID`` is ``national_id``.
    """
    if not isinstance(value, str):
        return ""
    cleaned = re.sub(r"[(\[].*?[)\]]", "", to_halfwidth(value)).replace("*", "")
    return re.sub(r"[\s_\-]+", "_", cleaned.strip().lower()).strip("_")


def _table(*tables: Mapping[str, Sequence[str]], codes: bool) -> Mapping[str, str]:
    out = {field: field for field in FIELDS} if codes else {}
    for table in tables:
        for field, names in table.items():
            out.update({header_key(name): field for name in names})
    return MappingProxyType(out)


PRESETS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "zh": _table(_ZH, codes=False),
        "en": _table(_EN, codes=True),
        "auto": _table(_ZH, _EN, codes=True),
    }
)
"""The built-in header tables, header key to field.

- ``zh``: the headers of Chinese ledgers (台账): 户号, 姓名, 身份证号, 联系电话, 楼栋, 单元, 门牌号,
  人员类别, 备注 and their usual variants;
- ``en``: English headers and the column names of gridgov's households CSV (``household_id``,
  ``national_id``, ...);
- ``auto`` (the default): both.
"""


def _columns(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _tags(value: Mapping[str, Tag]) -> Mapping[str, Tag]:
    return MappingProxyType(dict(value))


@attrs.frozen
class ColumnMapping:
    """How to read a ledger workbook: which header means which field, and what a row lacks.

    Args:
        preset: The built-in header table to start from (a key of :data:`PRESETS`).
        columns: More headers, header text to field (one of :data:`FIELDS`); they win over the
            preset's.
        tags: More names of key-population tags, name to tag (``"独居老人": Tag.LIVING_ALONE``).
        cell: The cell (code or name) of a household whose rows name none.
        sheets: The sheets to read; ``()`` reads every sheet with a header row.
        header_row: The header's row number (1-based) when it should not be found
            automatically.

    Raises:
        ValidationError: On an unknown preset or field.
    """

    preset: str = attrs.field(default="auto")
    columns: Mapping[str, str] = attrs.field(factory=dict, converter=_columns)
    tags: Mapping[str, Tag] = attrs.field(factory=dict, converter=_tags)
    cell: str | None = None
    sheets: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    header_row: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValidationError("preset", f"not one of {', '.join(PRESETS)}")
        for header, field in self.columns.items():
            if field not in FIELDS:
                raise ValidationError(f"columns.{header}", "not a field gridgov knows")
        if self.header_row is not None and self.header_row < 1:
            raise ValidationError("header_row", "a row number is at least 1")

    def headers(self) -> dict[str, str]:
        """Return the header table in use: header key to field."""
        return {**PRESETS[self.preset], **{header_key(h): f for h, f in self.columns.items()}}


_KEYS = frozenset({"preset", "columns", "tags", "cell", "sheets", "header_row"})


def load_mapping(path: Path | str) -> ColumnMapping:
    """Read a mapping file (TOML), such as this one.

    ::


        preset = "zh"                  # optional: zh, en or auto (the default)
        cell = "610102003006001"       # optional: the cell of rows that name none
        sheets = ["居民信息"]           # optional: the sheets to read
        header_row = 3                 # optional: no automatic search
        [columns]                      # header as written -> field
        "户主姓名" = "name"
        "所在楼栋" = "building"
        "备注" = "ignore"
        [tags]                         # more tag names -> tag code
        "独居老人" = "living_alone"

    Raises:
        NotFoundError: If the file does not exist.
        ValidationError: Naming the file and the key on a malformed file.
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError("file", str(file)) from None
    except (OSError, UnicodeDecodeError):
        raise ValidationError("", "cannot read the file as UTF-8 text", source=file.name) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("", f"TOML syntax error: {exc}", source=file.name) from None
    try:
        return _mapping(data)
    except ValidationError as exc:
        raise exc.from_source(file.name) from None


def _mapping(data: dict[str, object]) -> ColumnMapping:
    for key in data:
        if key not in _KEYS:
            raise ValidationError(key, "unknown key")
    preset = data.get("preset", "auto")
    cell = data.get("cell")
    header_row = data.get("header_row")
    sheets = data.get("sheets", [])
    if not isinstance(preset, str):
        raise ValidationError("preset", "expected a string")
    if cell is not None and not isinstance(cell, str):
        raise ValidationError("cell", "expected a string")
    if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int)):
        raise ValidationError("header_row", "expected a whole number")
    if not isinstance(sheets, list) or not all(isinstance(s, str) for s in sheets):
        raise ValidationError("sheets", "expected a list of sheet names")
    columns = _strings(data.get("columns", {}), "columns")
    tags = {}
    for name, code in _strings(data.get("tags", {}), "tags").items():
        try:
            tags[name] = Tag(code)
        except ValidationError as exc:
            raise exc.within(f"tags.{name}") from None
    return ColumnMapping(preset, columns, tags, cell, sheets, header_row)


def _strings(value: object, key: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValidationError(key, "expected a table of strings")
    return {str(k): v for k, v in value.items()}


SEARCHED = 20  # header rows lie above the data; titles and merged headers take a few rows


def find_header(
    rows: Sequence[Sequence[CellValue]], headers: Mapping[str, str], fixed: int | None
) -> tuple[int, list[str]] | None:
    """Return the header row's index in ``rows`` and its header keys, or ``None``.

    The header is the row, among the first 20, that names the most known fields (at least two);
    a cell it leaves empty takes the header of the row above, where a header merged over two
    rows keeps its text (a reader gives it to the top cell only).
    """
    best: tuple[int, int, list[str]] | None = None
    candidates = [fixed] if fixed is not None else range(min(len(rows), SEARCHED))
    for i in candidates:
        if i >= len(rows):
            continue
        above = rows[i - 1] if i > 0 else ()
        keys = [
            header_key(cell) or (header_key(above[j]) if j < len(above) else "")
            for j, cell in enumerate(rows[i])
        ]
        known = len({headers[k] for k in keys if k in headers} - {"ignore"})
        if known >= 2 and (best is None or known > best[0]):
            best = (known, i, keys)
    return None if best is None else (best[1], best[2])
