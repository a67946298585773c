"""Care policies as data: ordered tiers of vulnerable elders with contact cadences.

A :class:`CarePolicy` first decides whether a resident is covered at all (``covers``), then puts a
covered resident in the first tier whose criterion matches. Policies are frozen: build them in
Python or load them from a scenario's TOML. On construction a policy is checked (unique tier
codes, reachable tiers, positive cadences) and compiled to one Python function, so that deciding
a tier costs what a hand-written ``if`` chain costs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.care.criteria import (
    CRITERION_TYPES,
    AgeAtLeast,
    AllOf,
    AnyOf,
    Criterion,
    HasHealthFlag,
    HasTag,
    LivesAs,
    _Compiler,
    implies,
    never_matches,
)
from gridgov.errors import ValidationError
from gridgov.households import HealthFlag, Household, LivingArrangement, Resident, Tag

__all__ = [
    "DEFAULT_POLICY",
    "Cadence",
    "CarePolicy",
    "ContactMethod",
    "Tier",
]


class ContactMethod(enum.Enum):
    """How a contact is made (探访方式)."""

    HOME_VISIT = "home_visit"
    PHONE = "phone"
    VIDEO = "video"
    VOLUNTEER_VISIT = "volunteer_visit"
    NOTICE = "notice"
    """Not a contact: another department's notice put on the resident's ledger (a hospital's
    discharge list). It satisfies no cadence and no cadence asks for it."""

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _METHOD_ZH[self]

    def satisfies(self, required: ContactMethod) -> bool:
        """Return whether a contact made this way counts for a cadence of ``required``.

        A visit counts for every cadence; a video call also counts as a phone call; a volunteer's
        visit counts as a home visit (the guidance counts volunteer visiting).
        """
        return required in _SATISFIES[self]


_METHOD_ZH = {
    ContactMethod.HOME_VISIT: "上门探访",
    ContactMethod.PHONE: "电话问候",
    ContactMethod.VIDEO: "视频问候",
    ContactMethod.VOLUNTEER_VISIT: "志愿者探访",
    ContactMethod.NOTICE: "部门通报",
}
_CONTACTS = frozenset(ContactMethod) - {ContactMethod.NOTICE}
_SATISFIES = {
    ContactMethod.HOME_VISIT: _CONTACTS,
    ContactMethod.VOLUNTEER_VISIT: _CONTACTS,
    ContactMethod.VIDEO: frozenset({ContactMethod.VIDEO, ContactMethod.PHONE}),
    ContactMethod.PHONE: frozenset({ContactMethod.PHONE}),
    ContactMethod.NOTICE: frozenset(),
}


def _positive_days(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 366:
        raise ValidationError(attribute.name, "a cadence is a whole number of days from 1 to 366")


@attrs.frozen
class Cadence:
    """Contact a resident by ``method`` at least every ``every_days`` days.

    Args:
        method: How.
        every_days: The longest allowed gap between two such contacts, in days.
        proposal: ``True`` when the number is a proposal rather than a sourced rule.
    """

    method: ContactMethod = attrs.field(validator=v.instance_of(ContactMethod))
    every_days: int = attrs.field(validator=_positive_days)
    proposal: bool = attrs.field(default=False, validator=v.instance_of(bool))


def _cadences(value: Iterable[Cadence]) -> tuple[Cadence, ...]:
    return v.to_tuple(value)


def _check_cadences(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValidationError(attribute.name, "a tier needs at least one cadence")
    seen: set[ContactMethod] = set()
    for i, cadence in enumerate(value):
        if not isinstance(cadence, Cadence):
            raise ValidationError(f"{attribute.name}[{i}]", "expected a Cadence")
        if cadence.method in seen:
            raise ValidationError(f"{attribute.name}[{i}].method", "two cadences for one method")
        if cadence.method is ContactMethod.NOTICE:
            raise ValidationError(f"{attribute.name}[{i}].method", "a notice is not a contact")
        seen.add(cadence.method)


def _criterion(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, CRITERION_TYPES):
        raise ValidationError(attribute.name, "expected a criterion")


@attrs.frozen
class Tier:
    """A care tier: who belongs to it and how often they are contacted.

    Args:
        code: A short key, e.g. ``"high"``.
        label_en: The English label.
        label_zh: The Chinese label, e.g. ``"高风险"``.
        when: The criterion a covered resident must match.
        cadences: How often to contact, per method.
        source: Where the rule comes from (a citation), or why it is proposed.
    """

    code: str = attrs.field(validator=v.identifier)
    label_en: str = attrs.field(validator=v.text(60))
    label_zh: str = attrs.field(validator=v.text(30))
    when: Criterion = attrs.field(validator=_criterion)
    cadences: tuple[Cadence, ...] = attrs.field(converter=_cadences, validator=_check_cadences)
    source: str = attrs.field(default="", validator=v.text(500, allow_empty=True))

    def cadence(self, method: ContactMethod) -> Cadence | None:
        """Return the tier's cadence for ``method``, if any."""
        return next((c for c in self.cadences if c.method is method), None)


