"""The JSON documents of the SQL adapters read back the same with orjson and the stdlib."""

import json

import pytest
from hypothesis import given

from gridgov import _json
from gridgov.grid import GridCell
from gridgov.households import Household
from gridgov.serialization import unstructure
from gridgov.testing import strategies as gst


@given(gst.households())
def test_household_documents_agree(household: Household) -> None:
    """A household document parses to the same data whichever backend wrote it."""
    data = unstructure(household)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == json.loads(_json.dumps(data))


@given(gst.grid_cells())
def test_cell_documents_with_boundaries_agree(cell: GridCell) -> None:
    """Boundary coordinates (floats) read back equal from either backend's text."""
    data = unstructure(cell)
    assert json.loads(json.dumps(data)) == _json.loads(_json.dumps(data))


def test_stdlib_fallback_when_orjson_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without orjson the module writes compact UTF-8 JSON with the standard library."""
    monkeypatch.setattr(_json, "orjson", None)
    assert '{"name":"明宫","n":[1,2.5]}' == _json.dumps({"name": "明宫", "n": [1, 2.5]})
    assert {"a": 1} == _json.loads('{"a": 1}')
