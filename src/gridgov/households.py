"""The household ledger (台账): households, residents, key-population tags and health flags."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import ClassVar

import attrs
import pendulum

from gridgov import _validation as v
from gridgov._vocab import Term
from gridgov.clock import LATEST
from gridgov.codes import (
    MaskedNationalId,
    NationalId,
    PhoneNumber,
    Sex,
    as_optional_phone,
    as_phone,
    mask_name,
)
from gridgov.errors import NotFoundError, ValidationError

__all__ = [
    "Address",
    "EmergencyContact",
    "ForwardingContact",
    "HealthFlag",
    "Household",
    "HouseholdStatus",
    "LivingArrangement",
    "Resident",
    "Sex",
    "Tag",
    "age_on",
]


class Tag(Term):
    """A key-population tag (重点人群) or other ledger marker; an open vocabulary.

    The built-in tags are the populations of the national elder-care guidance and the ledger
    markers communities keep; platforms add their own with ``Tag("my_code")``.
    """

    LIVING_ALONE: ClassVar[Tag]
    EMPTY_NEST: ClassVar[Tag]
    LEFT_BEHIND: ClassVar[Tag]
    ADVANCED_AGE: ClassVar[Tag]
    DISABLED: ClassVar[Tag]
    DEMENTIA: ClassVar[Tag]
    SEVERE_DISABILITY: ClassVar[Tag]
    BEREAVED_SINGLE_CHILD_FAMILY: ClassVar[Tag]
    MINIMUM_LIVING_ALLOWANCE: ClassVar[Tag]
    EXTREME_POVERTY_SUPPORT: ClassVar[Tag]
    PARTY_MEMBER: ClassVar[Tag]
    VOLUNTEER: ClassVar[Tag]
    VETERAN: ClassVar[Tag]
    RETIRED_CADRE: ClassVar[Tag]
    AUTISM_FAMILY: ClassVar[Tag]


Tag.LIVING_ALONE = Tag.builtin("living_alone", "living alone", "独居")
Tag.EMPTY_NEST = Tag.builtin("empty_nest", "empty nest", "空巢")
Tag.LEFT_BEHIND = Tag.builtin("left_behind", "left behind", "留守")
Tag.ADVANCED_AGE = Tag.builtin("advanced_age", "advanced age (80+)", "高龄")
Tag.DISABLED = Tag.builtin("disabled", "disabled (loss of self-care)", "失能")
Tag.DEMENTIA = Tag.builtin("dementia", "dementia", "失智")
Tag.SEVERE_DISABILITY = Tag.builtin("severe_disability", "severe disability", "重残")
Tag.BEREAVED_SINGLE_CHILD_FAMILY = Tag.builtin(
    "bereaved_single_child_family", "bereaved single-child family", "计生特殊家庭"
)
Tag.MINIMUM_LIVING_ALLOWANCE = Tag.builtin(
    "minimum_living_allowance", "minimum living allowance", "低保"
)
Tag.EXTREME_POVERTY_SUPPORT = Tag.builtin(
    "extreme_poverty_support", "scattered-support extreme poverty", "特困供养"
)
Tag.PARTY_MEMBER = Tag.builtin("party_member", "party member", "党员")
Tag.VOLUNTEER = Tag.builtin("volunteer", "volunteer", "志愿者")
Tag.VETERAN = Tag.builtin("veteran", "veteran", "退役军人")
Tag.RETIRED_CADRE = Tag.builtin("retired_cadre", "retired cadre", "退休干部")
Tag.AUTISM_FAMILY = Tag.builtin("autism_family", "family of an autistic child", "自闭症儿童家庭")


class HealthFlag(Term):
    """A health condition the care rules look at; an open vocabulary."""

    DEMENTIA: ClassVar[HealthFlag]
    SEVERE_HYPERTENSION: ClassVar[HealthFlag]
    HEART_DISEASE: ClassVar[HealthFlag]
    DIABETES: ClassVar[HealthFlag]
    STROKE_HISTORY: ClassVar[HealthFlag]
    BEDRIDDEN: ClassVar[HealthFlag]
    LIMITED_MOBILITY: ClassVar[HealthFlag]
    CHRONIC_ILLNESS: ClassVar[HealthFlag]


HealthFlag.DEMENTIA = HealthFlag.builtin("dementia", "dementia", "失智")
HealthFlag.SEVERE_HYPERTENSION = HealthFlag.builtin(
    "severe_hypertension", "severe hypertension", "重度高血压"
)
HealthFlag.HEART_DISEASE = HealthFlag.builtin("heart_disease", "heart disease", "心脏病")
HealthFlag.DIABETES = HealthFlag.builtin("diabetes", "diabetes", "糖尿病")
HealthFlag.STROKE_HISTORY = HealthFlag.builtin("stroke_history", "history of stroke", "中风史")
HealthFlag.BEDRIDDEN = HealthFlag.builtin("bedridden", "bedridden", "卧床")
HealthFlag.LIMITED_MOBILITY = HealthFlag.builtin("limited_mobility", "limited mobility", "行动不便")
HealthFlag.CHRONIC_ILLNESS = HealthFlag.builtin("chronic_illness", "chronic illness", "慢性病")


class LivingArrangement(enum.Enum):
    """Who a resident lives with (居住状况)."""

    ALONE = "alone"
    WITH_SPOUSE_ONLY = "with_spouse_only"
    WITH_FAMILY = "with_family"
    WITH_GRANDCHILDREN_ONLY = "with_grandchildren_only"
    WITH_CAREGIVER = "with_caregiver"
    IN_INSTITUTION = "in_institution"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _ARRANGEMENT_ZH[self]


_ARRANGEMENT_ZH = {
    LivingArrangement.ALONE: "独居",
    LivingArrangement.WITH_SPOUSE_ONLY: "与配偶同住(空巢)",
    LivingArrangement.WITH_FAMILY: "与家人同住",
    LivingArrangement.WITH_GRANDCHILDREN_ONLY: "与孙辈同住(留守)",
    LivingArrangement.WITH_CAREGIVER: "与护理人员同住",
    LivingArrangement.IN_INSTITUTION: "入住机构",
}


class HouseholdStatus(enum.Enum):
    """Whether a household still lives at its address."""

    RESIDENT = "resident"
    RELOCATED = "relocated"
    VACANT = "vacant"
    MOVED_OUT = "moved_out"

    @property
    def label_zh(self) -> str:
        """Return the Chinese label."""
        return _STATUS_ZH[self]


_STATUS_ZH = {
    HouseholdStatus.RESIDENT: "在住",
    HouseholdStatus.RELOCATED: "拆迁外迁",
    HouseholdStatus.VACANT: "空置",
    HouseholdStatus.MOVED_OUT: "迁出",
}


def _national_id(value: NationalId | str | None) -> NationalId | None:
    if not isinstance(value, str):
        return value
    try:
        return NationalId.parse(value)
    except ValidationError as exc:
        raise exc.within("national_id") from None


def _masked_text(text: str, keep: int = 2) -> str:
    return text[:keep] + "*" * max(len(text) - keep, 0)


@attrs.frozen(repr=False)
class EmergencyContact:
    """Someone to call when a resident cannot be reached or is unwell.

    Args:
        name: The contact's name.
        phone: Their phone number (a string is parsed).
        relationship: How they relate to the resident, e.g. ``"son"`` or ``"儿子"``.
    """

    name: str = attrs.field(validator=v.text(50))
    phone: PhoneNumber = attrs.field(converter=as_phone, validator=v.instance_of(PhoneNumber))
    relationship: str = attrs.field(default="", validator=v.text(30, allow_empty=True))

    def __repr__(self) -> str:
        return (
            f"EmergencyContact(name={mask_name(self.name)!r}, phone={self.phone!r}, "
            f"relationship={self.relationship!r})"
        )


@attrs.frozen(repr=False)
class ForwardingContact:
    """Where a relocated household (拆迁外迁) can now be reached.

    Args:
        address: The new address, free text.
        phone: A phone number to reach the household.
        note: Anything else staff should know.
    """

    address: str = attrs.field(validator=v.text(200))
    phone: PhoneNumber | None = attrs.field(
        default=None, converter=as_optional_phone, validator=v.optional(v.instance_of(PhoneNumber))
    )
    note: str = attrs.field(default="", validator=v.text(500, allow_empty=True))

    def __repr__(self) -> str:
        return f"ForwardingContact(address={_masked_text(self.address, 3)!r}, phone={self.phone!r})"


@attrs.frozen(repr=False)
class Address:
    """A household's address within its cell.

    Args:
        line: The address as written, e.g. ``"铁一村3号楼"``.
        unit: The stairwell or unit (单元), if any.
        room: The room number, if any.
    """

    line: str = attrs.field(validator=v.text(200))
    unit: str | None = attrs.field(default=None, validator=v.optional(v.text(20)))
    room: str | None = attrs.field(default=None, validator=v.optional(v.text(20)))

    def __repr__(self) -> str:
        return f"Address({_masked_text(self.line, 3)!r})"

    def __str__(self) -> str:
        parts = [self.line]
        if self.unit:
            parts.append(f"{self.unit}单元")
        if self.room:
            parts.append(f"{self.room}室")
        return " ".join(parts)


def age_on(birth: pendulum.Date, day: pendulum.Date) -> int:
    """Return the age in whole years on ``day`` of someone born on ``birth``.

    Someone born on 29 February turns a year older on 1 March in common years.
    """
    before_birthday = (day.month, day.day) < (birth.month, birth.day)
    return day.year - birth.year - int(before_birthday)


def _tags(value: Iterable[Tag]) -> frozenset[Tag]:
    return v.to_frozenset(value)


def _health_flags(value: Iterable[HealthFlag]) -> frozenset[HealthFlag]:
    return v.to_frozenset(value)


def _contacts(value: Iterable[EmergencyContact]) -> tuple[EmergencyContact, ...]:
    return v.to_tuple(value)


def _default_birth(self: Resident) -> pendulum.Date | None:
    nid = self.national_id
    return nid.birth_date if type(nid) is NationalId else None


def _default_sex(self: Resident) -> Sex | None:
    nid = self.national_id
    return nid.sex if type(nid) is NationalId else None


@attrs.frozen(repr=False)
class Resident:
    """A person in the ledger.

    When a national ID is given, the birth date and sex default to those it encodes, and a
    different birth date or sex is an error.

    Args:
        id: The resident's key, unique across the ledger.
        name: The name; masked in ``repr``.
        national_id: The resident ID number, if known (a string is parsed).
        birth_date: The birth date; derived from ``national_id`` when omitted.
        sex: The sex; derived from ``national_id`` when omitted.
        phone: A phone number (a string is parsed).
        tags: Key-population tags.
        living_arrangement: Who the resident lives with.
        health_flags: Health conditions the care rules look at.
        emergency_contacts: People to call, first one first.
        relationship: Relationship to the head of household (``"户主"``, ``"配偶"``, ...).

    Raises:
        ValidationError: On a malformed field, or a birth date or sex that contradicts the ID.
    """

    id: str = attrs.field(validator=v.identifier)
    name: str = attrs.field(validator=v.text(50))
    national_id: NationalId | None = attrs.field(
        default=None, converter=_national_id, validator=v.optional(v.instance_of(NationalId))
    )
    birth_date: pendulum.Date | None = attrs.field(
        default=attrs.Factory(_default_birth, takes_self=True),
        validator=v.optional(v.plain_date),
    )
    sex: Sex | None = attrs.field(
        default=attrs.Factory(_default_sex, takes_self=True),
        validator=v.optional(v.instance_of(Sex)),
    )
    phone: PhoneNumber | None = attrs.field(
        default=None, converter=as_optional_phone, validator=v.optional(v.instance_of(PhoneNumber))
    )
    tags: frozenset[Tag] = attrs.field(
        default=frozenset(), converter=_tags, validator=v.collection_of(Tag)
    )
    living_arrangement: LivingArrangement | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(LivingArrangement))
    )
    health_flags: frozenset[HealthFlag] = attrs.field(
        default=frozenset(), converter=_health_flags, validator=v.collection_of(HealthFlag)
    )
    emergency_contacts: tuple[EmergencyContact, ...] = attrs.field(
        default=(), converter=_contacts, validator=v.collection_of(EmergencyContact)
    )
    relationship: str = attrs.field(default="", validator=v.text(30, allow_empty=True))

    def __attrs_post_init__(self) -> None:
        if self.birth_date is not None and self.birth_date.year < 1880:
            raise ValidationError("birth_date", "before 1880")
        if self.birth_date is not None and self.birth_date > LATEST:
            raise ValidationError("birth_date", f"after {LATEST}, the end of the supported range")
        # A masked number hides what it encodes: the resident's own fields keep it.
        if self.national_id is None or isinstance(self.national_id, MaskedNationalId):
            return
        if self.birth_date != self.national_id.birth_date:
            raise ValidationError("birth_date", "does not match the birth date in national_id")
        if self.sex is not self.national_id.sex:
            raise ValidationError("sex", "does not match the sex encoded in national_id")

    def age_on(self, day: pendulum.Date) -> int | None:
        """Return the resident's age in whole years on ``day``, ``None`` if unknown."""
        return None if self.birth_date is None else age_on(self.birth_date, day)

    def has_tag(self, tag: Tag) -> bool:
        """Return whether the resident carries ``tag``."""
        return tag in self.tags

    def __repr__(self) -> str:
        return (
            f"Resident(id={self.id!r}, name={mask_name(self.name)!r}, "
            f"national_id={self.national_id!r}, phone={self.phone!r}, "
            f"tags={sorted(t.code for t in self.tags)!r})"
        )