def _tiers(value: Iterable[Tier]) -> tuple[Tier, ...]:
    return v.to_tuple(value)


Decide = Callable[[Resident, Household, int, int, int], int]


@attrs.frozen
class CarePolicy:
    """Ordered care tiers over the covered elders.

    Args:
        name: The policy's name.
        covers: Who is covered at all (e.g. elders of 60 in one of the key populations).
        tiers: The tiers, most urgent first; a covered resident goes to the first that matches,
            and to none when none matches.
        source: Where the policy comes from.

    Raises:
        ValidationError: On duplicate tier codes, a tier that can never be reached (an earlier
            tier takes everyone it would match, or its criterion contradicts itself), or bad
            cadences.
    """

    name: str = attrs.field(validator=v.text(100))
    covers: Criterion = attrs.field(validator=_criterion)
    tiers: tuple[Tier, ...] = attrs.field(converter=_tiers)
    source: str = attrs.field(default="", validator=v.text(1000, allow_empty=True))
    _decide: Decide = attrs.field(init=False, eq=False, repr=False, hash=False)

    @tiers.validator
    def _check_tiers(self, _attr: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, tuple) or not value:
            raise ValidationError("tiers", "a policy needs at least one tier")
        codes: set[str] = set()
        for i, tier in enumerate(value):
            if not isinstance(tier, Tier):
                raise ValidationError(f"tiers[{i}]", "expected a Tier")
            if tier.code in codes:
                raise ValidationError(f"tiers[{i}].code", "duplicate tier code")
            codes.add(tier.code)
            if never_matches(tier.when):
                raise ValidationError(
                    f"tiers[{i}].when", "unreachable: the criterion contradicts itself"
                )
            for j, earlier in enumerate(value[:i]):
                if implies(tier.when, earlier.when):
                    raise ValidationError(
                        f"tiers[{i}].when",
                        f"unreachable: tier {earlier.code!r} (tiers[{j}]) takes all it matches",
                    )

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_decide", _compile(self))

    def tier(self, code: str) -> Tier:
        """Return the tier with ``code``.

        Raises:
            ValidationError: If there is none.
        """
        for t in self.tiers:
            if t.code == code:
                return t
        raise ValidationError("tier", f"the policy {self.name!r} has no such tier")

    def decide(self, resident: Resident, household: Household, on: pendulum.Date) -> Tier | None:
        """Return the resident's tier on ``on``, ``None`` if not covered or in no tier."""
        i = self._decide(resident, household, on.year, on.month, on.day)
        return None if i < 0 else self.tiers[i]

    @property
    def compiled(self) -> Decide:
        """Return the compiled decision ``(resident, household, year, month, day) -> index``.

        The index is into :attr:`tiers`, ``-1`` for none: the bulk form of :meth:`decide`.
        """
        return self._decide


