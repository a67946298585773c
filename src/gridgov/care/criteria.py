"""Criteria over a resident and their household on a date: the building blocks of care policies.

Criteria are frozen attrs objects combined with :class:`AllOf`, :class:`AnyOf` and :class:`Not`.
Each one can explain itself (which facts made it match, in English and Chinese) and compile
itself to a Python expression, so that a policy decides a million residents at the speed of a
hand-written function and explains only the decisions someone reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from gridgov import _validation as v
from gridgov.errors import ValidationError
from gridgov.households import (
    HealthFlag,
    Household,
    HouseholdStatus,
    LivingArrangement,
    Resident,
    Tag,
    age_on,
)

__all__ = [
    "AgeAtLeast",
    "AgeBelow",
    "AllOf",
    "AnyOf",
    "Criterion",
    "Facts",
    "HasHealthFlag",
    "HasTag",
    "HouseholdStatusIs",
    "LivesAs",
    "Not",
    "Reason",
]


@attrs.frozen
class Reason:
    """Why a criterion matched (or, under :class:`Not`, did not): the rule and the facts.

    Args:
        rule: The criterion, described in English (``"age >= 80"``).
        en: The facts that decided it, in English (``"age 83"``).
        zh: The same in Chinese (``"年龄83岁"``).
    """

    rule: str
    en: str
    zh: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.en} ({self.zh})"


def _twin_flags() -> dict[Tag, HealthFlag]:
    """Tags and health flags that record one fact: those of the same code (dementia, say)."""
    flags = {f.code: f for f in HealthFlag.builtins()}
    return {t: flags[t.code] for t in Tag.builtins() if t.code in flags}


#: One fact, two fields: a condition the ledger may record as a tag or as a health flag. Every
#: criterion naming one reads both, so a fact counts the same whichever field records it.
TWIN_FLAGS: dict[Tag, HealthFlag] = _twin_flags()
_TWIN_TAGS: dict[HealthFlag, Tag] = {f: t for t, f in TWIN_FLAGS.items()}


@attrs.frozen
class Facts:
    """The facts about one resident on one date that criteria look at.

    Args:
        age: Age in whole years, ``None`` when the birth date is unknown.
        tags: The resident's tags.
        health_flags: The resident's health flags.
        living_arrangement: Who the resident lives with.
        household_status: The household's status.
    """

    age: int | None
    tags: frozenset[Tag]
    health_flags: frozenset[HealthFlag]
    living_arrangement: LivingArrangement | None
    household_status: HouseholdStatus

    @classmethod
    def of(cls, resident: Resident, household: Household, on: pendulum.Date) -> Facts:
        """Gather the facts about ``resident`` of ``household`` on ``on``.

        A fact recorded in one field is a fact in every field that can hold it: a dementia
        health flag is also the dementia tag (and the other way round, :data:`TWIN_FLAGS`), and
        living alone is both the tag and the living arrangement.
        """
        age = None if resident.birth_date is None else age_on(resident.birth_date, on)
        tags = resident.tags | {_TWIN_TAGS[f] for f in resident.health_flags if f in _TWIN_TAGS}
        flags = resident.health_flags | {TWIN_FLAGS[t] for t in resident.tags if t in TWIN_FLAGS}
        arrangement = resident.living_arrangement
        if arrangement is LivingArrangement.ALONE:
            tags |= {Tag.LIVING_ALONE}
        elif arrangement is None and Tag.LIVING_ALONE in tags:
            arrangement = LivingArrangement.ALONE
        return cls(age, frozenset(tags), frozenset(flags), arrangement, household.status)


Verdict = tuple[bool, tuple[Reason, ...]]


class _Compiler:
    """Collects the constants that compiled expressions refer to by name."""

    def __init__(self) -> None:
        self.constants: dict[str, object] = {}

    def constant(self, value: object) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name


def _years(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 150:
        raise ValidationError(attribute.name, "an age is an integer from 0 to 150")


@attrs.frozen
class AgeAtLeast:
    """The resident is at least ``years`` old on the date (unknown ages never match).

    Args:
        years: The minimum age.
    """

    years: int = attrs.field(validator=_years)

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        return f"age >= {self.years}", f"年满{self.years}岁"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        ok = facts.age is not None and facts.age >= self.years
        return ok, (_age_reason(self, facts),)

    def compile(self, _: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        return f"(age is not None and age >= {self.years})"


@attrs.frozen
class AgeBelow:
    """The resident is younger than ``years`` on the date (unknown ages never match).

    Args:
        years: The age the resident has not reached.
    """

    years: int = attrs.field(validator=_years)

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        return f"age < {self.years}", f"未满{self.years}岁"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        ok = facts.age is not None and facts.age < self.years
        return ok, (_age_reason(self, facts),)

    def compile(self, _: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        return f"(age is not None and age < {self.years})"


def _age_reason(criterion: AgeAtLeast | AgeBelow, facts: Facts) -> Reason:
    if facts.age is None:
        return Reason(criterion.describe()[0], "age unknown", "年龄不详")
    return Reason(criterion.describe()[0], f"age {facts.age}", f"年龄{facts.age}岁")


@attrs.frozen
class HasTag:
    """The resident carries ``tag``.

    Args:
        tag: The key-population tag.
    """

    tag: Tag = attrs.field(validator=v.instance_of(Tag))

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        return f"tagged {self.tag.label_en}", f"属于{self.tag.label_zh}"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        ok = self.tag in facts.tags
        en = f"tagged {self.tag.label_en}" if ok else f"not tagged {self.tag.label_en}"
        zh = f"标记为{self.tag.label_zh}" if ok else f"未标记{self.tag.label_zh}"
        return ok, (Reason(self.describe()[0], en, zh),)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        also = ""
        if self.tag in TWIN_FLAGS:
            also = f" or {c.constant(TWIN_FLAGS[self.tag])} in r.health_flags"
        elif self.tag == Tag.LIVING_ALONE:
            also = f" or r.living_arrangement is {c.constant(LivingArrangement.ALONE)}"
        return f"({c.constant(self.tag)} in r.tags{also})"


@attrs.frozen
class HasHealthFlag:
    """The resident has the health condition ``flag``.

    Args:
        flag: The health flag.
    """

    flag: HealthFlag = attrs.field(validator=v.instance_of(HealthFlag))

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        return f"has {self.flag.label_en}", f"患有{self.flag.label_zh}"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        ok = self.flag in facts.health_flags
        en = f"has {self.flag.label_en}" if ok else f"no {self.flag.label_en}"
        zh = f"患有{self.flag.label_zh}" if ok else f"无{self.flag.label_zh}"
        return ok, (Reason(self.describe()[0], en, zh),)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        twin = _TWIN_TAGS.get(self.flag)
        also = "" if twin is None else f" or {c.constant(twin)} in r.tags"
        return f"({c.constant(self.flag)} in r.health_flags{also})"


def _arrangements(value: Iterable[LivingArrangement]) -> frozenset[LivingArrangement]:
    return v.to_frozenset(value)


def _statuses(value: Iterable[HouseholdStatus]) -> frozenset[HouseholdStatus]:
    return v.to_frozenset(value)


def _non_empty(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not value:
        raise ValidationError(attribute.name, "must not be empty")


@attrs.frozen
class LivesAs:
    """The resident's living arrangement is one of ``arrangements``.

    Args:
        arrangements: The arrangements that match.
    """

    arrangements: frozenset[LivingArrangement] = attrs.field(
        converter=_arrangements,
        validator=[v.collection_of(LivingArrangement), _non_empty],
    )

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        names = sorted(a.value for a in self.arrangements)
        labels = "、".join(sorted(a.label_zh for a in self.arrangements))
        return f"lives {' or '.join(names)}", f"居住状况为{labels}"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        a = facts.living_arrangement
        ok = a in self.arrangements
        en = "living arrangement unknown" if a is None else f"lives {a.value}"
        zh = "居住状况不详" if a is None else f"居住状况:{a.label_zh}"
        return ok, (Reason(self.describe()[0], en, zh),)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        # Identity tests: enum members are singletons, and ``is`` skips Enum.__hash__.
        tests = [
            f"r.living_arrangement is {c.constant(a)}"
            for a in sorted(self.arrangements, key=_value)
        ]
        if LivingArrangement.ALONE in self.arrangements:  # the tag records it too
            tests.append(
                f"(r.living_arrangement is None and {c.constant(Tag.LIVING_ALONE)} in r.tags)"
            )
        return "(" + " or ".join(tests) + ")"


@attrs.frozen
class HouseholdStatusIs:
    """The resident's household has one of ``statuses``.

    Args:
        statuses: The statuses that match.
    """

    statuses: frozenset[HouseholdStatus] = attrs.field(
        converter=_statuses, validator=[v.collection_of(HouseholdStatus), _non_empty]
    )

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        names = sorted(s.value for s in self.statuses)
        labels = "、".join(sorted(s.label_zh for s in self.statuses))
        return f"household {' or '.join(names)}", f"住户状态为{labels}"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        s = facts.household_status
        ok = s in self.statuses
        return ok, (Reason(self.describe()[0], f"household {s.value}", f"住户{s.label_zh}"),)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        tests = (f"h.status is {c.constant(st)}" for st in sorted(self.statuses, key=_value))
        return "(" + " or ".join(tests) + ")"


def _value(member: LivingArrangement | HouseholdStatus) -> str:
    return str(member.value)


def _criteria(value: Iterable[Criterion]) -> tuple[Criterion, ...]:
    return v.to_tuple(value)


def _check_criteria(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not value:
        raise ValidationError(attribute.name, "needs at least one criterion")
    for i, item in enumerate(value):
        if not isinstance(item, CRITERION_TYPES):
            raise ValidationError(f"{attribute.name}[{i}]", "expected a criterion")


@attrs.frozen
class AllOf:
    """Every one of ``criteria`` matches.

    Args:
        criteria: The criteria, at least one.
    """

    criteria: tuple[Criterion, ...] = attrs.field(converter=_criteria, validator=_check_criteria)

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        parts = [c.describe() for c in self.criteria]
        return (
            "(" + " and ".join(p[0] for p in parts) + ")",
            "(" + "且".join(p[1] for p in parts) + ")",
        )

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why: every reason, or the first failing one."""
        reasons: list[Reason] = []
        for criterion in self.criteria:
            ok, why = criterion.explain(facts)
            if not ok:
                return False, why
            reasons.extend(why)
        return True, tuple(reasons)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        return "(" + " and ".join(x.compile(c) for x in self.criteria) + ")"


