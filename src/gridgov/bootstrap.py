"""Open a store from a URL: the one place that picks an adapter."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from gridgov.codes import DEFAULT_SCHEME, CodeScheme
from gridgov.errors import ConflictError, GridgovError, UnsupportedStoreError
from gridgov.identity import IdKey, check_id_key
from gridgov.ports import Store

if TYPE_CHECKING:
    from gridgov.adapters._pool import PoolParameters

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


def open_store(
    url: str = "memory://",
    *,
    scheme: CodeScheme | None = None,
    pool_max_size: int | None = None,
    pool_min_size: int | None = None,
    pool_max_idle: float | None = None,
    pool_timeout: float | None = None,
    statement_timeout: float | None = None,
    id_key: IdKey | None = None,
) -> Store:
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

    The SQL stores pool their connections: ``pool_max_size``, ``pool_min_size``,
    ``pool_max_idle``, ``pool_timeout`` and ``statement_timeout`` are read from the URL's query
    (``sqlite:///ledger.db?pool_max_size=4&statement_timeout=15``) or given as keyword arguments,
    which override the URL's. They are checked for every URL; the in-memory store, which has no
    connections, ignores them, and a plug-in finds the keyword arguments in its URL's query.

    Args:
        url: Where the data lives.
        scheme: The code scheme cell codes must follow; ``None``: the one the store's settings
            keep (:attr:`gridgov.settings.Settings.scheme`), else the statistical default.
        pool_max_size: Connections open at most (10 by default).
        pool_min_size: Connections kept open however quiet the store (1 by default).
        pool_max_idle: Seconds an idle connection above the minimum stays open (60 by default).
        pool_timeout: Seconds a unit of work waits for a connection when all are borrowed (30
            by default), then a StorageError.
        statement_timeout: Seconds a statement may run before it is stopped with a
            StorageError (0, the default: no limit).
        id_key: The deployment's key for the digests of ID numbers (:mod:`gridgov.identity`),
            never kept in the store; ``None``: no digests, and no finding people by ID number.
            A plug-in is given it as ``id_key=`` when it is not ``None``.

    Returns:
        The open store.

    Raises:
        ConflictError: If ``scheme`` is not the code scheme the store keeps.
        UnsupportedStoreError: If the URL's scheme is not supported.
        ValidationError: If a pool option is out of range, or a ``pool_`` query parameter is
            unknown, naming it.
    """
    store = _opened(
        url,
        scheme or DEFAULT_SCHEME,
        pool_max_size,
        pool_min_size,
        pool_max_idle,
        pool_timeout,
        statement_timeout,
        check_id_key(id_key),
    )
    kept = _kept_scheme(store)
    if kept is None or kept == store.scheme:
        return store
    store.close()
    if scheme is not None:
        raise ConflictError(
            f"the store's cells follow the code scheme {kept.name!r}, not {scheme.name!r}: "
            "open it with its own scheme, or with none"
        )
    return open_store(
        url,
        scheme=kept,
        pool_max_size=pool_max_size,
        pool_min_size=pool_min_size,
        pool_max_idle=pool_max_idle,
        pool_timeout=pool_timeout,
        statement_timeout=statement_timeout,
        id_key=id_key,
    )


def _kept_scheme(store: Store) -> CodeScheme | None:
    """Return the code scheme the store's settings keep, if any."""
    from gridgov.settings import stored_settings

    try:
        with store() as uow:
            settings = stored_settings(uow)
    except BaseException:
        store.close()
        raise
    return None if settings is None else settings.scheme


def _opened(
    url: str,
    scheme: CodeScheme,
    pool_max_size: int | None,
    pool_min_size: int | None,
    pool_max_idle: float | None,
    pool_timeout: float | None,
    statement_timeout: float | None,
    id_key: IdKey | None,
) -> Store:
    if not isinstance(url, str):
        raise UnsupportedStoreError("a store URL is a string such as 'memory://'")
    parts = urlsplit(url)
    kind = parts.scheme
    from gridgov.adapters._pool import pool_options  # light: no adapter, no driver

    given: PoolParameters = {}
    for name, value in (
        ("pool_max_size", pool_max_size),
        ("pool_min_size", pool_min_size),
        ("pool_max_idle", pool_max_idle),
        ("pool_timeout", pool_timeout),
        ("statement_timeout", statement_timeout),
    ):
        if value is not None:
            given[name] = value  # type: ignore[literal-required]  # the names above
    options, _ = pool_options(parse_qsl(parts.query), given)  # checked for every store
    if kind == "memory":
        from gridgov.adapters.memory import MemoryStore

        return MemoryStore(scheme, id_key=id_key)
    if kind == "sqlite":
        from gridgov.adapters.sqlite import SqliteStore

        if parts.netloc:
            raise UnsupportedStoreError("a SQLite URL has no host: use sqlite:///relative/path")
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return SqliteStore(path or None, scheme=scheme, id_key=id_key, **attrs.asdict(options))
    if kind in ("postgresql", "postgres"):
        try:
            from gridgov.adapters.postgres import PostgresStore
        except ImportError as exc:
            raise UnsupportedStoreError(str(exc)) from None
        return PostgresStore(url, scheme=scheme, id_key=id_key, **given)
    if kind in ("mysql", "mariadb"):
        try:
            from gridgov.adapters.mysql import MysqlStore
        except ImportError as exc:
            raise UnsupportedStoreError(str(exc)) from None
        return MysqlStore(url, scheme=scheme, id_key=id_key, **given)
    if given:  # a plug-in takes a URL only: the keyword arguments join its query
        kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in given]
        added = [(k, str(v)) for k, v in given.items()]
        url = urlunsplit(parts._replace(query=urlencode([*kept, *added])))
    opener = _plug_in(kind)
    if opener is None:
        plugged = sorted({p.name for p in entry_points(group=STORE_ENTRY_POINTS)} - {kind})
        others = "".join(f", '{name}://'" for name in plugged if name not in _BUILT_IN)
        raise UnsupportedStoreError(
            f"unsupported store URL scheme {kind!r}; supported: 'memory://', 'sqlite://', "
            f"'postgresql://', 'mysql://', 'mariadb://'{others}"
        )
    try:
        keyed = {} if id_key is None else {"id_key": id_key}
        store: Store = cast(Any, opener)(url, scheme=scheme, **keyed)
    except GridgovError:
        raise
    except Exception as exc:  # the plug-in's own failure: named, never a raw traceback
        raise UnsupportedStoreError(
            f"the store plug-in for {kind!r} could not open the URL: {type(exc).__name__}"
        ) from None
    if not callable(store):
        raise UnsupportedStoreError(f"the store plug-in for {kind!r} returned no store")
    return store
