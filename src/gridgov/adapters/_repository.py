"""What the generic repositories of every engine (memory, SQL) share.

The public writes a declaration allows, over each engine's own ``_update`` and ``_remove``, and
the check that a record is of its kind's type.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, cast

import attrs

from gridgov.errors import ValidationError
from gridgov.records import RecordKind
from gridgov.redaction import holds_personal_data, masked_at

__all__ = ["Erases", "Removes", "Updates", "require_record"]

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)


def require_record(kind: RecordKind[Any], record: object, *, storing: bool = True) -> Any:
    """Return ``record`` if it is of the kind's type, else raise ValidationError.

    The error names the kind's ``argument`` (or its name): ``expected a Household``; a record
    holding a masked ID or phone number is refused naming its field
    (``members[0].national_id``), in every store, unless it is not ``storing`` (a removal).
    """
    cls = kind.cls
    if not isinstance(record, cls):
        article = "an" if cls.__name__[0] in "AEIOU" else "a"
        raise ValidationError(kind.argument or kind.name, f"expected {article} {cls.__name__}")
    # A record read masked (``610102**********1234``) and given to a unit of work without scope
    # would be stored as given: the masked form stands for nobody's number, so it is refused.
    # (A scoped unit restores it from the stored record first.)
    if storing and holds_personal_data(cast("type", cls)):
        path = masked_at(record)
        if path is not None:
            raise ValidationError(
                path or kind.argument or kind.name,
                "a masked number is never stored: give the full number, or write through the "
                "scoped unit of work that read it masked",
            )
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


class _Erasing(Protocol[R]):
    @property
    def declared(self) -> RecordKind[Any]: ...

    def get(self, key: str) -> R: ...

    def _update(self, record: R) -> R: ...


class Erases:
    """An append-only kind whose ``erasable`` fields the data subject's erasure rewrites."""

    def erase(self: _Erasing[R], record: R) -> R:
        """Rewrite a stored record's erasable fields (its personal data); return it.

        Raises:
            ValidationError: If anything but the kind's ``erasable`` fields differs from the
                stored record (an append-only record changes in nothing else).
            ConflictError: If the record's version is not the stored one.
        """
        kind = self.declared
        r = require_record(kind, record)
        stored = self.get(kind.key(r))
        kept = {f: getattr(r, f) for f in kind.erasable}
        if attrs.evolve(stored, **kept, version=0) != attrs.evolve(r, version=0):  # type: ignore[misc]
            raise ValidationError(
                kind.argument or kind.name,
                f"erasure rewrites only {', '.join(kind.erasable) or 'nothing'} of a {kind.name}",
            )
        return self._update(r)