@attrs.frozen
class AnyOf:
    """At least one of ``criteria`` matches.

    Args:
        criteria: The criteria, at least one.
    """

    criteria: tuple[Criterion, ...] = attrs.field(converter=_criteria, validator=_check_criteria)

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        parts = [c.describe() for c in self.criteria]
        return (
            "(" + " or ".join(p[0] for p in parts) + ")",
            "(" + "或".join(p[1] for p in parts) + ")",
        )

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why: the first matching criterion's reasons."""
        for criterion in self.criteria:
            ok, why = criterion.explain(facts)
            if ok:
                return True, why
        return False, (Reason(self.describe()[0], "none of these holds", "均不符合"),)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        return "(" + " or ".join(x.compile(c) for x in self.criteria) + ")"


def _check_one(_inst: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, CRITERION_TYPES):
        raise ValidationError(attribute.name, "expected a criterion")


@attrs.frozen
class Not:
    """``criterion`` does not match.

    Args:
        criterion: The criterion to negate.
    """

    criterion: Criterion = attrs.field(validator=_check_one)

    def describe(self) -> tuple[str, str]:
        """Return the rule in English and Chinese."""
        en, zh = self.criterion.describe()
        return f"not {en}", f"非{zh}"

    def explain(self, facts: Facts) -> Verdict:
        """Return whether the facts match, and why."""
        ok, why = self.criterion.explain(facts)
        return not ok, tuple(Reason(f"not {r.rule}", r.en, r.zh) for r in why)

    def compile(self, c: _Compiler) -> str:
        """Return a Python expression over the compiled policy's local variables."""
        return f"(not {self.criterion.compile(c)})"


