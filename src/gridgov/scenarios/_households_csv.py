"""The households CSV of a scenario: one row per resident, read and written."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from gridgov._spreadsheet import SafeCsvWriter, cells_in
from gridgov.access import Redaction
from gridgov.codes import PhoneNumber, mask_name
from gridgov.errors import Problem, ValidationError, join_path
from gridgov.households import Household
from gridgov.scenarios._csv import opened_csv
from gridgov.serialization import structure

__all__ = ["CSV_COLUMNS", "read_households_csv", "write_households_csv"]

CSV_COLUMNS = (
    "household_id",
    "cell_code",
    "address",
    "unit",
    "room",
    "status",
    "forwarding_address",
    "forwarding_phone",
    "resident_id",
    "name",
    "national_id",
    "birth_date",
    "sex",
    "phone",
    "relationship",
    "living_arrangement",
    "tags",
    "health_flags",
    "emergency_name",
    "emergency_phone",
    "emergency_relationship",
)
"""The columns of a households CSV file: one row per resident, household columns repeated."""

_HOUSEHOLD_COLUMNS = CSV_COLUMNS[:8]
_RESIDENT_COLUMNS = CSV_COLUMNS[8:]
_REQUIRED_COLUMNS = ("household_id", "cell_code", "address")
_MAX_PROBLEMS = 100  # enough to fix a file in one go without flooding the terminal


def _raise(problems: Sequence[Problem], source: str) -> None:
    if problems:
        path, problem = problems[0]
        raise ValidationError(path, problem, source=source, problems=problems)


def read_households_csv(path: Path | str, *, source: str | None = None) -> Iterator[Household]:
    """Stream the households of a CSV file (columns :data:`CSV_COLUMNS`).

    One row per resident, the household columns repeated on each of its rows and the rows of a
    household consecutive; a household without residents (vacant, moved out) has one row with
    the resident columns empty. An empty cell means the field is absent; ``tags`` and
    ``health_flags`` hold ``;``-separated codes. Only ``household_id``, ``cell_code`` and
    ``address`` columns are required. UTF-8, with or without a byte order mark.

    Args:
        path: The CSV file.
        source: The name errors give the file; its file name by default.

    Returns:
        An iterator over the households, read as it advances.

    Raises:
        NotFoundError: If the file does not exist (on iteration).
        ValidationError: After the last row, if any row is invalid: one error naming every
            problem (up to 100) as ``line N.column``.
    """
    file = Path(path)
    return _read_csv(file, source or file.name, None)


def _read_csv(
    file: Path, source: str, check: Callable[[Household], list[Problem]] | None
) -> Iterator[Household]:
    with opened_csv(file, source) as handle:
        reader = csv.reader(handle)
        try:  # the line a fault is on, which the shared opening cannot know
            yield from _CsvReader(
                cells_in(reader), lambda: reader.line_num, source, check
            ).households()
        except UnicodeDecodeError:
            raise ValidationError(
                f"line {reader.line_num + 1}", "not UTF-8 text", source=source
            ) from None
        except csv.Error as exc:
            # csv's messages describe the syntax ("line contains NUL"), not the data.
            raise ValidationError(
                f"line {reader.line_num}", f"malformed CSV: {exc}", source=source
            ) from None


class _CsvReader:
    """Groups the rows of a households CSV into households and collects every problem."""

    def __init__(
        self,
        reader: Iterator[list[str]],
        line: Callable[[], int],
        source: str,
        check: Callable[[Household], list[Problem]] | None,
    ) -> None:
        self.reader = reader
        self.line = line
        self.source = source
        self.check = check
        self.problems: list[Problem] = []
        self.seen: set[str] = set()
        self.columns: dict[str, int] = {}

    def households(self) -> Iterator[Household]:
        header = next(self.reader, None)
        if header is None:
            raise ValidationError("line 1", "empty file: expected a header row", source=self.source)
        self.read_header(header)
        id_at = self.columns["household_id"]
        group: list[tuple[int, list[str]]] = []
        for row in self.reader:
            if not any(row):  # blank line
                continue
            if len(row) != len(header):
                self.problems.append(
                    (f"line {self.line()}", f"{len(row)} fields where the header has {len(header)}")
                )
            elif group and row[id_at] != group[0][1][id_at]:
                yield from self.build(group)
                group = [(self.line(), row)]
            else:
                group.append((self.line(), row))
            if len(self.problems) >= _MAX_PROBLEMS:
                break
        if group and len(self.problems) < _MAX_PROBLEMS:
            yield from self.build(group)
        _raise(self.problems[:_MAX_PROBLEMS], self.source)

    def read_header(self, header: list[str]) -> None:
        problems: list[Problem] = []
        for i, name in enumerate(header):
            if name not in CSV_COLUMNS:
                # Not named: a file without a header row would put personal data in the message.
                problems.append(("line 1", f"column {i + 1} has an unknown name"))
            elif name in self.columns:
                problems.append((f"line 1.{name}", "duplicate column"))
            self.columns.setdefault(name, i)
        problems.extend(
            (f"line 1.{name}", "required column missing")
            for name in _REQUIRED_COLUMNS
            if name not in self.columns
        )
        _raise(problems, self.source)

    def get(self, row: list[str], column: str) -> str | None:
        i = self.columns.get(column)
        return (row[i] or None) if i is not None else None

    def build(self, group: list[tuple[int, list[str]]]) -> Iterator[Household]:
        """Yield the household of ``group``'s rows, or record its problems."""
        first_line, first = group[0]
        problems: list[Problem] = []
        household_id = first[self.columns["household_id"]]
        if household_id in self.seen:
            problems.append(
                (f"line {first_line}.household_id", "rows of a household must be consecutive")
            )
        self.seen.add(household_id)
        for line, row in group[1:]:
            problems.extend(
                (f"line {line}.{column}", "differs from the first row of the household")
                for column in _HOUSEHOLD_COLUMNS
                if self.get(row, column) != self.get(first, column)
            )
        with_resident = [(line, row) for line, row in group if self.has_resident(row)]
        if with_resident and len(with_resident) < len(group):
            problems.extend(
                (
                    f"line {line}.resident_id",
                    "a row without a resident in a household with residents",
                )
                for line, row in group
                if not self.has_resident(row)
            )
        lines = [line for line, _ in with_resident]
        data = self.household_data(first, [row for _, row in with_resident])
        try:
            household = structure(data, Household)
        except ValidationError as exc:
            problems.extend((_csv_path(p, first_line, lines), m) for p, m in exc.problems)
        else:
            # The ledger check would report a split household again as a duplicate.
            if self.check is not None and not problems:
                problems.extend(
                    (_csv_path(p, first_line, lines), m) for p, m in self.check(household)
                )
            if not problems:
                yield household
        self.problems.extend(problems)

    def has_resident(self, row: list[str]) -> bool:
        return any(self.get(row, column) for column in _RESIDENT_COLUMNS)

    def household_data(self, first: list[str], residents: list[list[str]]) -> dict[str, object]:
        get = self.get
        data: dict[str, object] = {
            "id": get(first, "household_id") or "",
            "cell_code": get(first, "cell_code") or "",
            "address": _present(
                line=get(first, "address") or "", unit=get(first, "unit"), room=get(first, "room")
            ),
        }
        status = get(first, "status")
        if status is not None:
            data["status"] = status
        forwarding = _present(
            address=get(first, "forwarding_address"), phone=get(first, "forwarding_phone")
        )
        if forwarding:
            forwarding.setdefault("address", "")
            data["forwarding"] = forwarding
        data["members"] = [self.resident_data(row) for row in residents]
        return data

    def resident_data(self, row: list[str]) -> dict[str, object]:
        get = self.get
        resident = _present(
            id=get(row, "resident_id") or "",
            name=get(row, "name") or "",
            national_id=get(row, "national_id"),
            birth_date=get(row, "birth_date"),
            sex=get(row, "sex"),
            phone=get(row, "phone"),
            relationship=get(row, "relationship"),
            living_arrangement=get(row, "living_arrangement"),
            tags=_split(get(row, "tags")),
            health_flags=_split(get(row, "health_flags")),
        )
        contact = _present(
            name=get(row, "emergency_name"),
            phone=get(row, "emergency_phone"),
            relationship=get(row, "emergency_relationship"),
        )
        if contact:
            contact.setdefault("name", "")
            resident["emergency_contacts"] = [contact]
        return resident


