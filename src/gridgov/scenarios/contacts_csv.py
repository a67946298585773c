"""The contacts CSV format: a scenario's contact history, one attempt per row.

Columns: ``id, resident_id, method, outcome, by, at, notes``. ``at`` is an ISO 8601 instant with
its offset (``2026-11-27T10:00:00+08:00``); the household and cell come from the ledger.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._spreadsheet import SafeCsvWriter, cell_in
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import ContactMethod
from gridgov.errors import Problem, ValidationError
from gridgov.households import Household
from gridgov.scenarios._csv import opened_csv
from gridgov.serialization import structure

__all__ = ["CONTACT_COLUMNS", "read_contacts_csv", "write_contacts_csv"]

CONTACT_COLUMNS = ("id", "resident_id", "method", "outcome", "by", "at", "notes")
_MAX_PROBLEMS = 100


@attrs.frozen
class _Row:
    id: str = attrs.field(validator=v.identifier)
    resident_id: str = attrs.field(validator=v.identifier)
    method: ContactMethod
    outcome: Outcome
    by: str = attrs.field(validator=v.identifier)
    at: pendulum.DateTime
    notes: str = ""


def read_contacts_csv(
    path: Path | str, owners: Mapping[str, Household], *, source: str | None = None
) -> Iterator[ContactAttempt]:
    """Read contacts, placing each in its resident's household and cell.

    Args:
        path: The CSV file.
        owners: The household of every known resident, by resident id.
        source: The name used in errors (the file name by default).

    Returns:
        The contacts, in file order.

    Raises:
        ValidationError: Naming ``line N.column`` for every bad row (unknown residents included),
            after reading the whole file; nothing is yielded from a bad file.
    """
    file = Path(path)
    name = source or file.name
    contacts: list[ContactAttempt] = []
    problems: list[Problem] = []
    with opened_csv(file, name) as handle:
        _read_rows(csv.DictReader(handle), name, owners, contacts, problems)
    if problems:
        raise ValidationError(problems[0][0], problems[0][1], source=name, problems=problems)
    return iter(contacts)


def _read_rows(
    reader: csv.DictReader[str],
    name: str,
    owners: Mapping[str, Household],
    contacts: list[ContactAttempt],
    problems: list[Problem],
) -> None:
    if tuple(reader.fieldnames or ()) != CONTACT_COLUMNS:
        raise ValidationError(
            "line 1", f"the header must be {', '.join(CONTACT_COLUMNS)}", source=name
        )
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        data = {k: cell_in(val) for k, val in row.items() if val not in (None, "")}
        try:
            parsed = structure(data, _Row)
        except ValidationError as exc:
            problems.extend((f"line {line}.{p}", m) for p, m in exc.problems)
            continue
        household = owners.get(parsed.resident_id)
        if household is None:
            problems.append((f"line {line}.resident_id", "unknown resident"))
        elif parsed.id in seen:
            problems.append((f"line {line}.id", "duplicate contact id"))
        else:
            seen.add(parsed.id)
            contacts.append(
                ContactAttempt(
                    parsed.id,
                    parsed.resident_id,
                    household.id,
                    household.cell_code,
                    parsed.method,
                    parsed.outcome,
                    parsed.by,
                    parsed.at,
                    parsed.notes,
                )
            )
        if len(problems) >= _MAX_PROBLEMS:
            return


def write_contacts_csv(contacts: Iterable[ContactAttempt], path: Path | str) -> int:
    """Write contacts that :func:`read_contacts_csv` reads back; return how many.

    The file is written to a temporary name first, so a failure leaves ``path`` untouched.
    """
    target = Path(path)
    temporary = target.with_name(target.name + ".tmp")
    count = 0
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = SafeCsvWriter(handle)
        writer.writerow(CONTACT_COLUMNS)
        for c in contacts:
            writer.writerow(
                (
                    c.id,
                    c.resident_id,
                    c.method.value,
                    c.outcome.value,
                    c.by,
                    c.at.isoformat(),
                    c.notes,
                )
            )
            count += 1
    os.replace(temporary, target)
    return count
