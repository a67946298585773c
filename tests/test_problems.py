"""gridgov errors become RFC 9457 problem documents with the right HTTP status."""

from __future__ import annotations

import json

import pytest

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
from gridgov.households import Resident
from gridgov.problems import PROBLEM_MEDIA_TYPE, problem_document


@pytest.mark.parametrize(
    ("error", "name", "status", "retryable"),
    [
        (ValidationError("phone", "not a phone number"), "validation", 422, False),
        (NotFoundError("household", "h1"), "not-found", 404, False),
        (AccessDeniedError("denied"), "access-denied", 403, False),
        (ConflictError("household 'h1' already exists"), "conflict", 409, False),
        (TransitionError("closed"), "transition", 409, False),
        (CalendarCoverageError("2031"), "calendar-coverage", 422, False),
        (StorageError("connection lost"), "storage", 503, True),
        (UnsupportedStoreError("nosuch"), "unsupported-store", 400, False),
        (GridgovError("other"), "error", 500, False),
    ],
)
def test_each_error_has_its_type_status_and_retry(
    error: GridgovError, name: str, status: int, retryable: bool
) -> None:
    """The type names the kind of problem; the status is the HTTP one; detail is the message."""
    doc = problem_document(error)
    assert (f"urn:gridgov:problem:{name}", status, str(error), retryable) == (
        doc["type"],
        doc["status"],
        doc["detail"],
        doc["retryable"],
    )


def test_a_validation_problem_lists_every_bad_field_without_the_values() -> None:
    """Every bad field is listed with its path; the values themselves never appear."""
    with pytest.raises(ValidationError) as info:
        Resident("r1", "王建国", national_id="610102195503120019", phone="12345")
    doc = problem_document(info.value)
    text = json.dumps(doc, ensure_ascii=False)
    assert (doc["path"], [p["path"] for p in doc["problems"]]) == (
        info.value.path,
        [p for p, _ in info.value.problems],
    )
    assert "610102195503120019" not in text
    assert "application/problem+json" == PROBLEM_MEDIA_TYPE


def test_a_missing_record_names_its_kind_and_key() -> None:
    """A 404 carries the kind and key asked for."""
    doc = problem_document(NotFoundError("case", "c-7"))
    assert ("case", "c-7") == (doc["kind"], doc["key"])