def _compile(policy: CarePolicy) -> Decide:
    """Generate one function deciding the tier, as attrs and cattrs generate theirs."""
    c = _Compiler()
    # Facts are read where a criterion needs them, so that the many residents the first test
    # rules out (most are under 60) cost an age and nothing more.
    lines = [
        "def decide(r, h, y, m, d):",
        "    b = r.birth_date",
        "    age = None if b is None else y - b.year - ((m, d) < (b.month, b.day))",
        f"    if not {policy.covers.compile(c)}:",
        "        return -1",
    ]
    for i, tier in enumerate(policy.tiers):
        lines += [f"    if {tier.when.compile(c)}:", f"        return {i}"]
    lines.append("    return -1")
    namespace: dict[str, Any] = dict(c.constants)
    exec(compile("\n".join(lines), f"<gridgov care policy {policy.name}>", "exec"), namespace)
    decide: Decide = namespace["decide"]
    return decide


_KEY_POPULATIONS = AnyOf(
    (
        HasTag(Tag.LIVING_ALONE),
        HasTag(Tag.EMPTY_NEST),
        HasTag(Tag.LEFT_BEHIND),
        HasTag(Tag.DISABLED),
        HasTag(Tag.DEMENTIA),
        HasTag(Tag.SEVERE_DISABILITY),
        HasTag(Tag.BEREAVED_SINGLE_CHILD_FAMILY),
        HasTag(Tag.EXTREME_POVERTY_SUPPORT),
        LivesAs({LivingArrangement.ALONE, LivingArrangement.WITH_SPOUSE_ONLY}),
        LivesAs({LivingArrangement.WITH_GRANDCHILDREN_ONLY}),
    )
)

_NATIONAL = (
    "民政部等10部门《关于开展特殊困难老年人探访关爱服务的指导意见》(2022): 独居、空巢、留守、失能、"
    "重残、计划生育特殊家庭 elders; monthly visiting rate 100% by end-2025; home visits, phone "
    "or video."
)
_PROVINCIAL = "内蒙古自治区 2022 grading of special-difficulty elders (高风险/重点/一般)."

DEFAULT_POLICY = CarePolicy(
    name="default (national guidance, provincial grading)",
    covers=AllOf((AgeAtLeast(60), _KEY_POPULATIONS)),
    tiers=(
        Tier(
            "high",
            "high risk",
            "高风险",
            AnyOf(
                (
                    AllOf(
                        (
                            AgeAtLeast(80),
                            AnyOf(
                                (
                                    HasTag(Tag.LIVING_ALONE),
                                    HasTag(Tag.EMPTY_NEST),
                                    HasTag(Tag.LEFT_BEHIND),
                                )
                            ),
                        )
                    ),
                    HasHealthFlag(HealthFlag.DEMENTIA),
                    HasTag(Tag.DEMENTIA),
                    HasHealthFlag(HealthFlag.SEVERE_HYPERTENSION),
                    HasHealthFlag(HealthFlag.HEART_DISEASE),
                )
            ),
            (
                Cadence(ContactMethod.HOME_VISIT, 7),
                # Proposal: phone check-ins twice a week between weekly visits.
                Cadence(ContactMethod.PHONE, 3, proposal=True),
            ),
            source=f"{_PROVINCIAL} High risk: 80+ living alone, empty nest or left behind, or "
            "dementia, severe hypertension, heart disease: visit at least weekly. Phone twice a "
            "week is a proposal.",
        ),
        Tier(
            "key",
            "key",
            "重点",
            AnyOf(
                (
                    HasTag(Tag.DISABLED),
                    HasTag(Tag.SEVERE_DISABILITY),
                    HasTag(Tag.EXTREME_POVERTY_SUPPORT),
                    HasTag(Tag.BEREAVED_SINGLE_CHILD_FAMILY),
                )
            ),
            (Cadence(ContactMethod.HOME_VISIT, 30),),
            source=f"{_PROVINCIAL} Key: 60+ disabled or with dementia, scattered-support extreme "
            "poverty, bereaved single-child family: at least monthly.",
        ),
        Tier(
            "general",
            "general",
            "一般",
            AgeAtLeast(60),
            (
                Cadence(ContactMethod.HOME_VISIT, 90),
                Cadence(ContactMethod.PHONE, 30),
            ),
            source=f"{_PROVINCIAL} General: other covered elders, visit at least quarterly; the "
            f"monthly phone call follows the national 100% monthly target. {_NATIONAL}",
        ),
    ),
    source=_NATIONAL,
)
"""The sourced defaults of DOMAIN.md; proposals are marked ``proposal=True`` on their cadence."""
