"""gridgov errors as RFC 9457 problem documents, for a platform's HTTP API.

A web service embedding gridgov answers every gridgov error the same way::

    except GridgovError as exc:
        doc = problem_document(exc)
        return JSONResponse(doc, status_code=doc["status"], media_type=PROBLEM_MEDIA_TYPE)

The document holds the members RFC 9457 defines (``type``, ``title``, ``status``, ``detail``) and
gridgov's own: ``path`` and ``problems`` for a validation error (every bad field, not only the
first), ``kind`` and ``key`` for a record not found, and ``retryable`` (whether the same request
may succeed if sent again). Messages carry no personal data (see :mod:`gridgov.errors`), so the
document is safe to return to any caller.
"""

from __future__ import annotations

from typing import TypedDict

from gridgov.errors import (
    AccessDeniedError,
    CalendarCoverageError,
    ConflictError,
    GridgovError,
    NotFoundError,
    StorageError,
    TransitionError,
    UnsupportedStoreError,
    ValidationError,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "ProblemDocument", "problem_document"]

PROBLEM_MEDIA_TYPE = "application/problem+json"
"""The media type of a problem document (RFC 9457, section 3)."""


class FieldProblem(TypedDict):
    """One bad field of a validation error."""

    path: str
    problem: str


class ProblemDocument(TypedDict, total=False):
    """An RFC 9457 problem document with gridgov's extension members."""

    type: str
    title: str
    status: int
    detail: str
    retryable: bool
    path: str
    problems: list[FieldProblem]
    kind: str
    key: str


# Most specific first: the first class an error is an instance of gives its status.
_STATUS: tuple[tuple[type[GridgovError], str, str, int], ...] = (
    (ValidationError, "validation", "The input is not valid", 422),
    (NotFoundError, "not-found", "The record does not exist", 404),
    (AccessDeniedError, "access-denied", "The principal may not do this", 403),
    (ConflictError, "conflict", "The change conflicts with what is stored", 409),
    (TransitionError, "transition", "The action is not allowed in this state", 409),
    (CalendarCoverageError, "calendar-coverage", "The work calendar does not cover the date", 422),
    (StorageError, "storage", "The store failed", 503),
    (UnsupportedStoreError, "unsupported-store", "The store URL is not supported", 400),
)


def problem_document(error: GridgovError) -> ProblemDocument:
    """Return ``error`` as an RFC 9457 problem document, with the HTTP status it deserves.

    ``type`` is a URN naming the kind of problem (``urn:gridgov:problem:conflict``); ``retryable``
    is true for a lost race or a busy or unreachable store, false for what the same request
    would meet again (bad input, a duplicate key the caller chose, a denied permission).
    """
    name, title, status = next(
        ((n, t, s) for cls, n, t, s in _STATUS if isinstance(error, cls)),
        ("error", "gridgov could not do this", 500),
    )
    doc: ProblemDocument = {
        "type": f"urn:gridgov:problem:{name}",
        "title": title,
        "status": status,
        "detail": str(error),
        "retryable": _retryable(error),
    }
    if isinstance(error, ValidationError):
        doc["path"] = error.path
        doc["problems"] = [{"path": p, "problem": m} for p, m in error.problems]
    elif isinstance(error, NotFoundError):
        doc["kind"] = error.kind
        doc["key"] = error.key
    return doc


def _retryable(error: GridgovError) -> bool:
    """Return whether sending the same request again may succeed."""
    if isinstance(error, StorageError):
        return True
    return isinstance(error, ConflictError) and error.retryable
