"""The SQL stores' document codec: the trusted fast path agrees with the validating converter."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridgov.adapters import _codec
from gridgov.adapters.sqlite import SqliteDialect, SqliteStore
from gridgov.care.contacts import ContactAttempt, Outcome
from gridgov.care.policy import ContactMethod
from gridgov.errors import StorageError
from gridgov.grid import GridCell, GridLevel
from gridgov.households import Address, Household, Resident
from gridgov.serialization import make_converter
from gridgov.testing import strategies as gst

FAST = settings(max_examples=25, deadline=None)
RECORDS = st.one_of(
    gst.grid_cells(),
    gst.workers(),
    gst.households(),
    gst.contact_attempts(),
    gst.care_tasks(),
    gst.cases(),
    gst.deployment_settings(),
    gst.venues(),
    gst.activity_series(),
    gst.registrations(),
    gst.shifts(),
    gst.signups(),
    gst.audit_entries(),
)


def _stored(record: Any) -> Any:
    return attrs.evolve(record, version=3)


def _instants(value: object) -> list[tuple[object, ...]]:
    """Return every instant in ``value`` with its zone and fold, which ``==`` does not compare."""
    found: list[tuple[object, ...]] = []
    if isinstance(value, dt.datetime):
        found.append((value, repr(value.tzinfo), value.fold, value.utcoffset()))
    elif attrs.has(cls := type(value)):
        for f in attrs.fields(cls):
            found.extend(_instants(getattr(value, f.name)))
    elif isinstance(value, tuple | list | frozenset):
        for item in sorted(value, key=repr) if isinstance(value, frozenset) else value:
            found.extend(_instants(item))
    return found


@FAST
@given(RECORDS)
def test_trusted_decode_equals_validating_decode(record: Any) -> None:
    """Every kind of stored record decodes through the fast path equal to the validating one."""
    record = _stored(record)
    doc = _codec.encode(record)
    fast = _codec.decode(type(record), doc, 3)
    slow = _codec.decode_validated(type(record), doc, 3)
    assert (fast, _instants(fast)) == (slow, _instants(slow)) == (record, _instants(slow))


@FAST
@given(RECORDS)
def test_trusted_builder_takes_every_generated_record(record: Any) -> None:
    """The fast path builds every valid document itself, without falling back."""
    record = _stored(record)
    built = _codec._READER.record(type(record))(json.loads(_codec.encode(record)), 3)
    assert built == record


@FAST
@given(RECORDS)
def test_generated_writer_gives_the_converters_document(record: Any) -> None:
    """The generated writers produce the converter's JSON text, byte for byte."""
    record = _stored(record)
    assert _codec.encode(record) == _codec.encode_validated(record)


@FAST
@given(gst.aware_datetimes(dt.datetime(1900, 1, 2), dt.datetime(2100, 12, 30)))
def test_trusted_instant_keeps_zone_offset_and_fold(instant: pendulum.DateTime) -> None:
    """An instant read by the fast path has the validating path's zone, offset and fold."""
    contact = ContactAttempt(
        "c1", "r1", "h1", "610102", ContactMethod.PHONE, Outcome.WELL, "w1", instant
    )
    doc = _codec.encode(contact)
    fast = _codec.decode(ContactAttempt, doc, 1).at
    slow = _codec.decode_validated(ContactAttempt, doc, 1).at
    assert _instants(fast) == _instants(slow)


def _household() -> Household:
    return Household(
        "h1",
        "610102",
        Address("1号楼"),
        members=(Resident("r1", "张三", "61010219680304754X", phone="13800138000"),),
    )


def _doc(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_codec.encode(_household()))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "doc",
    [
        _doc(status="lost"),
        _doc(members=[{**_doc()["members"][0], "national_id": 610102196803047541}]),
        _doc(members=[{**_doc()["members"][0], "tags": "living_alone"}]),
        _doc(address={"line": "1号楼", "unit": None, "room": None, "floor": 3}),
        _doc(extra=1),
        {k: v for k, v in _doc().items() if k != "address"},
    ],
    ids=[
        "unknown-status",
        "id-number-not-string",
        "tags-not-list",
        "unknown-key",
        "extra-top-key",
        "missing-key",
    ],
)
def test_corrupt_document_raises_storage_error(doc: dict[str, Any]) -> None:
    """A corrupt household document raises StorageError through the fast path, not a raw error."""
    with pytest.raises(StorageError, match="stored Household does not validate"):
        _codec.decode(Household, json.dumps(doc), 1)


@FAST
@given(RECORDS)
def test_utf8_bytes_decode_like_text(record: Any) -> None:
    """A document read as its UTF-8 bytes (SQLite's BLOB, PostgreSQL's loader) decodes alike."""
    record = _stored(record)
    doc = _codec.encode(record)
    assert _codec.decode(type(record), doc.encode(), 3) == _codec.decode(type(record), doc, 3)


def test_sqlite_reads_selected_documents_as_bytes() -> None:
    """SQLite's dialect casts a selected document to a BLOB and leaves writes of it alone."""
    dialect = SqliteDialect()
    assert dialect.sql("SELECT h.version, h.doc FROM gg_households h") == (
        "SELECT h.version, CAST(h.doc AS BLOB) FROM gg_households h"
    )
    assert dialect.sql("SELECT version, doc FROM gg_cells WHERE code = ?") == (
        "SELECT version, CAST(doc AS BLOB) FROM gg_cells WHERE code = ?"
    )
    update = "UPDATE gg_cells SET version = version + 1, doc = ? WHERE code = ?"
    assert dialect.sql(update) == update


def test_text_that_is_not_json_raises_storage_error() -> None:
    """A stored document that is not JSON raises StorageError."""
    with pytest.raises(StorageError, match="stored Household is not a JSON document"):
        _codec.decode(Household, '{"id": ', 1)


def test_document_missing_a_defaulted_key_falls_back() -> None:
    """A document without a key that has a default (an older gridgov's) still decodes."""
    data = _doc()
    del data["forwarding"]
    assert _codec.decode(Household, json.dumps(data), 2) == attrs.evolve(_household(), version=2)


def test_corrupt_household_in_store_raises_storage_error(tmp_path: Path) -> None:
    """A household whose stored status was corrupted raises StorageError on a subtree read."""
    store = SqliteStore(tmp_path / "corrupt.db")
    with store() as uow:
        uow.cells.add(GridCell("610102", "新城区", GridLevel.DISTRICT))
        uow.households.add(_household())
        uow.commit()
    conn = sqlite3.connect(tmp_path / "corrupt.db")
    with conn:
        conn.execute("""UPDATE gg_households SET doc = json_set(doc, '$.status', 'lost')""")
    conn.close()
    with store() as uow, pytest.raises(StorageError, match="stored Household does not validate"):
        uow.households.in_subtree("610102")
    store.close()


def test_first_use_from_many_threads_builds_the_same_records() -> None:
    """Threads that generate the codec's functions at the same time all get working ones."""
    reader = _codec._Reader(make_converter())
    writer = _codec._Writer(make_converter())
    household = attrs.evolve(_household(), version=1)
    start = threading.Barrier(8)

    def round_trip() -> Household:
        start.wait()
        data = writer.record(Household)(household)
        built: Household = reader.record(Household)(json.loads(json.dumps(data)), 1)
        return built

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: round_trip(), range(8)))
    assert results == [household] * 8
