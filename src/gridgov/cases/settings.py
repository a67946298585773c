"""A deployment's case settings: its service catalogue and escalation policy, stored together."""

from __future__ import annotations

import attrs

from gridgov import _validation as v
from gridgov.cases.catalogue import DEFAULT_CATALOGUE, ServiceCatalogue
from gridgov.cases.escalation import DEFAULT_ESCALATION, EscalationPolicy

__all__ = ["CaseSettings"]


@attrs.frozen
class CaseSettings:
    """The catalogue and escalation policy a store's cases run by.

    Args:
        catalogue: The service catalogue.
        escalation: The escalation policy.
        version: The stored version, managed by repositories.
    """

    catalogue: ServiceCatalogue = attrs.field(
        default=DEFAULT_CATALOGUE, validator=v.instance_of(ServiceCatalogue)
    )
    escalation: EscalationPolicy = attrs.field(
        default=DEFAULT_ESCALATION, validator=v.instance_of(EscalationPolicy)
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)
