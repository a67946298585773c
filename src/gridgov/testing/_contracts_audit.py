"""The audit-trail contract: an append-only trail, by instant, filtered."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import given

from gridgov.access import AuditEntry, AuditKind
from gridgov.errors import ValidationError
from gridgov.ports import MAX_PAGE_SIZE, Page, UnitOfWork
from gridgov.testing import strategies as gst
from gridgov.testing._samples import (
    _AUDIT_WINDOW,
    _KIT_HYPOTHESIS,
    _all_pages,
    _audit,
    _audit_ids,
    _audit_trail,
)
from gridgov.testing._world import (
    ON,
    T0,
    UowFactory,
    _Base,
)


class AuditRepositoryContract(_Base):
    """What every ``AuditRepository`` does: an append-only trail, by instant, filtered."""

    @staticmethod
    def all_audit(uow: UnitOfWork, limit: int = 100, **filters: object) -> list[str]:
        """Return the ids of every page of ``between`` over the window, with ``filters``."""
        arguments: dict[str, Any] = {**_AUDIT_WINDOW, **filters}
        return _audit_ids(
            _all_pages(lambda a: uow.audit.between(limit=limit, after=a, **arguments))
        )

    @pytest.mark.parametrize("limit", [1, 2, 3, 50])
    def test_audit_between_pages_by_instant_then_id(self, make_uow: UowFactory, limit: int) -> None:
        """Entries with ``since <= at < until`` come across zones, by instant then id, once each."""
        self.add_and_commit(make_uow, "audit", _audit_trail())
        with make_uow() as uow:
            got = self.all_audit(
                uow,
                limit,
                since=T0.in_timezone("UTC"),
                until=T0.add(minutes=10).in_timezone("America/New_York"),
            )
            empty = uow.audit.between(since=T0, until=T0)
        assert (["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a0"], Page(())) == (got, empty)

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({}, ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a0"]),
            ({"principal_id": "w1"}, ["a1", "a3", "a4", "a7", "a0"]),
            ({"subject": "resident:r1"}, ["a1", "a2", "a5", "a7", "a0"]),
            ({"kind": AuditKind.DENIED}, ["a2", "a3", "a0"]),
            ({"principal_id": "w1", "kind": AuditKind.DENIED}, ["a3", "a0"]),
            ({"subject": "resident:r1", "kind": AuditKind.VIEWED_FULL_RECORD}, ["a1", "a5", "a7"]),
            ({"principal_id": "w1", "subject": "resident:r1"}, ["a1", "a7", "a0"]),
            (
                {
                    "principal_id": "w1",
                    "subject": "resident:r1",
                    "kind": AuditKind.VIEWED_FULL_RECORD,
                },
                ["a1", "a7"],
            ),
            ({"principal_id": "w2", "subject": "case:k1"}, []),
            ({"principal_id": "w404"}, []),
            ({"subject": "case:k404", "kind": AuditKind.DENIED}, []),
        ],
        ids=[
            "none",
            "principal",
            "subject",
            "kind",
            "principal-kind",
            "subject-kind",
            "principal-subject",
            "all-three",
            "disjoint",
            "unknown-principal",
            "unknown-subject",
        ],
    )
    def test_audit_between_filters_combine(
        self, make_uow: UowFactory, filters: dict[str, object], expected: list[str]
    ) -> None:
        """Each filter keeps its entries, filters combine with AND, pages follow them in order."""
        self.add_and_commit(make_uow, "audit", _audit_trail())
        with make_uow() as uow:
            got = (self.all_audit(uow, 2, **filters), self.all_audit(uow, 50, **filters))
        assert (expected, expected) == got

    def test_staged_audit_entries_are_visible_in_their_own_unit_only(
        self, make_uow: UowFactory
    ) -> None:
        """A unit's new entries merge into its own queries, filtered and paged; others see none."""
        trail = {e.id: e for e in _audit_trail()}
        self.add_and_commit(make_uow, "audit", [trail["a1"], trail["a3"]])
        with make_uow() as uow:
            uow.audit.add(trail["a2"])
            uow.audit.add(trail["a0"])
            mine = (
                self.all_audit(uow, 1),
                self.all_audit(uow, principal_id="w1"),
                self.all_audit(uow, subject="resident:r1"),
                self.all_audit(uow, 1, kind=AuditKind.DENIED),
                self.all_audit(uow, principal_id="w2", subject="resident:r1"),
            )
            with make_uow() as other:
                theirs = self.all_audit(other)
        with make_uow() as uow:
            after = self.all_audit(uow)
        assert (
            (
                ["a1", "a2", "a3", "a0"],
                ["a1", "a3", "a0"],
                ["a1", "a2", "a0"],
                ["a2", "a3", "a0"],
                ["a2"],
            ),
            ["a1", "a3"],
            ["a1", "a3"],
        ) == (mine, theirs, after)

    def test_audit_rollback_leaves_nothing(self, make_uow: UowFactory) -> None:
        """Entries added then rolled back are gone, and their ids can be added again."""
        with make_uow() as uow:
            uow.audit.add(_audit("a1", T0, "w2"))
            uow.rollback()
            inside = (self.all_audit(uow), self.all_audit(uow, principal_id="w2"))
            uow.audit.add(_audit("a1", T0))
            uow.commit()
        with make_uow() as uow:
            after = [
                (e.id, e.principal_id, e.version) for e in uow.audit.between(**_AUDIT_WINDOW).items
            ]
        assert (([], []), [("a1", "w1", 1)]) == (inside, after)

    @pytest.mark.parametrize(
        ("kwargs", "path"),
        [
            ({"since": pendulum.naive(2026, 11, 28)}, "since"),
            ({"until": pendulum.naive(2026, 11, 29)}, "until"),
            ({"since": "2026-11-28T09:00:00+08:00"}, "since"),
            ({"since": ON}, "since"),
            ({"until": T0.subtract(microseconds=1)}, "until"),
            ({"limit": 0}, "limit"),
            ({"limit": MAX_PAGE_SIZE + 1}, "limit"),
            ({"limit": True}, "limit"),
            ({"after": "not-a-cursor"}, "after"),
            ({"principal_id": ""}, "principal_id"),
            ({"subject": ""}, "subject"),
            ({"subject": 7}, "subject"),
            ({"kind": "denied"}, "kind"),
        ],
    )
    def test_audit_bad_query_arguments_raise_validation_error(
        self, make_uow: UowFactory, kwargs: dict[str, object], path: str
    ) -> None:
        """Bad instants, windows, limits, cursors and filters raise ValidationError naming them."""
        arguments: dict[str, Any] = {"since": T0, "until": T0.add(days=1), **kwargs}
        with make_uow() as uow, pytest.raises(ValidationError) as info:
            uow.audit.between(**arguments)
        assert path == info.value.path

    @_KIT_HYPOTHESIS
    @given(drawn=gst.audit_entries())
    def test_generated_audit_entries_round_trip(
        self, make_uow: UowFactory, drawn: AuditEntry
    ) -> None:
        """Any entry comes back at version 1, found by its instant, principal, subject and kind."""
        entry = attrs.evolve(drawn, id=f"{drawn.id[:40]}.{uuid.uuid4().hex[:12]}")
        with make_uow() as uow:
            uow.audit.add(entry)
            uow.commit()
        with make_uow() as uow:
            found = uow.audit.between(
                since=entry.at,
                until=entry.at.add(microseconds=1),
                principal_id=entry.principal_id,
                subject=entry.subject,
                kind=entry.kind,
                limit=MAX_PAGE_SIZE,
            ).items
        matching = all(
            (e.principal_id, e.subject, e.kind) == (entry.principal_id, entry.subject, entry.kind)
            for e in found
        )
        assert (attrs.evolve(entry, version=1), True) == (
            {e.id: e for e in found}.get(entry.id),
            matching,
        )
