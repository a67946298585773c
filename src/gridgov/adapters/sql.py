"""What a new SQL dialect is written against: gridgov's SQL engine, public and stable.

gridgov's SQL stores are one engine driven by the record-kind declarations of
:mod:`gridgov.records`: the tables, indexes and migrations, the rows written for each record and
every repository come from it. A dialect only says how its database differs:

- :class:`SqlTypes`: how it spells each column type and which index features it has; the DDL of
  every schema version follows (:func:`declared_migrations`);
- a :class:`Dialect`: its placeholders, how a write transaction begins, a lock for migrations,
  the fastest bulk insert, and its driver's errors as gridgov errors;
- a store: a :class:`PooledSqlStore` subclass that opens connections.

docs/writing-a-storage-adapter.md walks through one; ``gridgov.adapters.sqlite``,
``gridgov.adapters.postgres`` and ``gridgov.adapters.mysql`` are three.
"""

from gridgov.adapters._ddl import SqlTypes, create_table, declared_migrations
from gridgov.adapters._sql import (
    SCHEMA_VERSION_TABLE,
    Connection,
    Dialect,
    PooledSqlStore,
    SqlUnitOfWork,
    migrate,
    table_names,
)

__all__ = [
    "SCHEMA_VERSION_TABLE",
    "Connection",
    "Dialect",
    "PooledSqlStore",
    "SqlTypes",
    "SqlUnitOfWork",
    "create_table",
    "declared_migrations",
    "migrate",
    "table_names",
]
