"""What the generic repositories of every engine (memory, SQL) share.

The public writes a declaration allows, over each engine's own ``_update`` and ``_remove``, and
the check that a record is of its kind's type.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

from gridgov.errors import ValidationError
from gridgov.records import RecordKind

__all__ = ["Removes", "Updates", "require_record"]

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


def require_record(kind: RecordKind[Any], record: object) -> Any:
    """Return ``record`` if it is of the kind's type, else raise ValidationError.

    The error names the kind's ``argument`` (or its name): ``expected a Household``.
    """
    cls = kind.cls
    if not isinstance(record, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise ValidationError(kind.argument or kind.name, f"expected {article} {cls.__name__}")
    return cast("Any", record)


class _Updating(Protocol[R]):
    def _update(self, record: R) -> R: ...


class _Removing(Protocol[R_contra]):
    def _remove(self, record: R_contra) -> None: ...


class Updates:
    """A kind whose records change: ``update`` with an optimistic version."""

    def update(self: _Updating[R], record: R) -> R:
        """Replace a stored record if its version is current; return it."""
        return self._update(record)


class Removes:
    """A kind whose records may also be deleted."""

    def remove(self: _Removing[R], record: R) -> None:
        """Delete a stored record if its version is current."""
        self._remove(record)
