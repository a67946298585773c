"""Third-party stores plug in by URL scheme through the ``gridgov.stores`` entry point group."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridgov.bootstrap import open_store
from gridgov.cli import main
from gridgov.errors import UnsupportedStoreError

_PLUGIN = """
from gridgov.adapters.memory import MemoryStore

OPENED = []


def open_store(url, *, scheme):
    OPENED.append(url)
    return MemoryStore(scheme)


def broken(url, *, scheme):
    raise RuntimeError("secret connection string " + url)
"""


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """Install a distribution whose entry points register ``fakedb``, ``brokendb``, ``gonedb``."""
    (tmp_path / "gridgov_fakedb.py").write_text(_PLUGIN, encoding="utf-8")
    info = tmp_path / "gridgov_fakedb-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gridgov-fakedb\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[gridgov.stores]\n"
        "fakedb = gridgov_fakedb:open_store\n"
        "brokendb = gridgov_fakedb:broken\n"
        "gonedb = gridgov_fakedb_missing:open_store\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("gridgov_fakedb", None)


def test_a_registered_scheme_opens_the_plug_ins_store(installed: Path) -> None:
    """open_store hands a registered scheme's URL to the plug-in and returns its store."""
    store = open_store("fakedb://ledger")
    with store() as uow:
        tree = uow.cells.tree()
    import gridgov_fakedb  # type: ignore[import-not-found]  # written by the fixture

    assert (["fakedb://ledger"], 0) == (gridgov_fakedb.OPENED, len(tree))


def test_the_command_takes_a_plug_in_url(
    installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--db takes a plug-in's URL wherever it takes a built-in one."""
    code = main(["load", "minggong", "--db", "fakedb://x", "--json", "--quiet"])
    loaded = json.loads(capsys.readouterr().out)["loaded"]
    assert (0, True) == (code, loaded)


def test_unknown_schemes_name_the_plugged_ones(installed: Path) -> None:
    """An unknown scheme's error lists the built-in schemes and the plug-ins installed."""
    with pytest.raises(UnsupportedStoreError) as info:
        open_store("nosuch://x")
    assert "'fakedb://'" in str(info.value)


def test_a_broken_plug_in_is_a_gridgov_error_without_the_url(installed: Path) -> None:
    """A plug-in that fails to load or to open names itself, never the URL or a traceback."""
    with pytest.raises(UnsupportedStoreError) as failed:
        open_store("brokendb://user:secret@host")
    with pytest.raises(UnsupportedStoreError) as missing:
        open_store("gonedb://x")
    assert "secret" not in str(failed.value)
    assert ("RuntimeError", "ModuleNotFoundError") == (
        str(failed.value).rsplit(" ", 1)[-1],
        str(missing.value).rsplit(" ", 1)[-1],
    )


def test_pool_keyword_arguments_reach_a_plug_in_in_its_url(installed: Path) -> None:
    """A plug-in takes a URL only: open_store's pool options join its query, over the URL's own."""
    open_store("fakedb://ledger?region=xa&pool_max_size=2", pool_max_size=8, pool_timeout=1.5)
    import gridgov_fakedb

    assert ["fakedb://ledger?region=xa&pool_max_size=8&pool_timeout=1.5"] == gridgov_fakedb.OPENED
