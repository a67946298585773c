"""``gridgov export open311|ics|geojson``: standard formats, personal data masked."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gridgov.access import AuditKind, Permission, Principal, Redaction, Role, principal_for_worker
from gridgov.cli._common import (
    _BEGINNING,
    _END,
    _all_cases,
    _catalogue,
    _ledger,
    _not_found,
    _print_json,
    _status,
    _venues,
)
from gridgov.clock import SystemClock
from gridgov.errors import (
    AccessDeniedError,
    ValidationError,
)
from gridgov.grid import GridCell
from gridgov.interop.ical import space_calendar, venue_calendar
from gridgov.interop.open311 import dumps_requests, dumps_services
from gridgov.ports import Store, UnitOfWork
from gridgov.scheduling.venues import Venue
from gridgov.services._common import pages
from gridgov.services.access import StoreAuditSink, audit_entry
from gridgov.services.scoped import scoped

_FULL_VIEW_ROLES = ", ".join(
    r.value for r in Role if Permission.FULL_VIEW in r.permissions and r is not Role.SYSTEM
)


def acting(args: argparse.Namespace, store: Store) -> Principal | None:
    """Return who acts: the stored worker ``--as-worker`` (or ``$GRIDGOV_PRINCIPAL``) names.

    Their roles and scope are the store's (their assignments today), never what the command
    line claims.

    Raises:
        NotFoundError: If no such worker is stored.
        ValidationError: If the worker has no cell assigned today.
        AccessDeniedError: If the worker holds no role that acts on the platform.
    """
    worker_id = args.as_worker or os.environ.get("GRIDGOV_PRINCIPAL") or None
    if worker_id is None:
        return None
    with store() as uow:
        return principal_for_worker(uow, worker_id, on=SystemClock().now().date())


def _redaction(
    args: argparse.Namespace, store: Store, what: str, principal: Principal | None
) -> Redaction:
    """Return the redaction of an export: masked, or full if the acting worker may see it.

    A full export is recorded in the store's audit trail under the worker's id and warned about
    on stderr.

    Raises:
        AccessDeniedError: If ``--full`` is given without a worker allowed the full view.
    """
    if not args.full:
        return Redaction.MASKED
    if principal is None:
        raise AccessDeniedError(
            "--full needs --as-worker (or GRIDGOV_PRINCIPAL) naming a stored worker whose "
            f"role allows the full view ({_FULL_VIEW_ROLES})"
        )
    audit = StoreAuditSink(store)
    subject = f"query:{what}"
    try:
        principal.require(Permission.FULL_VIEW, None, f"export {what} unmasked")
    except AccessDeniedError:
        audit(audit_entry(principal, SystemClock().now(), AuditKind.DENIED, subject, None, "full"))
        raise
    audit(audit_entry(principal, SystemClock().now(), AuditKind.EXPORTED, subject, None, "full"))
    print(
        "gridgov: warning: --full: this export holds personal data, unmasked; "
        "keep it as safe as the ledger",
        file=sys.stderr,
    )
    return principal.redaction


def _check_export_output(args: argparse.Namespace) -> None:
    if args.json and args.out is None:
        raise ValidationError(
            "--json", "with export, --json prints a summary of the file written: give --out FILE"
        )


def _write_export(
    args: argparse.Namespace,
    text: str,
    *,
    kind: str,
    count: int,
    unit: str,
    redaction: Redaction,
) -> int:
    """Write an export to ``--out`` or stdout; with ``--json``, print what was written."""
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    out.write_text(text, encoding="utf-8", newline="")
    if args.json:
        _print_json({"format": kind, "out": str(out), "count": count, "redaction": redaction.value})
    else:
        _status(f"wrote {count} {unit} to {out}")
    return 0


def _cmd_export_open311(args: argparse.Namespace) -> int:
    _check_export_output(args)
    what = "open311.services" if args.services else "open311.requests"
    with _ledger(args) as (scenario, store, tree):
        principal = acting(args, store)
        redaction = _redaction(args, store, what, principal)
        with store() as unscoped:
            # The acting worker's export holds their scope only.
            uow: UnitOfWork = (
                unscoped
                if principal is None
                else scoped(unscoped, principal, audit=StoreAuditSink(store))
            )
            catalogue = _catalogue(uow, scenario)
            if args.services:
                count = len(catalogue.categories)
                text = dumps_services(catalogue, lang=args.lang, indent=2)
            else:
                found = [c for root in tree.roots for c in _all_cases(uow, root.code)]
                count = len(found)
                text = dumps_requests(
                    found, catalogue, redaction=redaction, lang=args.lang, indent=2
                )
    unit = "services" if args.services else "service requests"
    return _write_export(args, text + "\n", kind=what, count=count, unit=unit, redaction=redaction)


def _cmd_export_ics(args: argparse.Namespace) -> int:
    _check_export_output(args)
    with _ledger(args) as (_, store, tree):
        redaction = _redaction(args, store, "ics", acting(args, store))
        with store() as uow:
            if args.venue is not None:
                venue = uow.venues.get(args.venue)
            else:
                venue = _only_venue(_venues(uow, tree))
            code = venue.id
            series = list(
                pages(
                    lambda after: uow.series.in_venue(
                        code, start=_BEGINNING, end=_END, limit=500, after=after
                    )
                )
            )
    now = SystemClock().now()
    if args.space is not None:
        text = space_calendar(venue, args.space, series, now=now)
    else:
        text = venue_calendar(venue, series, now=now)
    count = text.count("\r\nBEGIN:VEVENT\r\n")
    return _write_export(args, text, kind="ics", count=count, unit="events", redaction=redaction)


def _only_venue(venues: Sequence[Venue]) -> Venue:
    if not venues:
        raise _not_found("venue", "", "the store holds no venue")
    if len(venues) > 1:
        raise ValidationError(
            "--venue",
            f"the store holds {len(venues)} venues: name one of {', '.join(v.id for v in venues)}",
        )
    return venues[0]


def _cmd_export_geojson(args: argparse.Namespace) -> int:
    _check_export_output(args)
    with _ledger(args) as (_, store, tree):
        redaction = _redaction(args, store, "geojson", acting(args, store))
    features = [_feature(c) for c in tree]
    document = {"type": "FeatureCollection", "features": features}
    text = json.dumps(document, ensure_ascii=False) + "\n"  # compact: coordinates add up
    return _write_export(
        args, text, kind="geojson", count=len(features), unit="cells", redaction=redaction
    )


def _feature(cell: GridCell) -> dict[str, object]:
    return {
        "type": "Feature",
        "id": cell.code,
        "geometry": None if cell.boundary is None else cell.boundary.to_geojson(),
        "properties": {
            "code": cell.code,
            "name": cell.name,
            "level": cell.level.value,
            "parent_code": cell.parent_code,
        },
    }
