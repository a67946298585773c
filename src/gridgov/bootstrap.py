"""Open a store from a URL: the one place that picks an adapter."""

from __future__ import annotations

from urllib.parse import urlsplit

from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import UnsupportedStoreError
from gridgov.ports import Store

__all__ = ["open_store"]


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
    raise UnsupportedStoreError(
        f"unsupported store URL scheme {kind!r}; "
        "supported: 'memory://', 'sqlite://', 'postgresql://', 'mysql://', 'mariadb://'"
    )
