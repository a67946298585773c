"""What a new SQL dialect is written against: gridgov's SQL engine, public and stable.

gridgov's SQL stores are one engine driven by the record-kind declarations of
:mod:`gridgov.records`: the tables, indexes and migrations, the rows written for each record and
every repository come from it. A dialect only says how its database differs:

- :class:`SqlTypes`: how it spells each column type and which index features it has; the DDL of
  every schema version follows (:func:`declared_migrations`);
- a :class:`Dialect`: its placeholders, how a write transaction begins, a lock for migrations,
  the fastest bulk insert, and its driver's errors as gridgov errors;
- nothing per query: every port query that reads one declared index is a scan of it, which
  the engine turns into one statement; :func:`statement_of` shows the statement a query runs,
  for ``EXPLAIN``;
- a store: a :class:`PooledSqlStore` subclass that opens connections (and, to honour a
  ``statement_timeout``, limits them); the pool (:class:`PoolOptions`) is the base class's.

docs/writing-a-storage-adapter.md walks through one; ``gridgov.adapters.sqlite``,
``gridgov.adapters.postgres`` and ``gridgov.adapters.mysql`` are three.
"""

from gridgov.adapters._ddl import SqlTypes, create_table, declared_migrations
from gridgov.adapters._pool import (
    POOL_PARAMETERS,
    PoolOptions,
    PoolStatus,
    pool_options,
    statement_timed_out,
)
from gridgov.adapters._sql import (
    SCHEMA_VERSION_TABLE,
    Connection,
    Dialect,
    PooledSqlStore,
    SqlUnitOfWork,
    migrate,
    table_names,
)
from gridgov.adapters._sql_engine import statement_of
from gridgov.adapters._sql_steps import recompute

__all__ = [
    "POOL_PARAMETERS",
    "SCHEMA_VERSION_TABLE",
    "Connection",
    "Dialect",
    "PoolOptions",
    "PoolStatus",
    "PooledSqlStore",
    "SqlTypes",
    "SqlUnitOfWork",
    "create_table",
    "declared_migrations",
    "migrate",
    "pool_options",
    "recompute",
    "statement_of",
    "statement_timed_out",
    "table_names",
]
