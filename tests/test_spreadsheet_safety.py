"""Exports opened in a spreadsheet: no cell runs as a formula, and every text reads back."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gridgov
from gridgov import Address, Household, Resident
from gridgov._spreadsheet import cell_in, cell_out
from gridgov.access import Redaction
from gridgov.care import ContactMethod
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.scenarios import read_households_csv, write_households_csv
from gridgov.scenarios.contacts_csv import read_contacts_csv, write_contacts_csv
from gridgov.scenarios.programme import (
    RegistrationRequest,
    read_registrations_csv,
    write_registrations_csv,
)

CELL = "610102003006001001"
HOSTILE = (
    '=HYPERLINK("http://x","a")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "'=quoted",
    "'plain",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cells(path: Path) -> list[str]:
    """Return every cell of a CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def hostile_households() -> list[Household]:
    """Return households whose addresses and residents' names look like formulas."""
    return [
        Household(
            f"h{i}",
            CELL,
            Address(text, unit="1", room="101"),
            members=(Resident(f"r{i}", text),),
        )
        for i, text in enumerate(HOSTILE)
    ]


@pytest.mark.parametrize("redaction", [Redaction.FULL, Redaction.MASKED])
def test_the_households_export_starts_no_cell_with_a_formula(
    tmp_path: Path, redaction: Redaction
) -> None:
    """Full or masked, no cell of the households CSV begins with = + - @ tab or CR."""
    path = tmp_path / "households.csv"
    write_households_csv(hostile_households(), path, redaction=redaction)
    written = cells(path)
    assert [] == [c for c in written if c.startswith(FORMULA_START)]
    assert '\'=HYPERLINK("http://x","a")' in written or redaction is Redaction.MASKED


def test_the_households_export_reads_back_as_written(tmp_path: Path) -> None:
    """The apostrophes come off again: the full export loads the same households."""
    path = tmp_path / "households.csv"
    households = hostile_households()
    write_households_csv(households, path, redaction=Redaction.FULL)
    assert households == list(read_households_csv(path))


def test_the_contacts_export_is_safe_and_reads_back(tmp_path: Path) -> None:
    """Contact notes that look like formulas are neutralised and read back as written."""
    home = hostile_households()[0]
    at = pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai")
    contacts = [
        ContactAttempt(f"c{i}", "r0", "h0", CELL, ContactMethod.PHONE, Outcome.WELL, "w1", at, text)
        for i, text in enumerate(HOSTILE)
    ]
    path = tmp_path / "contacts.csv"
    write_contacts_csv(contacts, path)
    assert [] == [c for c in cells(path) if c.startswith(FORMULA_START)]
    assert contacts == list(read_contacts_csv(path, {"r0": home}))


@given(st.text())
def test_a_cell_reads_back_as_written(text: str) -> None:
    """For any text, reading the written cell gives the text; it never starts a formula."""
    written = cell_out(text)
    assert (text, False) == (cell_in(written), written.startswith(FORMULA_START))


def test_the_registrations_export_is_safe_and_reads_back(tmp_path: Path) -> None:
    """Ids as near a formula as an id may be (no id begins with one) write safely and read back."""
    at = pendulum.datetime(2026, 12, 2, 9, 30, tz="Asia/Shanghai")
    rows = [
        RegistrationRequest(series, at, resident, at.subtract(days=3))
        for series, resident in [("0-1", "1e-3"), ("9-9:1", "2.5-1")]
    ]
    path = tmp_path / "registrations.csv"
    write_registrations_csv(rows, path)
    assert [] == [c for c in cells(path) if c.startswith(FORMULA_START)]
    assert rows == list(read_registrations_csv(path))


def test_every_csv_writer_is_one_of_the_tested_and_writes_safely() -> None:
    """CSV is written only through SafeCsvWriter, and only by the writers this file tests."""
    package = Path(gridgov.__file__).parent
    writers: set[str] = set()
    raw: list[str] = []
    for module in sorted(package.rglob("*.py")):
        source = module.read_text(encoding="utf-8")
        writers |= set(re.findall(r"^def (write_\w*csv)\(", source, re.MULTILINE))
        if module.name != "_spreadsheet.py" and re.search(r"csv\.(writer|DictWriter)\(", source):
            raw.append(module.name)
    assert ({"write_contacts_csv", "write_households_csv", "write_registrations_csv"}, []) == (
        writers,
        raw,
    )
