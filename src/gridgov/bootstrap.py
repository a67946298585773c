"""Open a store from a URL: the one place that picks an adapter."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol, cast
from urllib.parse import urlsplit

from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import GridgovError, UnsupportedStoreError
from gridgov.ports import Store

__all__ = ["STORE_ENTRY_POINTS", "StoreOpener", "open_store"]

STORE_ENTRY_POINTS = "gridgov.stores"
"""The entry point group a third-party store registers its URL scheme in.

In the plug-in's ``pyproject.toml``::

    [project.entry-points."gridgov.stores"]
    dameng = "gridgov_dameng:open_store"

``open_store("dameng://...")`` (and the command's ``--db``) then calls
``gridgov_dameng.open_store(url, scheme=...)``.
"""

_BUILT_IN = ("memory", "sqlite", "postgresql", "postgres", "mysql", "mariadb")


class StoreOpener(Protocol):
    """What a store plug-in's entry point is: a callable opening its URLs."""

    def __call__(self, url: str, *, scheme: CodeScheme) -> Store:
        """Open the store at ``url``, checking cell codes against ``scheme``."""
        ...


def _plug_in(kind: str) -> StoreOpener | None:
    """Return the opener a distribution registered for the URL scheme ``kind``, if any."""
    for point in entry_points(group=STORE_ENTRY_POINTS, name=kind):
        try:
            opener = point.load()
        except Exception as exc:  # a broken plug-in names itself, not a traceback
            raise UnsupportedStoreError(
                f"the store plug-in for {kind!r} ({point.value}) failed to load: "
                f"{type(exc).__name__}"
            ) from None
        if not callable(opener):
            raise UnsupportedStoreError(f"the store plug-in for {kind!r} is not callable")
        return cast(StoreOpener, opener)
    return None


def open_store(url: str = "memory://", *, scheme: CodeScheme = DEFAULT_SCHEME) -> Store:
    """Open the store at ``url`` and return it; calling the store gives a unit of work.

    URLs follow SQLAlchemy's conventions:

    - ``memory://``: the in-memory store (the fake for tests).
    - ``sqlite:///ledger.db`` (relative path), ``sqlite:////var/lib/gridgov/ledger.db``
      (absolute path): a SQLite file, created and upgraded as needed.
    - ``sqlite://``: a private temporary SQLite database, deleted when the store closes.
    - ``postgresql://user@host:5432/dbname``: PostgreSQL (extra ``postgres``).
    - ``mysql://user@host:3306/dbname`` or ``mariadb://...``: MariaDB or MySQL (extra
      ``mysql``); the database is created if missing.
    - any other scheme a third-party distribution registers in the entry point group
      :data:`STORE_ENTRY_POINTS` (``gridgov.stores``).

    Args:
        url: Where the data lives.
        scheme: The code scheme cell codes must follow.

    Returns:
        The open store.

    Raises:
        UnsupportedStoreError: If the URL's scheme is not supported.
    """
    if not isinstance(url, str):
        raise UnsupportedStoreError("a store URL is a string such as 'memory://'")
    parts = urlsplit(url)
    kind = parts.scheme
    if kind == "memory":
        from gridgov.adapters.memory import MemoryStore

        return MemoryStore(scheme)
    if kind == "sqlite":
        from gridgov.adapters.sqlite import SqliteStore

        if parts.netloc:
            raise UnsupportedStoreError("a SQLite URL has no host: use sqlite:///relative/path")
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return SqliteStore(path or None, scheme=scheme)
    if kind in ("postgresql", "postgres"):
        try:
            from gridgov.adapters.postgres import PostgresStore
        except ImportError as exc:
            raise UnsupportedStoreError(str(exc)) from None
        return PostgresStore(url, scheme=scheme)
    if kind in ("mysql", "mariadb"):
        try:
            from gridgov.adapters.mysql import MysqlStore
        except ImportError as exc:
            raise UnsupportedStoreError(str(exc)) from None
        return MysqlStore(url, scheme=scheme)
    opener = _plug_in(kind)
    if opener is None:
        plugged = sorted({p.name for p in entry_points(group=STORE_ENTRY_POINTS)} - {kind})
        others = "".join(f", '{name}://'" for name in plugged if name not in _BUILT_IN)
        raise UnsupportedStoreError(
            f"unsupported store URL scheme {kind!r}; supported: 'memory://', 'sqlite://', "
            f"'postgresql://', 'mysql://', 'mariadb://'{others}"
        )
    try:
        store = opener(url, scheme=scheme)
    except GridgovError:
        raise
    except Exception as exc:  # the plug-in's own failure: named, never a raw traceback
        raise UnsupportedStoreError(
            f"the store plug-in for {kind!r} could not open the URL: {type(exc).__name__}"
        ) from None
    if not callable(store):
        raise UnsupportedStoreError(f"the store plug-in for {kind!r} returned no store")
    return store
