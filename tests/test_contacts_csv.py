"""The contacts CSV: round trip, bad rows named by line, encodings."""

from pathlib import Path

import pendulum
import pytest

from gridgov import Address, Household, Resident, ValidationError
from gridgov.care import ContactMethod
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.scenarios.contacts_csv import CONTACT_COLUMNS, read_contacts_csv, write_contacts_csv

HOME = Household("h1", "610102003006001001", Address("铁一村"), members=(Resident("r1", "田林"),))
OWNERS = {"r1": HOME}
AT = pendulum.datetime(2026, 11, 27, 10, tz="Asia/Shanghai")
HEADER = ",".join(CONTACT_COLUMNS)


def test_round_trip(tmp_path: Path) -> None:
    """Written contacts read back equal, placed in their household and cell."""
    contacts = [
        ContactAttempt(
            "c1",
            "r1",
            "h1",
            HOME.cell_code,
            ContactMethod.PHONE,
            Outcome.EVASIVE,
            "w1",
            AT,
            "语气不对",
        ),
        ContactAttempt(
            "c2",
            "r1",
            "h1",
            HOME.cell_code,
            ContactMethod.HOME_VISIT,
            Outcome.WELL,
            "w1",
            AT.add(hours=2),
        ),
    ]
    path = tmp_path / "contacts.csv"
    assert 2 == write_contacts_csv(contacts, path)
    assert contacts == list(read_contacts_csv(path, OWNERS))


@pytest.mark.parametrize(
    ("row", "path"),
    [
        ("c1,nobody,phone,well,w1,2026-11-27T10:00:00+08:00,", "line 2.resident_id"),
        ("c1,r1,telepathy,well,w1,2026-11-27T10:00:00+08:00,", "line 2.method"),
        ("c1,r1,phone,well,w1,2026-11-27T10:00:00,", "line 2.at"),
    ],
    ids=["unknown-resident", "unknown-method", "naive-instant"],
)
def test_bad_rows_are_named_by_line(tmp_path: Path, row: str, path: str) -> None:
    """A bad row is reported by line and column, naming the file."""
    file = tmp_path / "contacts.csv"
    file.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        list(read_contacts_csv(file, OWNERS))
    assert (path, "contacts.csv") == (info.value.path, info.value.source)


def test_duplicate_ids_are_caught_when_reading(tmp_path: Path) -> None:
    """Two rows with one id are reported at the second row's line."""
    row = "c1,r1,phone,well,w1,2026-11-27T10:00:00+08:00,"
    file = tmp_path / "contacts.csv"
    file.write_text(f"{HEADER}\n{row}\n{row}\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        list(read_contacts_csv(file, OWNERS))
    assert ("line 3.id", "duplicate contact id") == (info.value.path, info.value.problem)


def test_byte_order_mark_is_accepted_and_other_encodings_refused(tmp_path: Path) -> None:
    """A UTF-8 file saved with a BOM reads; a GBK file is a ValidationError, not a traceback."""
    row = "c1,r1,phone,well,w1,2026-11-27T10:00:00+08:00,语气不对"
    bom = tmp_path / "bom.csv"
    bom.write_text(f"{HEADER}\n{row}\n", encoding="utf-8-sig")
    assert ["c1"] == [c.id for c in read_contacts_csv(bom, OWNERS)]
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(f"{HEADER}\n{row}\n".encode("gbk"))
    with pytest.raises(ValidationError) as info:
        list(read_contacts_csv(gbk, OWNERS))
    assert "not UTF-8 text" == info.value.problem


def test_a_missing_or_unreadable_file_is_a_gridgov_error(tmp_path: Path) -> None:
    """The public CSV readers name a missing file, and a folder given as one, never raw OSErrors."""
    from gridgov.errors import GridgovError, NotFoundError
    from gridgov.scenarios.components import read_components_csv

    outcomes: list[str] = []
    for read in (
        lambda p: list(read_contacts_csv(p, {})),
        lambda p: list(read_components_csv(p)),
    ):
        for path in (tmp_path / "missing.csv", tmp_path):
            try:
                read(path)
                outcomes.append("read")
            except NotFoundError:
                outcomes.append("not found")
            except GridgovError:
                outcomes.append("refused")
    assert ["not found", "refused"] * 2 == outcomes