Criterion = (
    AgeAtLeast
    | AgeBelow
    | HasTag
    | HasHealthFlag
    | LivesAs
    | HouseholdStatusIs
    | AllOf
    | AnyOf
    | Not
)
"""Any criterion; in TOML, a table whose ``kind`` names the class (``"age_at_least"``, ...)."""

CRITERION_TYPES = (
    AgeAtLeast,
    AgeBelow,
    HasTag,
    HasHealthFlag,
    LivesAs,
    HouseholdStatusIs,
    AllOf,
    AnyOf,
    Not,
)


def implies(stronger: Criterion, weaker: Criterion) -> bool:
    """Return whether ``stronger`` matching guarantees ``weaker`` matches.

    Sound but incomplete: ``True`` is always right; ``False`` may miss an implication that needs
    reasoning this structural check does not do.
    """
    if stronger == weaker:
        return True
    if isinstance(weaker, AnyOf):
        return any(implies(stronger, w) for w in weaker.criteria)
    if isinstance(stronger, AllOf):
        return any(implies(s, weaker) for s in stronger.criteria)
    if isinstance(stronger, AnyOf):
        return all(implies(s, weaker) for s in stronger.criteria)
    if isinstance(weaker, AllOf):
        return all(implies(stronger, w) for w in weaker.criteria)
    if isinstance(stronger, AgeAtLeast) and isinstance(weaker, AgeAtLeast):
        return stronger.years >= weaker.years
    if isinstance(stronger, AgeBelow) and isinstance(weaker, AgeBelow):
        return stronger.years <= weaker.years
    if isinstance(stronger, LivesAs) and isinstance(weaker, LivesAs):
        return stronger.arrangements <= weaker.arrangements
    if isinstance(stronger, HouseholdStatusIs) and isinstance(weaker, HouseholdStatusIs):
        return stronger.statuses <= weaker.statuses
    return False


def never_matches(criterion: Criterion) -> bool:
    """Return whether ``criterion`` can match nobody, as far as a structural check can tell."""
    if isinstance(criterion, AnyOf):
        return all(never_matches(c) for c in criterion.criteria)
    if isinstance(criterion, AllOf):
        parts = criterion.criteria
        if any(never_matches(c) for c in parts):
            return True
        low = max((c.years for c in parts if isinstance(c, AgeAtLeast)), default=0)
        high = min((c.years for c in parts if isinstance(c, AgeBelow)), default=151)
        if low >= high:
            return True
        return any(isinstance(c, Not) and implies(c2, c.criterion) for c in parts for c2 in parts)
    return False