def _present(**fields: object) -> dict[str, object]:
    """Keep the fields that have a value: an empty CSV cell means the field is absent."""
    return {k: value for k, value in fields.items() if value is not None}


def _split(cell: str | None) -> list[str] | None:
    if cell is None:
        return None
    return [part.strip() for part in cell.split(";") if part.strip()]


# Where a field of the structured household sits in the CSV.
_HOUSEHOLD_FIELD_COLUMNS = {
    "id": "household_id",
    "cell_code": "cell_code",
    "address": "address",
    "address.line": "address",
    "address.unit": "unit",
    "address.room": "room",
    "status": "status",
    "forwarding": "forwarding_address",
    "forwarding.address": "forwarding_address",
    "forwarding.phone": "forwarding_phone",
    "members": "resident_id",
}
_RESIDENT_FIELD_COLUMNS = {
    "": "resident_id",
    "id": "resident_id",
    "emergency_contacts": "emergency_name",
    "emergency_contacts.name": "emergency_name",
    "emergency_contacts.phone": "emergency_phone",
    "emergency_contacts.relationship": "emergency_relationship",
    **{c: c for c in _RESIDENT_COLUMNS if c not in ("resident_id",)},
}
_MEMBER = re.compile(r"members\[(\d+)\]\.?(.*)")
_INDEX = re.compile(r"\[\d+\]")


