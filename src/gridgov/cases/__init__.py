"""Cases (事件/诉求): the closed-loop workflow, time limits on a working calendar, escalation.

A case is reported, registered, dispatched to the grid that owns it (and to the functional
department responsible for its category), handled, verified, closed and evaluated; the service
catalogue classifies cases and gives each stage a time limit, the working calendar counts it,
and the escalation policy reminds, supervises and raises overdue cases up the grid hierarchy.
:class:`CaseWorkflow` holds those rules; :mod:`gridgov.services.cases` stores and publishes what
it decides.
"""

from gridgov.cases.catalogue import (
    DEFAULT_CATALOGUE,
    Category,
    ServiceCatalogue,
    Stage,
    TimeLimit,
    TimeUnit,
)
from gridgov.cases.classification import ClassificationTree, MajorCategory
from gridgov.cases.departments import Department, Routing
from gridgov.cases.escalation import (
    DEFAULT_ESCALATION,
    Anchor,
    EscalationKind,
    EscalationPolicy,
    EscalationStep,
    Firing,
)
from gridgov.cases.model import (
    ACTIVE_STATES,
    PAUSED_STATES,
    Case,
    CaseSource,
    CaseState,
    Deadline,
    HistoryEntry,
    Location,
    Reporter,
    Satisfaction,
    Urgency,
)
from gridgov.cases.workflow import (
    TRANSITIONS,
    Action,
    CaseRole,
    CaseWorkflow,
    Escalation,
    Hierarchy,
    Transition,
)

__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_CATALOGUE",
    "DEFAULT_ESCALATION",
    "PAUSED_STATES",
    "TRANSITIONS",
    "Action",
    "Anchor",
    "Case",
    "CaseRole",
    "CaseSource",
    "CaseState",
    "CaseWorkflow",
    "Category",
    "ClassificationTree",
    "Deadline",
    "Department",
    "Escalation",
    "EscalationKind",
    "EscalationPolicy",
    "EscalationStep",
    "Firing",
    "Hierarchy",
    "HistoryEntry",
    "Location",
    "MajorCategory",
    "Reporter",
    "Routing",
    "Satisfaction",
    "ServiceCatalogue",
    "Stage",
    "TimeLimit",
    "TimeUnit",
    "Transition",
    "Urgency",
]