def _members(value: Iterable[Resident]) -> tuple[Resident, ...]:
    return v.to_tuple(value)


@attrs.frozen(repr=False)
class Household:
    """A household (户): the aggregate the ledger stores, with its residents.

    Args:
        id: The household's key.
        cell_code: The grid or building cell it lives in.
        address: Its address.
        status: Whether it still lives there.
        members: Its residents.
        forwarding: Where a relocated household can be reached; required when relocated.
        version: The stored version, managed by repositories (0: never stored).

    Raises:
        ValidationError: On duplicate resident ids, a relocated household without forwarding
            contact, or a vacant household with members.
    """

    id: str = attrs.field(validator=v.identifier)
    cell_code: str = attrs.field(validator=v.text(64))
    address: Address = attrs.field(validator=v.instance_of(Address))
    status: HouseholdStatus = attrs.field(
        default=HouseholdStatus.RESIDENT, validator=v.instance_of(HouseholdStatus)
    )
    members: tuple[Resident, ...] = attrs.field(
        default=(), converter=_members, validator=v.collection_of(Resident)
    )
    forwarding: ForwardingContact | None = attrs.field(
        default=None, validator=v.optional(v.instance_of(ForwardingContact))
    )
    version: int = attrs.field(default=0, validator=v.non_negative_int)

    def __attrs_post_init__(self) -> None:
        seen: set[str] = set()
        for i, member in enumerate(self.members):
            if member.id in seen:
                raise ValidationError(f"members[{i}].id", "duplicate resident id in household")
            seen.add(member.id)
        if self.status is HouseholdStatus.RELOCATED and self.forwarding is None:
            raise ValidationError("forwarding", "a relocated household needs a forwarding contact")
        if self.status is HouseholdStatus.VACANT and self.members:
            raise ValidationError("members", "a vacant household has no members")

    def member(self, resident_id: str) -> Resident:
        """Return the member with ``resident_id``.

        Raises:
            NotFoundError: If no member has that id.
        """
        for m in self.members:
            if m.id == resident_id:
                return m
        raise NotFoundError("resident", resident_id)

    def with_member(self, resident: Resident) -> Household:
        """Return a copy with ``resident`` added, or replacing the member with the same id."""
        others = tuple(m for m in self.members if m.id != resident.id)
        if len(others) == len(self.members):
            return attrs.evolve(self, members=(*self.members, resident))
        return attrs.evolve(
            self, members=tuple(resident if m.id == resident.id else m for m in self.members)
        )

    def without_member(self, resident_id: str) -> Household:
        """Return a copy without the member ``resident_id``.

        Raises:
            NotFoundError: If no member has that id.
        """
        self.member(resident_id)
        return attrs.evolve(self, members=tuple(m for m in self.members if m.id != resident_id))

    def relocate(self, forwarding: ForwardingContact) -> Household:
        """Return a copy marked relocated (拆迁外迁), reachable through ``forwarding``."""
        return attrs.evolve(self, status=HouseholdStatus.RELOCATED, forwarding=forwarding)

    def __repr__(self) -> str:
        return (
            f"Household(id={self.id!r}, cell_code={self.cell_code!r}, address={self.address!r}, "
            f"status={self.status.value!r}, members={len(self.members)}, version={self.version})"
        )
