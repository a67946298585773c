"""Elder care visiting (探访关爱): policies, assessment, contacts, follow-ups and worklists."""

from gridgov.care.assessment import Assessment, assess, assess_all
from gridgov.care.criteria import (
    AgeAtLeast,
    AgeBelow,
    AllOf,
    AnyOf,
    Criterion,
    Facts,
    HasHealthFlag,
    HasTag,
    HouseholdStatusIs,
    LivesAs,
    Not,
    Reason,
)
from gridgov.care.policy import DEFAULT_POLICY, Cadence, CarePolicy, ContactMethod, Tier

__all__ = [
    "DEFAULT_POLICY",
    "AgeAtLeast",
    "AgeBelow",
    "AllOf",
    "AnyOf",
    "Assessment",
    "Cadence",
    "CarePolicy",
    "ContactMethod",
    "Criterion",
    "Facts",
    "HasHealthFlag",
    "HasTag",
    "HouseholdStatusIs",
    "LivesAs",
    "Not",
    "Reason",
    "Tier",
    "assess",
    "assess_all",
]