def _csv_path(path: str, first_line: int, member_lines: Sequence[int]) -> str:
    """Translate a household path (``members[1].national_id``) to ``line N.column``."""
    m = _MEMBER.fullmatch(path)
    if m is not None and int(m[1]) < len(member_lines):
        line, rest = member_lines[int(m[1])], m[2]
        # tags[2] is the tags column; emergency_contacts[0].phone the emergency_phone column.
        column = _RESIDENT_FIELD_COLUMNS.get(_INDEX.sub("", rest))
    else:
        line, rest = first_line, path
        column = _HOUSEHOLD_FIELD_COLUMNS.get(path)
    return f"line {line}.{column}" if column else join_path(f"line {line}", rest)


def write_households_csv(
    households: Iterable[Household], path: Path | str, *, redaction: Redaction
) -> int:
    """Write households to a CSV file that :func:`read_households_csv` reads back as equal.

    The file is UTF-8 without a byte order mark, with newline line ends and sorted tag codes, so
    the same households always give the same bytes. It is written next to ``path`` and moved
    into place at the end: on an error, ``path`` is left as it was.

    Args:
        households: The households, streamed.
        path: The file to write.
        redaction: ``Redaction.FULL`` writes the ledger as stored (a file to load again);
            ``Redaction.MASKED`` masks names, ID numbers and phone numbers and leaves out units
            and rooms, for people who may not see personal data (the file no longer loads).

    Returns:
        The number of households written.

    Raises:
        ValidationError: If a household holds what the format cannot: more than one emergency
            contact for a resident, or a note on the forwarding contact.
    """
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = SafeCsvWriter(handle)
            writer.writerow(CSV_COLUMNS)
            for household in households:
                writer.writerows(_rows(household, count, target.name, redaction))
                count += 1
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return count


def _rows(household: Household, index: int, source: str, redaction: Redaction) -> list[list[str]]:
    full = redaction is Redaction.FULL

    def phone(p: PhoneNumber | None) -> str:
        return "" if p is None else p.value if full else p.masked

    def name(n: str) -> str:
        return n if full or not n else mask_name(n)

    forwarding = household.forwarding
    if forwarding is not None and forwarding.note:
        raise ValidationError(
            f"households[{index}].forwarding.note",
            "the CSV format has no column for it",
            source=source,
        )
    head = [
        household.id,
        household.cell_code,
        household.address.line,
        (household.address.unit or "") if full else "",
        (household.address.room or "") if full else "",
        household.status.value,
        (forwarding.address if full else "***") if forwarding is not None else "",
        phone(forwarding.phone) if forwarding is not None else "",
    ]
    if not household.members:
        return [head + [""] * len(_RESIDENT_COLUMNS)]
    rows = []
    for i, m in enumerate(household.members):
        if len(m.emergency_contacts) > 1:
            raise ValidationError(
                f"households[{index}].members[{i}].emergency_contacts",
                "the CSV format holds one emergency contact per resident",
                source=source,
            )
        contact = m.emergency_contacts[0] if m.emergency_contacts else None
        rows.append(
            [
                *head,
                m.id,
                name(m.name),
                (m.national_id.value if full else m.national_id.masked) if m.national_id else "",
                m.birth_date.isoformat() if m.birth_date else "",
                m.sex.value if m.sex else "",
                phone(m.phone),
                m.relationship,
                m.living_arrangement.value if m.living_arrangement else "",
                ";".join(sorted(t.code for t in m.tags)),
                ";".join(sorted(f.code for f in m.health_flags)),
                name(contact.name) if contact else "",
                phone(contact.phone) if contact else "",
                contact.relationship if contact else "",
            ]
        )
    return rows
