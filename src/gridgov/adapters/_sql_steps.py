"""The Python migration steps of the SQL stores: one function for every dialect.

A :class:`~gridgov.records.Recompute` step (declared in :data:`gridgov.records.STEPS`) fills
columns the DDL cannot compute, a keyed digest; :func:`recompute` runs one batch of it on a
cursor, in the caller's transaction: the migration runs a step whole in its own transaction,
:func:`rehash` (``rehash_ids``) a committed transaction a batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from gridgov.adapters import _codec
from gridgov.errors import ConflictError
from gridgov.identity import IdKey
from gridgov.records import STEPS, Recompute, RecordKind

if TYPE_CHECKING:
    from gridgov.adapters._sql import Connection, Dialect

__all__ = ["check_key", "recompute", "rehash", "run_steps"]


def recompute(
    cur: Any,
    dialect: Dialect,
    step: Recompute[Any],
    id_key: IdKey | None,
    *,
    after: str = "",
    batch_size: int = 500,
) -> tuple[str | None, int]:
    """Run one batch of a Python migration step on ``cur``, inside the caller's transaction.

    The batch is the ``batch_size`` records of the step's kind after the key ``after``, read in
    key order and decoded; their rows of the step's table get the step's columns rewritten by
    primary key (one ``executemany``). Every dialect runs the same statements.

    Returns:
        The last key read (``None`` when no record was left) and how many rows were written.
    """
    kind, target = step.kind, step.target
    key_column = kind.key_column
    cur.execute(
        dialect.sql(
            f"SELECT {key_column}, version, doc FROM {kind.table.name}"
            f" WHERE {key_column} > ? ORDER BY {key_column} LIMIT ?"
        ),
        (after, batch_size),
    )
    rows = cur.fetchall()
    if not rows:
        return None, 0
    values = [
        v
        for key, version, doc in rows
        for v in step.rows(_codec.decode(kind.cls, doc, version), id_key)
    ]
    if values:
        sets = ", ".join(f"{c} = ?" for c in step.columns)
        where = " AND ".join(f"{c} = ?" for c in target.primary_key)
        cur.executemany(dialect.sql(f"UPDATE {target.name} SET {sets} WHERE {where}"), values)
    return str(rows[-1][0]), len(values)


def run_steps(cur: Any, dialect: Dialect, version: int, id_key: IdKey | None) -> None:
    """Run the Python migration steps of ``version`` whole, in the migration's transaction."""
    for step in STEPS:
        if step.since != version or (step.keyed and id_key is None):
            continue  # without a key a digest is NULL, as the added column already is
        after: str | None = ""
        while after is not None:
            after, _ = recompute(cur, dialect, step, id_key, after=after)


def check_key(cur: Any, dialect: Dialect, id_key: IdKey | None) -> None:
    """Raise ConflictError if the stored digests were computed under another key than ``id_key``.

    One stored row with a digest is recomputed from its record's document: a store opened with
    the wrong key would otherwise find no one, silently, until ``rehash_ids`` ran.
    """
    if id_key is None:
        return
    for step in (s for s in STEPS if s.keyed):
        kind: RecordKind[Any] = step.kind
        target = step.target
        own = target.name == kind.table.name
        parent = (
            kind.key_column
            if own
            else next(c.parent_column for c in kind.children if c.table.name == target.name)
        )
        wanted = (*step.columns, *target.primary_key)
        cur.execute(
            f"SELECT {parent}, {', '.join(wanted)} FROM {target.name}"
            f" WHERE {step.columns[0]} IS NOT NULL LIMIT 1"
        )
        row = cur.fetchone()
        if row is None:
            continue
        cur.execute(
            dialect.sql(f"SELECT version, doc FROM {kind.table.name} WHERE {kind.key_column} = ?"),
            (row[0],),
        )
        version, doc = cur.fetchone()
        recomputed = step.rows(_codec.decode(kind.cls, doc, version), id_key)
        if tuple(row[1:]) not in [tuple(r) for r in recomputed]:
            raise ConflictError(
                "the stored ID digests were computed under another key than this store was "
                f"given (fingerprint {id_key.fingerprint}): give the store its key, or run "
                "gridgov.identity.rehash_ids(store, key) to recompute them under this one"
            )


class _Pooled(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    def acquire(self) -> Connection: ...

    def release(self, conn: Connection, *, broken: bool = False) -> None: ...


def rehash(store: _Pooled, key: IdKey | None, batch_size: int) -> int:
    """Run every digest step again under ``key``, each batch committed; return the rows written."""
    written = 0
    dialect = store.dialect
    for step in (s for s in STEPS if s.keyed):
        after: str | None = ""
        while after is not None:
            conn = store.acquire()
            broken = True
            try:
                cur = conn.cursor()
                dialect.begin(cur)
                try:
                    after, done = recompute(
                        cur, dialect, step, key, after=after, batch_size=batch_size
                    )
                    cur.execute("COMMIT")
                except BaseException:
                    cur.execute("ROLLBACK")
                    raise
                written += done
                broken = False
            finally:
                store.release(conn, broken=broken)
    return written
