"""The gridgov error hierarchy.

Every error the public API raises derives from :class:`GridgovError`. Messages never carry
personal data: validators describe what is wrong with a value, not the value itself.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccessDeniedError",
    "AmbiguousAddressError",
    "CalendarCoverageError",
    "ConflictError",
    "GridgovError",
    "MissingExtraError",
    "NotFoundError",
    "OutsideGridError",
    "Problem",
    "StorageError",
    "TransitionError",
    "UnknownAddressError",
    "UnsupportedStoreError",
    "ValidationError",
]


class GridgovError(Exception):
    """Base class of every error gridgov raises on purpose."""


Problem = tuple[str, str]
"""A ``(path, problem)`` pair, e.g. ``("households[3].members[0].national_id", "bad check")``."""


class ValidationError(GridgovError, ValueError):
    """A value failed validation.

    Args:
        path: Where the bad value sits, e.g. ``"households[3].members[0].national_id"``.
        problem: What is wrong with it, without repeating personal data.
        source: The file or input the value came from, if any.
        problems: Every problem found, when there were several; the first is ``(path, problem)``.
    """

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        source: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.path = path
        self.problem = problem
        self.source = source
        self.problems: tuple[Problem, ...] = tuple(problems) or ((path, problem),)
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        head = f"{where}{self.path}: {self.problem}" if self.path else f"{where}{self.problem}"
        extra = len(self.problems) - 1
        return head if extra <= 0 else f"{head} (and {extra} more problem(s))"

    def within(self, prefix: str) -> ValidationError:
        """Return this error with its paths nested under ``prefix``.

        Args:
            prefix: The path of the enclosing value, e.g. ``"members[0]"``.

        Returns:
            A new error whose paths start with ``prefix``.
        """
        return ValidationError(
            join_path(prefix, self.path),
            self.problem,
            source=self.source,
            problems=[(join_path(prefix, p), m) for p, m in self.problems],
        )

    def from_source(self, source: str) -> ValidationError:
        """Return this error tagged with the file or input it came from.

        Args:
            source: A file name or a description of the input.

        Returns:
            A new error naming ``source`` in its message.
        """
        return ValidationError(self.path, self.problem, source=source, problems=self.problems)


def join_path(prefix: str, path: str) -> str:
    """Join two path fragments: ``join_path("a[1]", "b")`` is ``"a[1].b"``.

    Args:
        prefix: The outer path; may be empty.
        path: The inner path; may be empty or start with ``[``.

    Returns:
        The joined path.
    """
    if not prefix:
        return path
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


class NotFoundError(GridgovError, LookupError):
    """A record asked for by key does not exist.

    Args:
        kind: The kind of record, e.g. ``"household"``.
        key: Its key, never a personal identifier.
    """

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        shown = (
            repr(key) if len(key) <= _SHOWN else f"{key[:_SHOWN]!r}... ({len(key):,} characters)"
        )
        super().__init__(f"{kind} {shown} not found")


# A key asked for may be anything a caller sent: a message shows its start only.
_SHOWN = 64


class ConflictError(GridgovError):
    """A write lost a race or collides with what is stored (stale version, duplicate key).

    The message ends by saying whether running the unit of work again can help; so does
    :attr:`retryable`, for code that decides by itself.

    Args:
        reason: What conflicts, e.g. ``"case 'k1' already exists"``; ids, never personal data.
        retryable: ``True`` if running the unit of work again from a fresh read can succeed
            (a lost optimistic race, a busy or deadlocked database); ``False`` if it will
            meet the same conflict (an id already taken, a rule the change breaks).
        taken: For a new record whose key is already stored: that key.
    """

    def __init__(self, reason: str, *, retryable: bool = False, taken: str | None = None) -> None:
        self.reason = reason
        self.retryable = retryable
        self.taken = taken
        advice = _RETRY if retryable else _NO_RETRY
        super().__init__(reason if reason.endswith(advice) else f"{reason}; {advice}")

    @classmethod
    def duplicate(cls, kind: str, key: str) -> ConflictError:
        """Return the error for a new record whose key is stored: ``"case 'k1' already exists"``.

        Args:
            kind: The kind of record, e.g. ``"case"``.
            key: The key already stored.
        """
        return cls(f"{kind} {key!r} already exists", taken=key)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled (multiprocessing, logging handlers) with the flags, not only the message.
        return (_conflict, (self.reason, self.retryable, self.taken))


_RETRY = "retrying the unit of work may succeed"
_NO_RETRY = "a retry will not help"


def _conflict(reason: str, retryable: bool, taken: str | None) -> ConflictError:
    return ConflictError(reason, retryable=retryable, taken=taken)


class AccessDeniedError(GridgovError):
    """The principal may not perform this operation."""


class CalendarCoverageError(GridgovError):
    """A date lies outside the years a work calendar has announced data for."""


class TransitionError(GridgovError):
    """An action is not allowed in the current state of a workflow."""


class StorageError(GridgovError):
    """The storage backend failed (lost connection, corrupt data, ...)."""


class UnsupportedStoreError(GridgovError, ValueError):
    """A store URL names a scheme gridgov cannot open."""


class MissingExtraError(GridgovError, ModuleNotFoundError):
    """A module needs an optional extra that is not installed.

    It is also a ``ModuleNotFoundError``, as Python raises for a missing import.

    Args:
        extra: The extra to install, e.g. ``"geo"``.
        module: The gridgov module that needs it.
        needs: What the extra brings, e.g. ``"shapely 2"``.
        name: The missing package's import name.
    """

    def __init__(self, extra: str, module: str, needs: str, name: str | None = None) -> None:
        self.extra = extra
        super().__init__(
            f"{module} needs the {extra!r} extra ({needs}): pip install 'gridgov[{extra}]'",
            name=name,
        )


class OutsideGridError(ValidationError):
    """A point lies outside every cell that has a boundary."""


class UnknownAddressError(ValidationError):
    """No building of the ledger matches an address."""


class AmbiguousAddressError(ValidationError):
    """Several buildings match an address: gridgov does not guess among them.

    Args:
        path: Where the address sits (``"address"``).
        problem: What is wrong, without the address itself.
        candidates: The codes of the buildings it matches, in code order.
    """

    def __init__(self, path: str, problem: str, candidates: Sequence[str]) -> None:
        self.candidates = tuple(candidates)
        super().__init__(path, problem)
