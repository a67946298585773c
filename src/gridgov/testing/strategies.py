"""Hypothesis strategies for every gridgov domain type.

Every strategy yields valid objects: they pass the constructors' validation, and the composite
ones respect the aggregates' invariants (a relocated household has a forwarding contact, a vacant
one has no members, a worker's assignments to one cell do not overlap, a tree's codes extend their
parents'). Strategies compose: pass a strategy (or a fixed value) where a parameter accepts one::

    from hypothesis import given
    from gridgov.testing import strategies as gst

    @given(gst.households(cell_code="610102001001001"))
    def test_something(household): ...

Needs the ``testing`` extra (hypothesis).
"""

from __future__ import annotations

try:
    import hypothesis  # noqa: F401 - every strategy is one of hypothesis'
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "gridgov.testing.strategies needs hypothesis: pip install 'gridgov[testing]'"
    ) from exc

from gridgov.testing._strategies_basics import (
    aware_datetimes,
    dates,
    duties,
    health_flags,
    identifiers,
    national_ids,
    personal_names,
    phone_numbers,
    tags,
    time_zones,
    worker_roles,
)
from gridgov.testing._strategies_cases import (
    audit_entries,
    care_tasks,
    cases,
    contact_attempts,
    deployment_settings,
)
from gridgov.testing._strategies_grid import (
    assignments,
    boundaries,
    cell_codes,
    code_schemes,
    grid_cells,
    grid_trees,
    workers,
)
from gridgov.testing._strategies_households import (
    addresses,
    emergency_contacts,
    forwarding_contacts,
    households,
    residents,
)
from gridgov.testing._strategies_scheduling import (
    activity_series,
    registrations,
    shifts,
    signups,
    venues,
)

__all__ = [
    "activity_series",
    "addresses",
    "assignments",
    "audit_entries",
    "aware_datetimes",
    "boundaries",
    "care_tasks",
    "cases",
    "cell_codes",
    "code_schemes",
    "contact_attempts",
    "dates",
    "deployment_settings",
    "duties",
    "emergency_contacts",
    "forwarding_contacts",
    "grid_cells",
    "grid_trees",
    "health_flags",
    "households",
    "identifiers",
    "national_ids",
    "personal_names",
    "phone_numbers",
    "registrations",
    "residents",
    "shifts",
    "signups",
    "tags",
    "time_zones",
    "venues",
    "worker_roles",
    "workers",
]
