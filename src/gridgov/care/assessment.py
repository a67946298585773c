"""Assessment: which care tier a resident is in on a date, and why."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

import attrs
import pendulum

from gridgov.care.criteria import Facts, Reason
from gridgov.care.policy import CarePolicy, Tier
from gridgov.households import Household, Resident

__all__ = ["Assessment", "assess", "assess_all"]


@attrs.frozen
class Assessment:
    """A resident's care tier on a date, explained on demand.

    Args:
        resident: The resident assessed.
        household: Their household.
        on: The date of the assessment.
        policy: The policy applied.
        tier: The tier, ``None`` when the resident is not covered or in no tier.
    """

    resident: Resident
    household: Household
    on: pendulum.Date
    policy: CarePolicy = attrs.field(repr=False)
    tier: Tier | None

    @property
    def covered(self) -> bool:
        """Return whether the policy covers the resident at all."""
        return self.policy.covers.explain(self.facts)[0]

    @functools.cached_property
    def facts(self) -> Facts:
        """Return the facts the policy looked at."""
        return Facts.of(self.resident, self.household, self.on)

    @functools.cached_property
    def reasons(self) -> tuple[Reason, ...]:
        """Return why the resident is in their tier (or why not covered), in English and Chinese.

        The reasons name each criterion that decided and the resident's facts that made it hold:
        first why the resident is covered, then why the tier's criterion matched.
        """
        covered, why_covered = self.policy.covers.explain(self.facts)
        if not covered or self.tier is None:
            return why_covered
        # dict keeps the first occurrence: a fact both criteria cite is said once.
        return tuple(dict.fromkeys(why_covered + self.tier.when.explain(self.facts)[1]))

    def explain(self) -> str:
        """Return a one-paragraph explanation in English and Chinese."""
        if self.tier is None:
            head = "not covered / 不在探访关爱范围" if not self.covered else "covered, in no tier"
        else:
            head = f"tier {self.tier.label_en} / {self.tier.label_zh}"
        return f"{head}: " + "; ".join(str(r) for r in self.reasons)


def assess(
    resident: Resident, household: Household, policy: CarePolicy, *, on: pendulum.Date
) -> Assessment:
    """Assess one resident of ``household`` under ``policy`` on ``on``.

    Returns:
        The assessment; its ``reasons`` say which criteria matched and on which facts.
    """
    return Assessment(resident, household, on, policy, policy.decide(resident, household, on))


def assess_all(
    households: Iterable[Household],
    policy: CarePolicy,
    *,
    on: pendulum.Date,
    covered_only: bool = True,
) -> Iterator[Assessment]:
    """Assess every member of a stream of households; explanations are computed only when read.

    Args:
        households: The households, e.g. pages of ``uow.households.in_subtree(...)``.
        policy: The policy to apply.
        on: The date of the assessment.
        covered_only: Skip residents in no tier.

    Returns:
        An iterator of assessments, household by household, members in order.
    """
    y, m, d = on.year, on.month, on.day
    decide = policy.compiled
    tiers = policy.tiers
    for household in households:
        for resident in household.members:
            i = decide(resident, household, y, m, d)
            if i >= 0:
                yield Assessment(resident, household, on, policy, tiers[i])
            elif not covered_only:
                yield Assessment(resident, household, on, policy, None)
